"""Forms of the recurring work and risks pages. They check shape only and offer
the organization's own clients, members and request types; the services check
the rules, and their errors are put back on the form by
:func:`msops.forms.add_service_errors`."""

from django import forms

from clients.models import Client
from clients.selectors import client_list
from msops.forms import MemberChoiceField
from msops.tenancy.models import Organization
from msops.tenancy.selectors import membership_list
from tickets.selectors import (
    ticket_assignee_choices,
    ticket_client_choices,
    ticket_request_type_choices,
)

from .models import RecurringTask, Risk

DATE_INPUT = forms.DateInput(attrs={"type": "date"})


class ClientChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Client) -> str:
        return obj.name


class WorkFilterForm(forms.Form):
    """The list page's filters. An unknown or foreign id is shown and ignored."""

    client = ClientChoiceField(queryset=None, required=False, empty_label="Any client")
    owner = MemberChoiceField(queryset=None, required=False, empty_label="Anyone")

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["client"].queryset = client_list(organization=organization)
        self.fields["owner"].queryset = membership_list(organization=organization)

    def filters(self) -> dict:
        """The valid filters (after ``is_valid()``), without the empty ones."""
        data = getattr(self, "cleaned_data", {})
        return {name: data[name] for name in ("client", "owner") if data.get(name)}


class RecurringTaskForm(forms.Form):
    """A new recurring task, or (``recurring_task`` given) a change to one:
    its client stays, and it can be paused or restarted."""

    client = ClientChoiceField(queryset=None)
    title = forms.CharField(max_length=200)
    cadence = forms.ChoiceField(choices=RecurringTask.Cadence.choices)
    owner = MemberChoiceField(
        queryset=None, help_text="The tickets of its occurrences are assigned to them."
    )
    request_type = forms.ModelChoiceField(
        queryset=None,
        label="Request type",
        help_text="Its tickets are billed by the scope rule in force for this request type.",
    )
    next_due = forms.DateField(label="Next due", widget=DATE_INPUT)
    known_exceptions = forms.CharField(
        required=False,
        label="Known exceptions",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What is different about this task, in plain words.",
    )
    active = forms.BooleanField(
        required=False, label="Active (its occurrences open tickets)", initial=True
    )

    def __init__(
        self,
        *args,
        organization: Organization,
        recurring_task: RecurringTask | None = None,
        **kwargs,
    ):
        if recurring_task is not None:
            kwargs.setdefault("initial", self.initial_for(recurring_task))
        super().__init__(*args, **kwargs)
        if recurring_task is None:
            self.fields["client"].queryset = ticket_client_choices(organization=organization)
            del self.fields["active"]
        else:
            del self.fields["client"]
        self.fields["owner"].queryset = ticket_assignee_choices(organization=organization)
        # A task may keep a request type no longer offered; the service
        # refuses moving to one.
        self.fields["request_type"].queryset = ticket_request_type_choices(
            organization=organization, include_inactive=recurring_task is not None
        )

    @staticmethod
    def initial_for(task: RecurringTask) -> dict:
        return {
            "title": task.title,
            "cadence": task.cadence,
            "owner": task.owner_id,
            "request_type": task.request_type_id,
            "next_due": task.next_due,
            "known_exceptions": task.known_exceptions,
            "active": task.active,
        }


class RiskForm(forms.Form):
    """A new risk, or (``risk`` given) a change to one: its client stays."""

    client = ClientChoiceField(queryset=None)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    severity = forms.ChoiceField(choices=Risk.Severity.choices, initial=Risk.Severity.MEDIUM)
    owner = MemberChoiceField(queryset=None)
    next_action = forms.CharField(
        required=False,
        label="Next action",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What happens next about it, and by whom. An open risk needs one.",
    )
    status = forms.ChoiceField(choices=Risk.Status.choices)

    def __init__(self, *args, organization: Organization, risk: Risk | None = None, **kwargs):
        if risk is not None:
            kwargs.setdefault("initial", self.initial_for(risk))
        super().__init__(*args, **kwargs)
        if risk is None:
            self.fields["client"].queryset = client_list(organization=organization)
            del self.fields["status"]  # a new risk is open
        else:
            del self.fields["client"]
        self.fields["owner"].queryset = membership_list(organization=organization)

    @staticmethod
    def initial_for(risk: Risk) -> dict:
        return {
            "description": risk.description,
            "severity": risk.severity,
            "owner": risk.owner_id,
            "next_action": risk.next_action,
            "status": risk.status,
        }


class ClientsChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Client) -> str:
        return obj.name


class HandoffStartForm(forms.Form):
    """Whose items, for which clients (or all of them), and why."""

    person = MemberChoiceField(
        queryset=None, label="Hand over the items of", help_text="Someone leaving an account."
    )
    all_clients = forms.BooleanField(
        required=False, label="All clients (and the items of no client)"
    )
    clients = ClientsChoiceField(
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Or only these clients.",
    )
    note = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        help_text="Why, and anything the receivers should know.",
    )

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = membership_list(organization=organization)
        self.fields["clients"].queryset = client_list(organization=organization)


class HandoffOwnerForm(forms.Form):
    """The new owner of one line, or of every line without one."""

    new_owner = MemberChoiceField(queryset=None, label="New owner")

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_owner"].queryset = membership_list(organization=organization).filter(
            user__is_active=True
        )
