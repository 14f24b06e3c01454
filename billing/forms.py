"""Forms of the billing pages. They parse input; the rules (reasons required,
estimates, who may do what) live in billing/services/, whose field errors
are shown on the same fields (msops.forms.add_service_errors)."""

from django import forms

from msops.limits import NOTE_MAX, TITLE_MAX, LimitedTextField
from tickets.forms import MinutesField
from tickets.models import Classification, Ticket
from tickets.selectors import ticket_client_choices, ticket_request_type_choices

from .models import ScopeCheck
from .services.decisions import BILL_AS_INVALID

__all__ = [
    "AfterTheFactForm",
    "ApproveForm",
    "AskClientForm",
    "ClientAnswerForm",
    "DecisionForm",
    "MoveToImplementationForm",
    "RejectForm",
    "TicketNoteForm",
]

TEXT_MAX = NOTE_MAX
# “Outside normal support” / “a change”: the note becomes the moment's detail.
MOMENT_NOTE_MAX = 300


class BillAsField(forms.ChoiceField):
    """How approved work is billed: the time spent, or the estimate once."""

    widget = forms.RadioSelect

    def __init__(self, **kwargs):
        kwargs.setdefault("label", "Billed as")
        super().__init__(
            required=False,
            choices=[
                (ScopeCheck.BillAs.ACTUAL, "The time spent, at the rate"),
                (ScopeCheck.BillAs.ESTIMATE, "The approved estimate, whatever the time spent"),
            ],
            error_messages={"invalid_choice": BILL_AS_INVALID},
            **kwargs,
        )


class DecisionForm(forms.Form):
    """The developer's prompt. The classification is the button pressed."""

    classification = forms.ChoiceField(
        choices=Classification.choices,
        error_messages={"required": "Choose included, billable, needs approval or unclear."},
    )
    reason = LimitedTextField(
        limit=NOTE_MAX,
        what="Reasons",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Needed when you go against the rule, choose unclear or need approval.",
    )
    estimate_minutes = MinutesField(
        required=False,
        label="Extra time estimate",
        help_text="Minutes (240) or hours:minutes (4:00).",
        widget=forms.TextInput(attrs={"placeholder": "4:00", "maxlength": 12}),
    )
    client_explanation = LimitedTextField(
        limit=NOTE_MAX,
        what="Explanations",
        required=False,
        label="Explanation to the client",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The change and its cost in plain words. Empty: we write one for you.",
    )
    bill_as = BillAsField(
        label="Propose billing as",
        initial=ScopeCheck.BillAs.ACTUAL,
        help_text="The account manager decides when approving. Nothing chosen: the time spent.",
    )
    write_off = forms.BooleanField(required=False, label="Write it off (not billed)")
    client_exception = forms.BooleanField(
        required=False, label="A client exception (goes to the decision log)"
    )
    version = forms.IntegerField(widget=forms.HiddenInput)


class TicketNoteForm(forms.Form):
    """“Outside normal support” / “client asked for a change”: an optional note."""

    note = LimitedTextField(limit=MOMENT_NOTE_MAX, what="Notes", required=False)


class MoveToImplementationForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)


class AfterTheFactForm(forms.Form):
    """Work already done (a direct message, a phone call) → a ticket, its time
    entry and its first decision in one step."""

    CLASSIFICATION_CHOICES = [
        ("", "Follow the rule"),
        (Classification.INCLUDED, Classification.INCLUDED.label),
        (Classification.BILLABLE, Classification.BILLABLE.label),
        (Classification.UNCLEAR, Classification.UNCLEAR.label),
    ]

    client = forms.ModelChoiceField(queryset=None)
    request_type = forms.ModelChoiceField(queryset=None)
    title = LimitedTextField(limit=TITLE_MAX, what="Titles", required=False, label="What was done")
    minutes = MinutesField(
        label="Time",
        help_text="Minutes (45) or hours:minutes (1:30).",
        widget=forms.TextInput(attrs={"placeholder": "0:30", "maxlength": 12}),
    )
    work_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Work date")
    source = forms.ChoiceField(
        choices=Ticket.Source.choices,
        initial=Ticket.Source.DIRECT_MESSAGE,
        label="How the request came in",
    )
    classification = forms.ChoiceField(
        choices=CLASSIFICATION_CHOICES, required=False, label="Billing"
    )
    reason = LimitedTextField(
        limit=NOTE_MAX,
        what="Reasons",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Needed when you go against the rule or choose unclear.",
    )
    notes = LimitedTextField(
        limit=NOTE_MAX, what="Notes", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["client"].queryset = ticket_client_choices(organization=organization)
        self.fields["request_type"].queryset = ticket_request_type_choices(
            organization=organization
        )


class _BillAsForm(forms.Form):
    """A form of an open scope check that says how its approved work is
    billed: it starts at the check's own choice (the developer's proposal, or
    the time spent)."""

    def __init__(self, *args, check: ScopeCheck | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if check is not None:
            self.fields["bill_as"].initial = check.bill_as

    def clean_bill_as(self) -> str | None:
        """Nothing chosen: keep the check's."""
        return self.cleaned_data["bill_as"] or None


class ApproveForm(_BillAsForm):
    """Approving, with how the work is billed. Its ids differ from the ask
    form's, which shares the row's prefix."""

    bill_as = BillAsField()

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "id_approve-%s")
        super().__init__(*args, **kwargs)


class RejectForm(forms.Form):
    note = LimitedTextField(
        limit=NOTE_MAX,
        what="Notes",
        required=False,
        label="Why not",
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class AskClientForm(_BillAsForm):
    client_email = forms.CharField(
        required=False,
        max_length=254,
        label="Client contact's email",
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    client_explanation = LimitedTextField(
        limit=NOTE_MAX,
        what="Explanations",
        required=False,
        label="What the client will read",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    bill_as = BillAsField(label="Billed as (the client approves this)")


class ClientAnswerForm(forms.Form):
    APPROVE = "approve"
    DECLINE = "decline"

    name = LimitedTextField(limit=200, what="Names", required=False, label="Your name")
    answer = forms.ChoiceField(
        choices=[(APPROVE, "Approve"), (DECLINE, "Decline")],
        error_messages={"required": "Approve or decline."},
    )


class ReclassifyForm(forms.Form):
    """Change the meaning earlier work already has: named entries, a reason."""

    entries = forms.TypedMultipleChoiceField(coerce=int, choices=())
    classification = forms.ChoiceField(
        choices=[
            (value, label)
            for value, label in Classification.choices
            if value != Classification.NEEDS_APPROVAL
        ]
    )
    reason = LimitedTextField(
        limit=NOTE_MAX, what="Reasons", widget=forms.Textarea(attrs={"rows": 2})
    )
    write_off = forms.BooleanField(required=False, label="Write off (not billed)")
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, entries=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["entries"].choices = [(entry.pk, str(entry.pk)) for entry in entries]
