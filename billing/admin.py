"""Django admin for billing/: staff see the rows of the organizations they
administer (TenantAdmin), read-only. Decisions, scope checks and the decision
log are append-only records made by the services; flags, review queues and
digests are written by the jobs. Finance's periods, drafts, lines,
adjustments, draft runs and period events are read-only too. The changes
offered go through the same services as the pages: resolving flags, and
starting the review of or locking billing periods."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError

from msops.tenancy.admin import TenantAdmin
from msops.tenancy.models import Membership
from msops.tenancy.scoping import activate_organization

from .models import (
    Adjustment,
    BillingDecision,
    BillingPeriod,
    ClientViewEvent,
    ClientViewLink,
    DecisionLogEntry,
    DigestSent,
    DraftRun,
    EntryPortion,
    ExceptionFlag,
    InvoiceDraft,
    InvoiceLine,
    PeriodEvent,
    ReviewItem,
    ReviewQueue,
    ScopeCheck,
)
from .services.periods import period_lock, period_start_review
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
    """Read-only: approving, rejecting and asking the client — and how the
    approved work is billed (``bill_as``, set on approval) — go through the
    scope-check queue and the API."""

    list_display = [
        "ticket",
        "status",
        "account_manager",
        "estimate_minutes",
        "bill_as",
        "created_at",
    ]
    list_filter = ["status", "bill_as"]
    search_fields = ["reason", "ticket__title"]
    list_select_related = ["ticket", "account_manager__user", "account_manager__organization"]
    exclude = ["client_link_nonce"]
    readonly_fields = ["bill_as"]


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


# --- finance -------------------------------------------------------------------------------
def _period_action(modeladmin, request, queryset, service, done: str) -> None:
    """Run ``service`` on each selected period as the staff member's own
    membership of its organization, inside that organization."""
    changed, refused = 0, []
    periods = list(queryset.select_related("organization", "client"))
    memberships = {
        m.organization_id: m
        for m in Membership.objects.filter(
            user=request.user, organization__in={p.organization_id for p in periods}
        )
    }
    for period in periods:
        actor = memberships.get(period.organization_id)
        if actor is None:
            refused.append(f"{period}: not a member of its organization")
            continue
        try:
            with activate_organization(period.organization):
                service(period=period, actor=actor)
        except ValidationError as exc:
            refused.append(f"{period}: {' '.join(exc.messages)}")
        except PermissionDenied:
            refused.append(f"{period}: your role may not do this")
        else:
            changed += 1
    modeladmin.message_user(
        request, f"{changed} period{'' if changed == 1 else 's'} {done}.", messages.INFO
    )
    for reason in refused:
        modeladmin.message_user(request, reason, messages.WARNING)


@admin.action(description="Start the review of the selected periods")
def start_review(modeladmin, request, queryset):
    _period_action(modeladmin, request, queryset, period_start_review, "in review")


@admin.action(description="Lock the selected periods (refused while exceptions block them)")
def lock(modeladmin, request, queryset):
    _period_action(modeladmin, request, queryset, period_lock, "locked")


class PeriodEventInline(admin.TabularInline):
    model = PeriodEvent
    fields = ["action", "actor", "at", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(BillingPeriod)
class BillingPeriodAdmin(ReadOnlyTenantAdmin):
    """A client's month: its status moves only through the services (the
    actions here, the finance pages, the API); unlocking needs an admin's
    reason and is done on the period's page."""

    list_display = ["client", "month", "status", "locked_by", "locked_at", "exported_at"]
    list_filter = ["status", "month"]
    search_fields = ["client__name"]
    list_select_related = ["client", "locked_by__user", "locked_by__organization"]
    inlines = [PeriodEventInline]
    actions = [start_review, lock]


@admin.register(PeriodEvent)
class PeriodEventAdmin(ReadOnlyTenantAdmin):
    list_display = ["period", "action", "actor", "at"]
    list_filter = ["action"]
    search_fields = ["period__client__name", "note"]
    list_select_related = ["period__client", "actor__user", "actor__organization"]


@admin.register(InvoiceDraft)
class InvoiceDraftAdmin(ReadOnlyTenantAdmin):
    list_display = ["period", "currency", "total", "cost", "computed_at"]
    list_filter = ["currency"]
    search_fields = ["period__client__name"]
    list_select_related = ["period__client"]


@admin.register(InvoiceLine)
class InvoiceLineAdmin(ReadOnlyTenantAdmin):
    list_display = ["description", "kind", "quantity", "unit_price", "amount", "currency", "period"]
    list_filter = ["kind"]
    search_fields = ["description", "period__client__name"]
    list_select_related = ["period__client"]


@admin.register(Adjustment)
class AdjustmentAdmin(ReadOnlyTenantAdmin):
    """Corrections to locked periods, made by finance through the service
    (with a reason, billed in the next open period)."""

    list_display = ["description", "client", "amount", "currency", "period", "corrects"]
    search_fields = ["description", "reason", "client__name"]
    list_select_related = ["client", "period__client", "corrects__client"]


@admin.register(DraftRun)
class DraftRunAdmin(ReadOnlyTenantAdmin):
    list_display = ["month", "status", "done", "total", "started_by", "created_at", "finished_at"]
    list_filter = ["status"]
    list_select_related = ["started_by__user", "started_by__organization"]


@admin.register(ClientViewLink)
class ClientViewLinkAdmin(ReadOnlyTenantAdmin):
    """Client view links are created and revoked on the client's page and
    the API (the service checks who may); here they are read-only, and the
    nonce that signs them is never shown."""

    list_display = ["client", "contact_name", "contact_email", "expires_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["client__name", "contact_name", "contact_email"]
    list_select_related = ["client"]
    exclude = ["nonce"]


@admin.register(ClientViewEvent)
class ClientViewEventAdmin(ReadOnlyTenantAdmin):
    """Every view of a client view link (append-only)."""

    list_display = ["link", "viewed_at", "ip", "user_agent"]
    search_fields = ["link__contact_name", "ip"]
    list_select_related = ["link"]
