"""Admin for tickets, time entries and billing moments, limited to the
organizations the staff member administers (TenantAdmin). Changes with rules
go through the services: numbers, sums, versions, snapshots and moments are
never typed in by hand."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from billing.services import (
    check_work_date,
    time_entry_correct,
    time_entry_log,
    time_entry_remove,
)
from msops.tenancy.admin import TenantAdmin
from msops.tenancy.scoping import activate_organization

from .models import BillingMoment, IdempotencyKey, Ticket, TicketPause, TimeEntry, Timer
from .services import (
    ticket_open,
    ticket_update,
    validate_ticket_opening,
    validate_time,
)
from .services._common import check_assignee


def _same_organization(cleaned: dict, organization, *fields: str) -> dict:
    errors = {}
    for field in fields:
        value = cleaned.get(field)
        if (
            organization is not None
            and value is not None
            and value.organization_id != organization.pk
        ):
            errors[field] = "Choose one of the selected organization's."
    return errors


class ServiceAdminMixin:
    """No bulk delete: deleting goes through the service one row at a time."""

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class TicketAdminForm(forms.ModelForm):
    # No Meta here: the admin builds the form class per request, inside the
    # admin's scope; building it at import would query outside any scope.

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is not None:
            organization = self.instance.organization
            errors = _same_organization(cleaned, organization, "assignee", "request_type")
            if not errors and "assignee" in self.changed_data:
                check_assignee(errors, cleaned.get("assignee"), organization.pk)
            if errors:
                raise ValidationError(errors)
            return cleaned
        organization = cleaned.get("organization")
        if organization is None or self.errors:
            return cleaned
        validate_ticket_opening(
            organization=organization,
            opened_by=None,
            client=cleaned.get("client"),
            request_type=cleaned.get("request_type"),
            title=cleaned.get("title", ""),
            priority=cleaned.get("priority"),
            source=cleaned.get("source"),
            assignee=cleaned.get("assignee"),
            opened_at=cleaned.get("opened_at"),
        )
        return cleaned


@admin.register(Ticket)
class TicketAdmin(ServiceAdminMixin, TenantAdmin):
    form = TicketAdminForm
    list_display = [
        "number",
        "title",
        "organization",
        "client",
        "status",
        "priority",
        "assignee",
        "logged_minutes",
        "opened_at",
    ]
    list_filter = ["status", "priority", "source"]
    list_select_related = ["organization", "client", "assignee__user"]
    search_fields = ["title", "number"]
    ordering = ["organization", "-number"]
    # Set by the services: opening, the time-entry service and billing decisions.
    always_read_only = [
        "number",
        "contract",
        "opened_by",
        "first_response_due",
        "resolution_due",
        "first_responded_at",
        "resolved_at",
        "classification",
        "logged_minutes",
        "reopen_count",
        "last_reopened_at",
        "version",
        "updated_at",
    ]
    fixed_after_opening = ["organization", "client", "source", "opened_at"]
    # A corrected request type asks the ticket's billing question again (the service).
    editable_after_opening = [
        "status",
        "priority",
        "phase",
        "assignee",
        "title",
        "description",
        "resolution_note",
        "request_type",
    ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return [*self.always_read_only, "status", "phase", "resolution_note"]
        return [*self.always_read_only, *self.fixed_after_opening]

    def save_model(self, request, obj, form, change):
        with activate_organization(obj.organization):
            if change:
                changes = {
                    f: form.cleaned_data[f]
                    for f in self.editable_after_opening
                    if f in form.changed_data
                }
                saved = ticket_update(ticket=obj, actor=None, version=obj.version, **changes)
            else:
                saved = ticket_open(
                    organization=obj.organization,
                    opened_by=None,
                    client=obj.client,
                    request_type=obj.request_type,
                    title=obj.title,
                    description=obj.description,
                    priority=obj.priority,
                    source=obj.source,
                    assignee=obj.assignee,
                    opened_at=obj.opened_at,
                )
        obj.pk = saved.pk
        obj.refresh_from_db()

    def has_delete_permission(self, request, obj=None):
        # A ticket is billing evidence; managers delete mistaken ones (no time
        # logged) through the API's service. Close it here instead.
        return False


class TimeEntryAdminForm(forms.ModelForm):
    # No Meta here: the admin builds the form class per request, inside the
    # admin's scope; building it at import would query outside any scope.

    def clean(self):
        cleaned = super().clean()
        ticket = cleaned.get("ticket") or getattr(self.instance, "ticket", None)
        if ticket is None or self.errors:
            return cleaned
        errors = _same_organization(cleaned, ticket.organization, "person")
        if self.instance.pk is None and cleaned.get("organization") != ticket.organization:
            errors["ticket"] = "Choose a ticket of the selected organization."
        if errors:
            raise ValidationError(errors)
        validate_time(
            organization=ticket.organization,
            work_date=cleaned.get("work_date"),
            minutes=cleaned.get("minutes"),
        )
        moved = self.instance.pk is None or cleaned.get("work_date") != self.initial.get(
            "work_date"
        )
        if moved:  # the work-date rule of the time service, before it is asked to save
            check_work_date(
                ticket=ticket,
                work_date=cleaned["work_date"],
                date_reason=cleaned.get("date_reason") or self.instance.date_reason,
            )
        return cleaned


@admin.register(TimeEntry)
class TimeEntryAdmin(ServiceAdminMixin, TenantAdmin):
    form = TimeEntryAdminForm
    list_display = [
        "work_date",
        "ticket",
        "person",
        "minutes",
        "billing_status",
        "locked",
        "organization",
    ]
    list_filter = ["billing_status", "locked"]
    list_select_related = ["organization", "ticket", "person__user"]
    search_fields = ["notes", "ticket__title"]
    date_hierarchy = "work_date"
    always_read_only = ["entered_at", "billing_status", "rate", "cost_rate", "locked"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.always_read_only
        return [*self.always_read_only, "organization", "ticket", "person"]

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.locked:
            return False  # its billing period is closed: view only
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.locked:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        ticket = obj.ticket
        with activate_organization(ticket.organization):
            if change:
                saved = time_entry_correct(
                    entry=obj,
                    work_date=form.cleaned_data["work_date"],
                    minutes=form.cleaned_data["minutes"],
                    notes=form.cleaned_data["notes"],
                    date_reason=form.cleaned_data.get("date_reason") or None,
                )
            else:
                saved = time_entry_log(
                    ticket=ticket,
                    person=obj.person,
                    work_date=obj.work_date,
                    minutes=obj.minutes,
                    notes=obj.notes,
                    date_reason=obj.date_reason,
                ).entry
        obj.pk = saved.pk
        obj.refresh_from_db()

    def delete_model(self, request, obj):
        with activate_organization(obj.organization):
            time_entry_remove(entry=obj)


@admin.register(BillingMoment)
class BillingMomentAdmin(TenantAdmin):
    """View only: moments are raised by the services and decided by billing
    decisions."""

    list_display = ["created_at", "kind", "status", "ticket", "organization"]
    list_filter = ["kind", "status"]
    list_select_related = ["organization", "ticket"]
    search_fields = ["detail", "ticket__title"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(TenantAdmin):
    """Read-only: keys are written by logging time with an Idempotency-Key."""

    list_display = ["key", "person", "time_entry", "created_at", "organization"]
    list_select_related = ["organization", "person__user", "time_entry"]
    search_fields = ["key"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Timer)
class TimerAdmin(TenantAdmin):
    """Read-only: timers are started, stopped and discarded by their person
    (billing.services.timers)."""

    list_display = ["person", "ticket", "started_at", "note", "organization"]
    list_select_related = ["organization", "person__user", "ticket"]
    search_fields = ["note", "ticket__title"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TicketPause)
class TicketPauseAdmin(TenantAdmin):
    """Read-only: a pause opens when a ticket moves to “waiting” and ends when
    it leaves it (tickets.services.sla), which moves the ticket's SLA dues."""

    list_display = ["ticket", "started_at", "ended_at", "business_minutes", "organization"]
    list_select_related = ["organization", "ticket"]
    search_fields = ["ticket__title", "reason"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
