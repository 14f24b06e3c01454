"""Forms of the ticket pages. They parse input; the rules live in the services
(tickets/services/), whose field errors are shown on the same fields
(msops.forms.add_service_errors)."""

import re

from django import forms
from django.core.exceptions import ValidationError

from clients.models import Priority
from msops.forms import MemberChoiceField
from msops.limits import (
    DATE_REASON_MAX,
    DESCRIPTION_MAX,
    RESOLUTION_NOTE_MAX,
    TIME_ENTRY_NOTES_MAX,
    TITLE_MAX,
    LimitedTextField,
)

from .models import Ticket
from .selectors import (
    OPEN,
    ticket_assignee_choices,
    ticket_client_choices,
    ticket_request_type_choices,
)

_HOURS_MINUTES = re.compile(r"^(?P<h>\d{1,3}):(?P<m>\d{1,2})$")
_UNITS = re.compile(r"^(?:(?P<h>\d{1,3})\s*h)?\s*(?:(?P<m>\d{1,5})\s*m(?:in)?)?$")


def parse_minutes(value: str) -> int:
    """ "45" → 45, "1:30" → 90, "1h 30m" → 90, "-5" → -5 (the service refuses it)."""
    text = (value or "").strip().lower()
    if re.fullmatch(r"[-+]?\d{1,6}", text):
        return int(text)
    match = _HOURS_MINUTES.match(text)
    if match and int(match["m"]) < 60:
        return int(match["h"]) * 60 + int(match["m"])
    match = _UNITS.match(text)
    if text and match and (match["h"] or match["m"]):
        return int(match["h"] or 0) * 60 + int(match["m"] or 0)
    raise ValidationError("Enter minutes (45) or hours:minutes (1:30).", code="invalid")


class MinutesField(forms.Field):
    """Whole minutes, typed as 45, 1:30 or 1h 30m. The range (1..1440) is the
    service's rule, so its message is the one shown."""

    widget = forms.TextInput

    def to_python(self, value):
        value = str(value).strip() if value is not None else ""
        if value in self.empty_values:
            return None
        return parse_minutes(value)


class TicketFilterForm(forms.Form):
    """The list page's filters. Invalid values are shown and ignored."""

    STATUS_CHOICES = [("", "Any status"), (OPEN, "Open"), *Ticket.Status.choices]
    PRIORITY_CHOICES = [("", "Any priority"), *Priority.choices]
    # ``moments=open``: the tickets waiting for a billing decision (the home links here).
    MOMENT_CHOICES = [("", "Any"), (OPEN, "Waiting for a decision")]

    q = forms.CharField(required=False, max_length=100, label="Search title or number")
    client = forms.ModelChoiceField(queryset=None, required=False, empty_label="Any client")
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False)
    assignee = MemberChoiceField(queryset=None, required=False, empty_label="Anyone")
    request_type = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="Any request type"
    )
    priority = forms.ChoiceField(choices=PRIORITY_CHOICES, required=False)
    moments = forms.ChoiceField(choices=MOMENT_CHOICES, required=False, label="Billing decision")
    mine = forms.BooleanField(required=False, label="Assigned to me")
    mine_or_opened = forms.BooleanField(
        required=False, label="Mine, or opened by me and unassigned"
    )
    my_clients = forms.BooleanField(required=False, label="My clients")
    unassigned = forms.BooleanField(required=False, label="Unassigned")
    sort = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["client"].queryset = ticket_client_choices(organization=organization)
        self.fields["assignee"].queryset = ticket_assignee_choices(organization=organization)
        # Every type of the organization: a ticket may keep a type no longer
        # offered; the service refuses moving to one.
        self.fields["request_type"].queryset = ticket_request_type_choices(
            organization=organization, include_inactive=True
        )

    def filters(self) -> dict:
        """The valid filters, ready for ``ticket_list`` (after ``is_valid()``)."""
        data = self.cleaned_data
        return {
            "client": data.get("client"),
            "status": data.get("status") or None,
            "assignee": data.get("assignee"),
            "request_type": data.get("request_type"),
            "priority": data.get("priority") or None,
            "with_open_moments": data.get("moments") == OPEN,
            "unassigned": bool(data.get("unassigned")),
            "search": data.get("q") or "",
        }


class TicketForm(forms.Form):
    client = forms.ModelChoiceField(queryset=None)
    request_type = forms.ModelChoiceField(queryset=None)
    title = LimitedTextField(limit=TITLE_MAX, what="Titles")
    description = LimitedTextField(
        limit=DESCRIPTION_MAX,
        what="Descriptions",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.NORMAL)
    source = forms.ChoiceField(choices=Ticket.Source.choices, initial=Ticket.Source.PORTAL)
    assignee = MemberChoiceField(queryset=None, required=False, empty_label="Nobody yet")

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["client"].queryset = ticket_client_choices(organization=organization)
        # Every type of the organization: a ticket may keep a type no longer
        # offered; the service refuses moving to one.
        self.fields["request_type"].queryset = ticket_request_type_choices(
            organization=organization, include_inactive=True
        )
        self.fields["assignee"].queryset = ticket_assignee_choices(organization=organization)


class TicketUpdateForm(forms.Form):
    status = forms.ChoiceField(choices=Ticket.Status.choices)
    priority = forms.ChoiceField(choices=Priority.choices)
    phase = forms.ChoiceField(choices=Ticket.Phase.choices)
    assignee = MemberChoiceField(queryset=None, required=False, empty_label="Nobody")
    request_type = forms.ModelChoiceField(
        queryset=None,
        required=False,
        label="Request type",
        help_text="Correcting it asks the billing question again under its rule.",
    )
    resolution_note = LimitedTextField(
        limit=RESOLUTION_NOTE_MAX,
        what="Resolution notes",
        required=False,
        label="Resolution note — what was done, for the next person",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, organization, keep_assignee: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = ticket_assignee_choices(
            organization=organization, keep=keep_assignee
        )
        # Every type of the organization: a ticket may keep a type no longer
        # offered; the service refuses moving to one.
        self.fields["request_type"].queryset = ticket_request_type_choices(
            organization=organization, include_inactive=True
        )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("request_type") is None:
            cleaned.pop("request_type", None)  # not sent: unchanged
        if "resolution_note" not in self.data:
            cleaned.pop("resolution_note", None)  # not sent: kept, not erased
        return cleaned

    @classmethod
    def for_ticket(cls, ticket: Ticket, *, organization) -> "TicketUpdateForm":
        return cls(
            organization=organization,
            keep_assignee=ticket.assignee_id,
            initial={
                "status": ticket.status,
                "priority": ticket.priority,
                "phase": ticket.phase,
                "assignee": ticket.assignee_id,
                "request_type": ticket.request_type_id,
                "resolution_note": ticket.resolution_note,
                "version": ticket.version,
            },
        )


class LogTimeForm(forms.Form):
    work_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Date")
    minutes = MinutesField(
        label="Time",
        help_text="Minutes (45) or hours:minutes (1:30).",
        widget=forms.TextInput(attrs={"placeholder": "0:30", "maxlength": 12}),
    )
    notes = LimitedTextField(
        limit=TIME_ENTRY_NOTES_MAX,
        what="Notes",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    date_reason = LimitedTextField(
        limit=DATE_REASON_MAX,
        what="Reasons",
        required=False,
        label="Reason (logged after the fact / outside the contract)",
        help_text="Needed when the date is before the ticket was opened or no contract covers it.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    # A fresh key per rendered form: a double submit logs the time once.
    idempotency_key = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)
