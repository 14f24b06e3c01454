"""Reads of billing decisions, the decision log and the billing beside a
ticket (the developer's prompt)."""

from dataclasses import dataclass, field

from django.db.models import QuerySet

from clients.models import Client
from msops.tenancy.models import Membership, Organization
from tickets.models import BillingMoment, Classification, Ticket

from ..models import BillingDecision, DecisionLogEntry, ScopeCheck
from .scope_checks import scope_check_list


# --- decisions --------------------------------------------------------------------
def decision_list(
    *,
    organization: Organization,
    ticket: Ticket | int | None = None,
    classification: str | None = None,
    decided_by: Membership | int | None = None,
    overrides_rule: bool | None = None,
) -> QuerySet[BillingDecision]:
    """Decisions, newest first, with the ticket, the person and the rule."""
    queryset = (
        BillingDecision.objects.filter(organization=organization)
        .select_related(
            "ticket",
            "moment",
            "decided_by__user",
            "scope_rule__request_type",
            "contract_revision",
        )
        .order_by("-decided_at", "-pk")
    )
    if ticket:
        queryset = queryset.filter(ticket=ticket)
    if classification:
        queryset = queryset.filter(classification=classification)
    if decided_by:
        queryset = queryset.filter(decided_by=decided_by)
    if overrides_rule is not None:
        queryset = queryset.filter(overrides_rule=overrides_rule)
    return queryset


def decision_get(*, organization: Organization, pk: int) -> BillingDecision | None:
    return decision_list(organization=organization).filter(pk=pk).first()


# --- decision log -----------------------------------------------------------------
def decision_log_list(
    *,
    organization: Organization,
    client: Client | int | None = None,
    kind: str | None = None,
) -> QuerySet[DecisionLogEntry]:
    """Unusual scope calls and client exceptions, newest first."""
    queryset = (
        DecisionLogEntry.objects.filter(organization=organization)
        .select_related("client", "ticket", "decision", "actor__user")
        .order_by("-created_at", "-pk")
    )
    if client:
        queryset = queryset.filter(client=client)
    if kind:
        queryset = queryset.filter(kind=kind)
    return queryset


def decision_log_client(*, organization: Organization, pk: int) -> Client | None:
    return (
        Client.objects.filter(organization=organization, pk=pk)
        .select_related("account_manager__user")
        .first()
    )


# --- the ticket page --------------------------------------------------------------
@dataclass
class TicketBilling:
    """What the developer's prompt shows beside a ticket."""

    open_moments: list[BillingMoment]
    decisions: list[BillingDecision]
    scope_checks: list[ScopeCheck] = field(default_factory=list)

    @property
    def open_check(self) -> ScopeCheck | None:
        return next((check for check in self.scope_checks if check.is_open), None)

    @property
    def latest_check(self) -> ScopeCheck | None:
        return self.scope_checks[-1] if self.scope_checks else None


def ticket_billing(
    *,
    ticket: Ticket,
    moments: list[BillingMoment] | None = None,
    decision_limit: int = 20,
) -> TicketBilling:
    """The ticket's open moments (from ``moments`` when the page already read
    them), its latest decisions and its scope checks: at most two queries.

    A ticket without a classification has no decision yet, and scope checks
    are only opened by a needs-approval decision: then nothing is read."""
    organization = ticket.organization_id
    if moments is None:
        moments = list(
            BillingMoment.objects.filter(organization=organization, ticket=ticket)
            .select_related("raised_by__user")
            .order_by("-created_at", "-pk")
        )
    open_moments = sorted(
        (m for m in moments if m.status == BillingMoment.Status.OPEN),
        key=lambda m: (m.created_at, m.pk),
    )
    decisions: list[BillingDecision] = []
    if ticket.classification:
        decisions = list(decision_list(organization=organization, ticket=ticket)[:decision_limit])
    checks: list[ScopeCheck] = []
    if len(decisions) >= decision_limit or any(
        decision.classification == Classification.NEEDS_APPROVAL for decision in decisions
    ):
        checks = list(scope_check_list(organization=organization, ticket=ticket))
    return TicketBilling(open_moments=open_moments, decisions=decisions, scope_checks=checks)
