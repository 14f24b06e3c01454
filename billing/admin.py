"""Django admin for billing/: staff see the rows of the organizations they
administer (TenantAdmin), read-only. Decisions, scope checks and the decision
log are append-only records made by the services; flags, review queues and
digests are written by the jobs. The one change offered is resolving flags,
through the same service as the pages."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError

from msops.tenancy.admin import TenantAdmin
from msops.tenancy.models import Membership
from msops.tenancy.scoping import activate_organization

from .models import (
    BillingDecision,
    DecisionLogEntry,
    DigestSent,
    EntryPortion,
    ExceptionFlag,
    ReviewItem,
    ReviewQueue,
    ScopeCheck,
)
from .services.review import flag_resolve


class ReadOnlyTenantAdmin(TenantAdmin):
    """Rows written by services and jobs: viewable, never edited here."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(BillingDecision)
class BillingDecisionAdmin(ReadOnlyTenantAdmin):
    list_display = ["ticket", "classification", "decided_by", "decided_at", "organization"]
    list_filter = ["classification", "overrides_rule", "written_off"]
    search_fields = ["reason", "ticket__title"]
    list_select_related = ["ticket", "decided_by__user", "decided_by__organization", "organization"]


@admin.register(EntryPortion)
class EntryPortionAdmin(ReadOnlyTenantAdmin):
    """Each entry's minutes by meaning: the decision and rule revision behind
    them. Written by the time services only (correct an entry on its ticket)."""

    list_display = ["entry", "minutes", "status", "decision", "scope_rule", "work_date"]
    list_filter = ["status", "waits_on"]
    list_select_related = ["entry__ticket", "decision__ticket", "scope_rule__request_type"]


@admin.register(ScopeCheck)
class ScopeCheckAdmin(ReadOnlyTenantAdmin):
    list_display = ["ticket", "status", "account_manager", "estimate_minutes", "created_at"]
    list_filter = ["status"]
    search_fields = ["reason", "ticket__title"]
    list_select_related = ["ticket", "account_manager__user", "account_manager__organization"]
    exclude = ["client_link_nonce"]


@admin.register(DecisionLogEntry)
class DecisionLogEntryAdmin(ReadOnlyTenantAdmin):
    list_display = ["summary", "kind", "client", "actor", "created_at"]
    list_filter = ["kind"]
    search_fields = ["summary", "reason"]
    list_select_related = ["client", "actor__user", "actor__organization"]


@admin.action(description="Resolve the selected flags (as your admin membership)")
def resolve_flags(modeladmin, request, queryset):
    # Runs inside TenantAdmin.changelist_view: rows of the staff member's
    # organizations only; each flag is resolved inside its own organization.
    resolved = skipped = 0
    flags = list(queryset.select_related("organization"))
    memberships = {
        m.organization_id: m
        for m in Membership.objects.filter(
            user=request.user, organization__in={f.organization_id for f in flags}
        )
    }
    for flag in flags:
        actor = memberships.get(flag.organization_id)
        if actor is None or flag.status != ExceptionFlag.Status.OPEN:
            skipped += 1
            continue
        try:
            with activate_organization(flag.organization):
                flag_resolve(flag=flag, actor=actor, note="Resolved in the admin.")
        except (ValidationError, PermissionDenied):
            skipped += 1
        else:
            resolved += 1
    modeladmin.message_user(
        request, f"{resolved} flags resolved, {skipped} skipped.", messages.INFO
    )


@admin.register(ExceptionFlag)
class ExceptionFlagAdmin(ReadOnlyTenantAdmin):
    list_display = ["kind", "subject_key", "period_key", "status", "owner", "created_at"]
    list_filter = ["kind", "status"]
    search_fields = ["subject_key", "detail"]
    list_select_related = ["owner__user", "owner__organization"]
    actions = [resolve_flags]


@admin.register(ReviewQueue)
class ReviewQueueAdmin(ReadOnlyTenantAdmin):
    list_display = ["week_start", "organization", "built_at"]
    list_select_related = ["organization"]


@admin.register(ReviewItem)
class ReviewItemAdmin(ReadOnlyTenantAdmin):
    list_display = ["reason", "kind", "status", "owner", "queue"]
    list_filter = ["kind", "status"]
    search_fields = ["reason", "subject_key"]
    list_select_related = ["owner__user", "owner__organization", "queue"]


@admin.register(DigestSent)
class DigestSentAdmin(ReadOnlyTenantAdmin):
    list_display = ["kind", "membership", "period_key", "sent_at"]
    list_filter = ["kind"]
    list_select_related = ["membership__user", "membership__organization"]
