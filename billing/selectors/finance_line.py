"""What stands behind one invoice line ("explain this line"): the rows its
``sources`` name — time entries, decisions, scope checks, contract terms and
scope rule revisions, unit counts, bands, top-ups, adjustments — each loaded
from the line's own organization (an id of another finds nothing)."""

from collections import defaultdict
from dataclasses import dataclass

from clients.models import (
    BlockTopUp,
    ContractRevision,
    PricingTier,
    ScopeRule,
    UnitCount,
)
from msops.tenancy.models import Organization
from tickets.models import TimeEntry

from ..exports import portion_minutes
from ..models import Adjustment, BillingDecision, EntryPortion, InvoiceLine, ScopeCheck


def line_get(*, organization: Organization, pk: int) -> InvoiceLine | None:
    return (
        InvoiceLine.objects.filter(organization=organization, pk=pk)
        .select_related("period__client__account_manager", "contract", "ticket", "draft")
        .first()
    )


@dataclass
class LineSources:
    """What stands behind a line, loaded from its ``sources`` ids."""

    entries: list[TimeEntry]
    minutes_on_line: dict[int, int]  # entry id → its minutes on this line
    decisions: list[BillingDecision]
    scope_checks: list[ScopeCheck]
    revisions: list[ContractRevision]
    rules: list[ScopeRule]
    unit_counts: list[UnitCount]
    tiers: list[PricingTier]
    top_ups: list[BlockTopUp]
    adjustments: list[Adjustment]


def _ids(sources: dict, key: str) -> list[int]:
    values = sources.get(key) or []
    return [v for v in values if isinstance(v, int)]


def line_sources(*, line: InvoiceLine) -> LineSources:
    """The rows named by the line's ``sources``, each from the line's own
    organization (an id of another organization finds nothing)."""
    org = line.organization_id
    src = line.sources or {}
    portions = EntryPortion.objects.filter(organization=org, pk__in=_ids(src, "portions"))
    # A portion only part of which is on the line (included up to the
    # allowance, the rest overage) counts with its minutes here.
    split = portion_minutes(line)
    minutes_on_line: dict[int, int] = defaultdict(int)
    for pk, entry_id, minutes in portions.values_list("pk", "entry_id", "minutes"):
        minutes_on_line[entry_id] += split.get(str(pk), minutes)
    return LineSources(
        entries=list(
            TimeEntry.objects.filter(organization=org, pk__in=_ids(src, "entries"))
            .select_related("person__user", "ticket")
            .order_by("work_date", "entered_at", "pk")
        ),
        minutes_on_line=dict(minutes_on_line),
        decisions=list(
            BillingDecision.objects.filter(organization=org, pk__in=_ids(src, "decisions"))
            .select_related("decided_by__user", "ticket")
            .order_by("decided_at", "pk")
        ),
        scope_checks=list(
            ScopeCheck.objects.filter(organization=org, pk__in=_ids(src, "scope_checks"))
            .select_related("ticket", "requested_by__user", "decided_by__user")
            .order_by("created_at", "pk")
        ),
        revisions=list(
            ContractRevision.objects.filter(organization=org, pk__in=_ids(src, "revisions"))
            .select_related("contract")
            .order_by("contract_id", "effective_from")
        ),
        rules=list(
            ScopeRule.objects.filter(organization=org, pk__in=_ids(src, "rules"))
            .select_related("request_type", "contract")
            .order_by("request_type__name", "effective_from")
        ),
        unit_counts=list(
            UnitCount.objects.filter(organization=org, pk__in=_ids(src, "unit_counts"))
            .select_related("contract")
            .order_by("month")
        ),
        tiers=list(
            PricingTier.objects.filter(organization=org, pk__in=_ids(src, "tiers")).order_by(
                "min_units"
            )
        ),
        top_ups=list(
            BlockTopUp.objects.filter(organization=org, pk__in=_ids(src, "top_ups")).order_by(
                "added_on", "pk"
            )
        ),
        adjustments=list(
            Adjustment.objects.filter(organization=org, pk__in=_ids(src, "adjustments"))
            .select_related("created_by__user", "corrects")
            .order_by("created_at", "pk")
        ),
    )
