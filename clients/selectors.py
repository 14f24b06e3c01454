"""Reads of clients/: querysets already filtered by organization and already
joined/prefetched for the page or endpoint that uses them, so the number of
queries does not grow with the number of rows.

Which rule or terms apply on a date is answered by :mod:`clients.rules`; the
plain-words line of a rule comes from :func:`clients.rules.rule_in_plain_words`.
"""

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from msops import timezones
from msops.tenancy.models import Membership, Organization
from msops.tenancy.roles import MANAGERS

from .models import (
    Client,
    Contract,
    ContractRevision,
    PricingTier,
    RequestType,
    ScopeRule,
    SLACalendar,
    SLATarget,
    UnitCount,
)
from .rules import covers_q, rule_in_plain_words


def organization_today(*, organization: Organization) -> datetime.date:
    """Today in the organization's own timezone (``msops.timezones``)."""
    return timezones.organization_today(organization)


# --- clients ----------------------------------------------------------------
def _contracts_in_force(organization: Organization, on: datetime.date) -> QuerySet[Contract]:
    """The client's covering contracts (``rules.covers_q``), for a subquery."""
    return Contract.objects.filter(organization=organization, client=OuterRef("pk")).filter(
        covers_q(on)
    )


def client_list(
    *,
    organization: Organization,
    status: str | None = None,
    search: str | None = None,
    account_manager: Membership | int | None = None,
) -> QuerySet[Client]:
    """Clients for the list page and endpoint: with the account manager,
    the number of contracts and the name of the contract in force today."""
    today = organization_today(organization=organization)
    in_force = _contracts_in_force(organization, today).order_by("-starts_on", "-pk")
    queryset = (
        Client.objects.filter(organization=organization)
        .select_related("account_manager__user")
        .annotate(
            contract_count=Count("contracts", distinct=True),
            contract_in_force_name=Subquery(in_force.values("name")[:1]),
        )
        .order_by("name", "pk")
    )
    if status:
        queryset = queryset.filter(status=status)
    if search:
        queryset = queryset.filter(name__icontains=search.strip())
    if account_manager:
        queryset = queryset.filter(account_manager=account_manager)
    return queryset


def client_get(*, organization: Organization, pk: int) -> Client | None:
    return client_list(organization=organization).filter(pk=pk).first()


def account_manager_choices(
    *, organization: Organization, keep: int | None = None
) -> QuerySet[Membership]:
    """Active members who may own a client, and ``keep`` (the current one)."""
    return (
        Membership.objects.filter(organization=organization, role__in=MANAGERS)
        .filter(Q(deactivated_at__isnull=True) | Q(pk=keep))
        .select_related("user")
        .order_by("user__username")
    )


# --- contracts --------------------------------------------------------------
def contract_list(
    *, organization: Organization, client: Client | int | None = None
) -> QuerySet[Contract]:
    """Contracts with their client and every revision (newest first)."""
    queryset = (
        Contract.objects.filter(organization=organization)
        .select_related("client")
        .prefetch_related(
            Prefetch(
                "revisions",
                queryset=ContractRevision.objects.filter(organization=organization).order_by(
                    "-effective_from"
                ),
            )
        )
        .order_by("client__name", "-starts_on", "pk")
    )
    if client is not None:
        queryset = queryset.filter(client=client)
    return queryset


def contract_revision_list(*, organization: Organization) -> QuerySet[ContractRevision]:
    return (
        ContractRevision.objects.filter(organization=organization)
        .select_related("contract")
        .order_by("contract_id", "-effective_from")
    )


# --- request types ----------------------------------------------------------
def request_type_list(
    *, organization: Organization, active: bool | None = None
) -> QuerySet[RequestType]:
    queryset = RequestType.objects.filter(organization=organization).order_by("name", "pk")
    if active is not None:
        queryset = queryset.filter(is_active=active)
    return queryset


# --- scope rules ------------------------------------------------------------
def scope_rule_in_plain_words(*, scope_rule: ScopeRule) -> str:
    """“Troubleshooting — included, about 60 min” for a contract's rule."""
    return rule_in_plain_words(
        name=scope_rule.request_type.name,
        treatment=scope_rule.treatment,
        expected_minutes=scope_rule.effective_expected_minutes,
        approval_threshold_minutes=scope_rule.approval_threshold_minutes,
        from_contract=True,
    )


def request_type_default_in_plain_words(*, request_type: RequestType) -> str:
    """What happens to work of a type the contract has no rule for."""
    return rule_in_plain_words(
        name=request_type.name,
        treatment=request_type.default_treatment,
        expected_minutes=request_type.expected_minutes,
        from_contract=False,
    )


def scope_rule_list(
    *, organization: Organization, contract: Contract | int | None = None
) -> QuerySet[ScopeRule]:
    """Every revision of every rule (each row is one revision), per rule
    newest first."""
    queryset = (
        ScopeRule.objects.filter(organization=organization)
        .select_related("request_type", "contract")
        .order_by("contract_id", "request_type__name", "-effective_from", "pk")
    )
    if contract is not None:
        queryset = queryset.filter(contract=contract)
    return queryset


def scope_rules_in_force_on(
    queryset: QuerySet[ScopeRule], *, on: datetime.date
) -> QuerySet[ScopeRule]:
    """Of ``queryset``, the revision in force on ``on`` for each contract ×
    request type — the latest on or before it — unless that revision ends the
    rule: the same answer as :func:`clients.rules` gives for one rule, as one
    query."""
    later = ScopeRule.objects.filter(
        organization=OuterRef("organization"),
        contract=OuterRef("contract"),
        request_type=OuterRef("request_type"),
        effective_from__gt=OuterRef("effective_from"),
        effective_from__lte=on,
    )
    return queryset.filter(effective_from__lte=on, removed=False).exclude(Exists(later))


def scope_rule_get(*, organization: Organization, pk: int) -> ScopeRule | None:
    return (
        scope_rule_list(organization=organization)
        .select_related("contract__client")
        .filter(pk=pk)
        .first()
    )


def scope_rule_history(*, organization: Organization, scope_rule: ScopeRule) -> list[ScopeRule]:
    """Every revision of the rule ``scope_rule`` is one of (same contract and
    request type), newest first."""
    return list(
        ScopeRule.objects.filter(
            organization=organization,
            contract=scope_rule.contract_id,
            request_type=scope_rule.request_type_id,
        )
        .select_related("request_type", "contract")
        .order_by("-effective_from", "pk")
    )


@dataclass(frozen=True)
class ScopeRuleRow:
    """A rule as the client page shows it: the revision in force today (or,
    for a rule not in force yet, its first planned one; for an ended rule its
    last one), the revisions planned after today and the whole history."""

    rule: ScopeRule
    plain_words: str
    history: list[ScopeRule] = field(default_factory=list)  # newest first
    planned: list[tuple[ScopeRule, str]] = field(default_factory=list)  # oldest first
    in_force: bool = True
    ended_on: datetime.date | None = None
    today: datetime.date | None = None  # revisions after it are planned (may be withdrawn)


def _rule_row(history: list[ScopeRule], today: datetime.date) -> ScopeRuleRow | None:
    """One rule's row from its revisions (newest first); None without any."""
    if not history:
        return None
    current = next((row for row in history if row.effective_from <= today), None)
    planned = sorted(
        (row for row in history if row.effective_from > today), key=lambda r: r.effective_from
    )
    planned_words = [
        (row, "" if row.removed else scope_rule_in_plain_words(scope_rule=row)) for row in planned
    ]
    if current is not None and not current.removed:
        shown, in_force, ended_on = current, True, None
    elif any(not row.removed for row in planned):
        shown = next(row for row in planned if not row.removed)
        in_force, ended_on = False, None
        planned_words = [(row, words) for row, words in planned_words if row is not shown]
    else:
        shown = next((row for row in history if not row.removed), history[0])
        in_force, ended_on = False, current.effective_from if current else None
    return ScopeRuleRow(
        rule=shown,
        plain_words=scope_rule_in_plain_words(scope_rule=shown),
        history=history,
        planned=planned_words,
        in_force=in_force,
        ended_on=ended_on,
        today=today,
    )


def scope_rule_row(*, organization: Organization, scope_rule: ScopeRule) -> ScopeRuleRow | None:
    """The row of the rule ``scope_rule`` belongs to, as of today."""
    return _rule_row(
        scope_rule_history(organization=organization, scope_rule=scope_rule),
        organization_today(organization=organization),
    )


# --- SLA targets and pricing ------------------------------------------------
def sla_target_list(*, organization: Organization) -> QuerySet[SLATarget]:
    return (
        SLATarget.objects.filter(organization=organization)
        .select_related("contract")
        .order_by("contract_id", "first_response_minutes", "pk")
    )


def pricing_tier_list(*, organization: Organization) -> QuerySet[PricingTier]:
    return (
        PricingTier.objects.filter(organization=organization)
        .select_related("contract")
        .order_by("contract_id", "min_units", "pk")
    )


def unit_count_list(*, organization: Organization) -> QuerySet[UnitCount]:
    return (
        UnitCount.objects.filter(organization=organization)
        .select_related("contract")
        .order_by("contract_id", "-month", "pk")
    )


# --- SLA calendars ------------------------------------------------------------
def sla_calendar_list(
    *, organization: Organization, at: datetime.datetime | None = None
) -> QuerySet[SLACalendar]:
    """Calendar versions, newest first per contract, each with ``in_force``:
    the contract's latest version effective at ``at`` (default: now)."""
    at = at or timezone.now()
    newer = SLACalendar.objects.filter(
        organization=organization,
        contract=OuterRef("contract"),
        effective_from__gt=OuterRef("effective_from"),
        effective_from__lte=at,
    )
    return (
        SLACalendar.objects.filter(organization=organization)
        .select_related("contract", "created_by__user")
        .annotate(in_force=Q(effective_from__lte=at) & ~Exists(newer))
        .order_by("contract_id", "-effective_from", "-pk")
    )


def sla_calendar_in_force(
    *, organization: Organization, contract: Contract | int | None, at: datetime.datetime
) -> SLACalendar | None:
    """The contract's calendar version in force at ``at``: the latest whose
    ``effective_from`` is not after it (None: round the clock)."""
    if contract is None:
        return None
    return (
        SLACalendar.objects.filter(
            organization=organization, contract=contract, effective_from__lte=at
        )
        .order_by("-effective_from", "-pk")
        .first()
    )


def sla_calendars_by_contract(
    *, organization: Organization, contracts: list[Contract]
) -> dict[int, list[SLACalendar]]:
    """The versions of the given contracts (newest first), in one query."""
    by_contract: dict[int, list[SLACalendar]] = {}
    if not contracts:
        return by_contract
    for calendar in sla_calendar_list(organization=organization).filter(
        contract__in=[contract.pk for contract in contracts]
    ):
        by_contract.setdefault(calendar.contract_id, []).append(calendar)
    return by_contract


# --- the client page --------------------------------------------------------
@dataclass(frozen=True)
class ContractCard:
    """One contract on the client page, with everything it shows."""

    contract: Contract
    revisions: list[ContractRevision]
    terms: ContractRevision | None  # in force today
    rules: list[ScopeRuleRow]  # in force today or planned, one per request type
    sla_targets: list[SLATarget]
    pricing_tiers: list[PricingTier]
    unit_counts: list[UnitCount]
    unruled_request_types: list[RequestType] = field(default_factory=list)
    defaults: list[str] = field(default_factory=list)  # plain words of the unruled types
    in_force: bool = False
    ended_rules: list[ScopeRuleRow] = field(default_factory=list)  # with their history


@dataclass(frozen=True)
class ClientPage:
    client: Client
    contracts: list[ContractCard]
    request_types: list[RequestType]  # active ones: what a rule can be added for
    today: datetime.date


def _terms_on(revisions: list[ContractRevision], on: datetime.date) -> ContractRevision | None:
    """Among one contract's prefetched revisions (newest first), the one in
    force on ``on``: the same answer as rules.contract_terms_on, without a
    query per contract."""
    return next((revision for revision in revisions if revision.effective_from <= on), None)


def contract_cards(
    *,
    organization: Organization,
    client: Client,
    request_types: list[RequestType],
    contract: Contract | None = None,
) -> list[ContractCard]:
    """A client's contracts with revisions, scope rules (with their request
    types), SLA targets and pricing: a fixed number of queries."""
    today = organization_today(organization=organization)
    queryset = (
        contract_list(organization=organization, client=client)
        .prefetch_related(
            Prefetch(
                "scope_rules",
                queryset=ScopeRule.objects.filter(organization=organization)
                .select_related("request_type")
                .order_by("request_type__name", "request_type_id", "-effective_from", "pk"),
            ),
            Prefetch(
                "sla_targets",
                queryset=SLATarget.objects.filter(organization=organization).order_by(
                    "first_response_minutes", "pk"
                ),
            ),
            Prefetch(
                "pricing_tiers",
                queryset=PricingTier.objects.filter(organization=organization).order_by(
                    "min_units"
                ),
            ),
            Prefetch(
                "unit_counts",
                queryset=UnitCount.objects.filter(organization=organization).order_by("-month"),
            ),
        )
        # Calendars are read only for the contracts that have one.
        .annotate(
            has_sla_calendar=Exists(
                SLACalendar.objects.filter(organization=organization, contract=OuterRef("pk"))
            )
        )
        .order_by("-starts_on", "pk")
    )
    if contract is not None:
        queryset = queryset.filter(pk=contract.pk)
    cards = []
    for item in queryset:
        revisions = list(item.revisions.all())
        by_type: dict[int, list[ScopeRule]] = {}
        for revision in item.scope_rules.all():  # per type, newest first
            revision.contract = item  # for the rows' money and links, without a query
            by_type.setdefault(revision.request_type_id, []).append(revision)
        all_rows = [_rule_row(history, today) for history in by_type.values()]
        rules = [row for row in all_rows if row.in_force or row.ended_on is None]
        ended = [row for row in all_rows if not row.in_force and row.ended_on is not None]
        ruled = {row.rule.request_type_id for row in rules}
        unruled = [rt for rt in request_types if rt.pk not in ruled]
        cards.append(
            ContractCard(
                contract=item,
                revisions=revisions,
                terms=_terms_on(revisions, today),
                rules=rules,
                sla_targets=list(item.sla_targets.all()),
                pricing_tiers=list(item.pricing_tiers.all()),
                unit_counts=list(item.unit_counts.all())[:6],
                unruled_request_types=unruled,
                defaults=[request_type_default_in_plain_words(request_type=rt) for rt in unruled],
                in_force=item.starts_on <= today
                and (item.ends_on is None or item.ends_on >= today),
                ended_rules=ended,
            )
        )
    return cards


def client_page(*, organization: Organization, client: Client) -> ClientPage:
    request_types = list(request_type_list(organization=organization, active=True))
    return ClientPage(
        client=client,
        contracts=contract_cards(
            organization=organization, client=client, request_types=request_types
        ),
        request_types=request_types,
        today=organization_today(organization=organization),
    )


def contract_card(*, organization: Organization, contract: Contract) -> ContractCard:
    """One contract's card (after an htmx change to its rules)."""
    request_types = list(request_type_list(organization=organization, active=True))
    return contract_cards(
        organization=organization,
        client=contract.client,
        request_types=request_types,
        contract=contract,
    )[0]


def contract_get(*, organization: Organization, pk: int) -> Contract | None:
    return (
        Contract.objects.filter(organization=organization, pk=pk).select_related("client").first()
    )
