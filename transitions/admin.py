"""Admin for transitions/, limited to the organizations the staff member
administers (TenantAdmin). Recurring tasks and risks are written through
their services (the form asks the service first, in a savepoint that is
rolled back, so its refusal shows beside the field); occurrences are opened
only by the beat job and are read-only here."""

from collections.abc import Callable

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction

from msops.forms import add_service_errors
from msops.tenancy.admin import TenantAdmin
from msops.tenancy.models import Membership
from msops.tenancy.scoping import activate_organization

from .briefs import client_brief_mark_reviewed
from .models import ClientBrief, Handoff, HandoffItem, RecurringOccurrence, RecurringTask, Risk
from .review_pack import ReviewPack, review_pack_build
from .services import (
    RECURRING_TASK_FIELDS,
    RISK_FIELDS,
    recurring_task_create,
    recurring_task_deactivate,
    recurring_task_update,
    risk_close,
    risk_create,
    risk_update,
)


class _DryRun(Exception):
    """Rolls back a service call made only to hear its answer."""


def _service_call(form: forms.ModelForm) -> Callable[[], object]:
    """The service call that saves ``form``: create for a new row, else update."""
    data = {name: form.cleaned_data[name] for name in form.fields if name in form.cleaned_data}
    instance = form.instance
    if isinstance(instance, RecurringTask):
        if instance.pk is None:
            return lambda: recurring_task_create(**data)
        changes = {f: data[f] for f in RECURRING_TASK_FIELDS if f in form.changed_data}
        return lambda: recurring_task_update(recurring_task=instance, data=changes)
    if instance.pk is None:
        return lambda: risk_create(**data)
    changes = {f: data[f] for f in RISK_FIELDS if f in form.changed_data}
    return lambda: risk_update(risk=instance, data=changes)


class ServiceForm(forms.ModelForm):
    """Validates by asking the service, which then saves in ``save_model``."""

    def clean(self):
        cleaned = super().clean()
        organization = cleaned.get("organization") or getattr(self.instance, "organization", None)
        if self.errors or organization is None:
            return cleaned
        if self.instance.pk is None:
            cleaned["organization"] = organization
        try:
            with activate_organization(organization), transaction.atomic():
                _service_call(self)()
                raise _DryRun
        except _DryRun:
            pass
        except ValidationError as error:
            add_service_errors(self, error)
        return cleaned

    def _post_clean(self):
        # The service validates (in clean); the model's own full_clean would
        # only repeat it with other words.
        pass


class ServiceAdmin(TenantAdmin):
    form = ServiceForm

    def get_readonly_fields(self, request, obj=None):
        return ["organization", "client"] if obj is not None else []

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        if change:
            obj.refresh_from_db()  # the service changes the stored row with the form's data
            form.instance = obj
            organization = obj.organization
        else:
            organization = form.cleaned_data["organization"]
        with activate_organization(organization):
            saved = _service_call(form)()
        obj.pk = saved.pk
        obj.refresh_from_db()


@admin.register(RecurringTask)
class RecurringTaskAdmin(ServiceAdmin):
    list_display = ["title", "organization", "client", "cadence", "owner", "next_due", "active"]
    list_filter = ["cadence", "active"]
    list_select_related = ["organization", "client", "owner__user"]
    search_fields = ["title", "client__name"]
    fields = [
        "organization",
        "client",
        "title",
        "cadence",
        "owner",
        "request_type",
        "next_due",
        "known_exceptions",
        "active",
    ]
    actions = ["deactivate"]

    @admin.action(description="Deactivate: open no more tickets")
    def deactivate(self, request, queryset):
        for task in queryset:
            with activate_organization(task.organization):
                recurring_task_deactivate(recurring_task=task)


@admin.register(Risk)
class RiskAdmin(ServiceAdmin):
    list_display = ["client", "organization", "severity", "owner", "status", "updated_at"]
    list_filter = ["severity", "status"]
    list_select_related = ["organization", "client", "owner__user"]
    search_fields = ["description", "client__name"]
    fields = [
        "organization",
        "client",
        "description",
        "severity",
        "owner",
        "next_action",
        "status",
    ]
    actions = ["close"]

    @admin.action(description="Close")
    def close(self, request, queryset):
        for risk in queryset:
            with activate_organization(risk.organization):
                risk_close(risk=risk)


@admin.register(RecurringOccurrence)
class RecurringOccurrenceAdmin(TenantAdmin):
    """Opened by the beat job: viewable, never edited here."""

    list_display = ["recurring_task", "organization", "due_on", "ticket", "created_at"]
    list_select_related = ["organization", "recurring_task", "ticket"]
    readonly_fields = ["organization", "recurring_task", "due_on", "ticket", "created_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ClientBrief)
class ClientBriefAdmin(TenantAdmin):
    """Written on the brief page, where writing it records its reviewer:
    viewable here, with an action to mark briefs reviewed."""

    list_display = ["client", "organization", "reviewed_by", "reviewed_at", "updated_at"]
    list_select_related = ["organization", "client", "reviewed_by__user"]
    search_fields = ["client__name", "summary"]
    readonly_fields = ["organization", "client", "summary", "reviewed_by", "reviewed_at"]
    actions = ["mark_reviewed"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Mark reviewed (by your membership in its organization)")
    def mark_reviewed(self, request, queryset):
        for brief in queryset:
            with activate_organization(brief.organization):
                membership = Membership.objects.filter(
                    organization=brief.organization, user=request.user
                ).first()
                if membership is None:
                    self.message_user(
                        request, f"You are not a member of {brief.organization}: not marked."
                    )
                    continue
                client_brief_mark_reviewed(brief=brief, by=membership)


class HandoffItemInline(admin.TabularInline):
    model = HandoffItem
    extra = 0
    can_delete = False
    fields = ["kind", "label", "client", "new_owner", "acknowledged_at", "status", "transferred_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Handoff)
class HandoffAdmin(TenantAdmin):
    """Run on the handoff pages (every line through the handoff services and
    each item's own): viewable here with their lines, never edited."""

    list_display = ["person", "organization", "status", "all_clients", "started_at", "completed_at"]
    list_filter = ["status"]
    list_select_related = ["organization", "person__user"]
    search_fields = ["person__user__username", "note"]
    readonly_fields = [
        "organization",
        "person",
        "all_clients",
        "note",
        "status",
        "started_by",
        "started_at",
        "completed_by",
        "completed_at",
    ]
    inlines = [HandoffItemInline]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return request.method in ("GET", "HEAD") and super().has_view_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ReviewPack)
class ReviewPackAdmin(TenantAdmin):
    """Prepared by the daily job or on the review packs page: viewable here,
    and prepared again (replacing its figures) with the action."""

    list_display = ["client", "organization", "contract", "review_on", "generated_at"]
    list_select_related = ["organization", "client", "contract"]
    search_fields = ["client__name", "contract__name"]
    exclude = ["pdf"]
    readonly_fields = [
        "organization", "client", "contract", "period_start", "period_end", "review_on",
        "data", "generated_at", "generated_by",
    ]  # fmt: skip
    actions = ["prepare_again"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # the form stays read-only; the action has its own check

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_prepare_permission(self, request) -> bool:
        """Preparing again rewrites the pack: the model's change permission
        (``transitions.change_reviewpack``; superusers have every one)."""
        return super().has_change_permission(request)

    @admin.action(description="Prepare the selected review packs again", permissions=["prepare"])
    def prepare_again(self, request, queryset):
        for pack in queryset.select_related("contract__client", "organization"):
            with activate_organization(pack.organization):
                review_pack_build(
                    contract=pack.contract,
                    period_start=pack.period_start,
                    period_end=pack.period_end,
                )
