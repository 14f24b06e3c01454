"""Forms of the finance pages. They parse input; the rules (reasons needed,
who may act, a locked period refusing) live in billing/services/periods.py
and billing/services/finance_actions.py, whose field errors are shown on the
same fields (msops.forms.add_service_errors).

Each exception on a period page has its own forms, prefixed by the
exception's key so their ids stay unique on the page."""

from django import forms

from msops.forms import MemberChoiceField
from tickets.models import Classification

from ..exports import EXPORT_CHOICES

TEXT_MAX = 2000
CLASSIFY_CHOICES = [
    (Classification.INCLUDED, "Included (covered by the contract)"),
    (Classification.BILLABLE, "Billable"),
]


def blocker_prefix(action: str, key: str) -> str:
    """``classify-undecided-12``: one form per action and exception."""
    return f"{action}-{key.replace(':', '-')}"


class _BlockerForm(forms.Form):
    """An action on one exception. The exception's key is posted beside the
    form (``blocker``, unprefixed): it chooses the prefix, so the answer
    shows the form with its errors on the right exception."""


class _TicketBlockerForm(_BlockerForm):
    ticket = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class ClassifyForm(_TicketBlockerForm):
    classification = forms.ChoiceField(
        choices=CLASSIFY_CHOICES,
        label="Classify as",
        widget=forms.RadioSelect,
        error_messages={"required": "Choose included or billable."},
    )
    reason = forms.CharField(
        required=False,
        max_length=TEXT_MAX,
        label="Why",
        help_text="Needed when it goes against the rule.",
    )


class WriteOffForm(_TicketBlockerForm):
    reason = forms.CharField(
        max_length=TEXT_MAX,
        label="Why it is not billed",
        error_messages={"required": "A write-off needs a reason."},
    )


class SendBackForm(_BlockerForm):
    ticket = forms.IntegerField(widget=forms.HiddenInput, min_value=1, required=False)
    to = MemberChoiceField(
        queryset=None,
        label="Send to",
        empty_label=None,
        error_messages={
            "required": "Choose who should answer.",
            "invalid_choice": "Choose a member of this organization.",
        },
    )
    note = forms.CharField(
        max_length=TEXT_MAX,
        label="What you need from them",
        error_messages={"required": "Say what you need from them."},
    )

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to"].queryset = members


class ResolveFlagForm(_BlockerForm):
    flag = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    note = forms.CharField(
        max_length=TEXT_MAX,
        label="Why it is settled",
        error_messages={"required": "Say why the flag is settled."},
    )


class VersionForm(forms.Form):
    """Start review and lock: the version the page showed."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class UnlockForm(VersionForm):
    reason = forms.CharField(
        max_length=TEXT_MAX,
        label="Why it is unlocked",
        help_text="Recorded in the period's history.",
        error_messages={"required": "Say why the period is unlocked: it is recorded."},
    )


class ExportForm(forms.Form):
    format = forms.ChoiceField(
        choices=EXPORT_CHOICES, error_messages={"invalid_choice": "Choose an export format."}
    )


class AdjustmentForm(forms.Form):
    description = forms.CharField(max_length=200, label="What it is for")
    amount = forms.DecimalField(
        max_digits=12,
        decimal_places=2,
        label="Amount",
        help_text="Negative for a credit, e.g. -120.00.",
        error_messages={"invalid": "Give an amount such as 120.00 or -120.00."},
    )
    reason = forms.CharField(
        max_length=TEXT_MAX,
        label="Why",
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "An adjustment needs a reason."},
    )
    contract = forms.ModelChoiceField(
        queryset=None,
        required=False,
        label="Contract",
        empty_label="No contract (organization currency)",
        error_messages={"invalid_choice": "Choose one of this client's contracts."},
    )

    def __init__(self, *args, contracts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contract"].queryset = contracts
        self.fields["contract"].label_from_instance = lambda c: f"{c.name} ({c.currency})"
