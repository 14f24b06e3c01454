"""What the finance pages read: the month's pre-invoice review (one row per
client), a period's lines grouped by contract, and what stands behind one
line. Every query filters by the organization; prices come from
``billing.pricing`` (live) or the saved drafts (closed periods)."""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from clients.models import (
    Client,
    Contract,
)
from msops.tenancy.models import Membership, Organization, Role
from msops.tenancy.roles import FINANCE
from msops.timezones import organization_today

from ..models import (
    Adjustment,
    BillingPeriod,
    DraftRun,
    InvoiceDraft,
    InvoiceLine,
    PeriodEvent,
    ReviewItem,
)
from ..pricing import Blocker, ClientCharges, Line, month_blockers, price_month

ZERO = Decimal("0.00")
Kind = InvoiceLine.Kind
Unit = InvoiceLine.Unit


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def previous_month(month: datetime.date) -> datetime.date:
    return (month_start(month) - datetime.timedelta(days=1)).replace(day=1)


def next_month(month: datetime.date) -> datetime.date:
    return (month_start(month) + datetime.timedelta(days=32)).replace(day=1)


@dataclass(frozen=True)
class MoneyReach:
    """Whose money a member reads: every client's, or only the clients whose
    account manager is ``manager_id`` (none at all when that is None too)."""

    every_client: bool
    manager_id: int | None = None

    def allows(self, client: Client) -> bool:
        """May the member read ``client``'s money?"""
        return self.every_client or (
            self.manager_id is not None and client.account_manager_id == self.manager_id
        )

    def clients_of(self, queryset, path: str = ""):
        """``queryset`` narrowed to the rows of the clients the member reads
        (``path``: from the queryset's model to its client, e.g. ``client``)."""
        if self.every_client:
            return queryset
        if self.manager_id is None:
            return queryset.none()
        field = f"{path}__account_manager" if path else "account_manager"
        return queryset.filter(**{field: self.manager_id})


def money_reach(*, membership: Membership | None) -> MoneyReach:
    """The one rule of who reads a client's money (drafts, lines, amounts):
    finance and admins every client's; an account manager the clients they
    manage; anyone else (developers) none."""
    if membership is None:
        return MoneyReach(every_client=False)
    if membership.role in FINANCE:
        return MoneyReach(every_client=True)
    if membership.role == Role.ACCOUNT_MANAGER:
        return MoneyReach(every_client=False, manager_id=membership.pk)
    return MoneyReach(every_client=False)


def readable_client_ids(*, membership: Membership) -> list[int] | None:
    """The clients whose money this member reads (:func:`money_reach`): None
    for every client; else their ids."""
    reach = money_reach(membership=membership)
    if reach.every_client:
        return None
    clients = Client.objects.filter(organization=membership.organization_id)
    return list(reach.clients_of(clients).values_list("pk", flat=True))


# --- the month's review ---------------------------------------------------------------------
@dataclass
class CurrencyFigures:
    """One currency of a client's month (or of the whole month)."""

    currency: str
    total: Decimal = ZERO
    previous: Decimal | None = None
    cost: Decimal | None = None  # only in the organization's currency

    @property
    def change(self) -> Decimal | None:
        return None if self.previous is None else self.total - self.previous

    @property
    def margin(self) -> Decimal | None:
        return None if self.cost is None else self.total - self.cost

    @property
    def margin_percent(self) -> Decimal | None:
        if self.cost is None or not self.total:
            return None
        return ((self.total - self.cost) * 100 / self.total).quantize(Decimal("0.1"))


@dataclass
class MonthRow:
    client: Client
    period: BillingPeriod | None
    figures: list[CurrencyFigures]
    blockers: int
    saved: bool  # figures from the saved (frozen) draft

    @property
    def status(self) -> str:
        return self.period.status if self.period else BillingPeriod.Status.OPEN

    @property
    def status_label(self) -> str:
        return BillingPeriod.Status(self.status).label

    @property
    def is_closed(self) -> bool:
        return self.period is not None and self.period.is_closed

    @property
    def ready(self) -> bool:
        return not self.is_closed and not self.blockers


@dataclass
class MonthReview:
    month: datetime.date
    rows: list[MonthRow]
    totals: list[CurrencyFigures]

    @property
    def ready(self) -> int:
        return sum(1 for r in self.rows if r.ready)

    @property
    def blocked(self) -> int:
        return sum(1 for r in self.rows if r.blockers and not r.is_closed)

    @property
    def closed(self) -> int:
        return sum(1 for r in self.rows if r.is_closed)


def _saved_totals(organization: Organization, month: datetime.date, client_ids) -> dict:
    """{client_id: {currency: (total, cost)}} of the month's saved drafts."""
    drafts = InvoiceDraft.objects.filter(
        organization=organization, period__month=month, period__client_id__in=list(client_ids)
    ).values_list("period__client_id", "currency", "total", "cost")
    out: dict[int, dict[str, tuple[Decimal, Decimal]]] = defaultdict(dict)
    for client_id, currency, total, cost in drafts:
        out[client_id][currency] = (total, cost)
    return out


def month_review(
    *, organization: Organization, month: datetime.date, client_ids: list[int] | None = None
) -> MonthReview:
    """Every client with a period or charges in ``month`` (or only
    ``client_ids``): its draft per currency — live while open or in review,
    the saved draft once closed — the change against the month before (its
    saved draft, else a live price), the margin in the organization's
    currency, and how many exceptions still block it."""
    month = month_start(month)
    org_currency = organization.currency
    charges = price_month(organization=organization, month=month, client_ids=client_ids)
    periods_qs = BillingPeriod.objects.filter(organization=organization, month=month)
    if client_ids is not None:
        periods_qs = periods_qs.filter(client_id__in=client_ids)
    periods = {p.client_id: p for p in periods_qs}
    ids = set(charges) | set(periods)
    clients = list(Client.objects.filter(organization=organization, pk__in=ids).order_by("name"))
    closed = {cid for cid, p in periods.items() if p.is_closed}
    saved = _saved_totals(organization, month, closed) if closed else {}
    blockers = month_blockers(
        organization_id=organization.pk,
        month=month,
        charges={cid: ch for cid, ch in charges.items() if cid not in closed},
    )
    before = previous_month(month)
    previous = {
        cid: {cur: total for cur, (total, _) in by_cur.items()}
        for cid, by_cur in _saved_totals(organization, before, ids).items()
    }
    unsaved = sorted(ids - set(previous))
    if unsaved:
        for cid, ch in price_month(
            organization=organization, month=before, client_ids=unsaved
        ).items():
            if ch.lines:
                previous[cid] = ch.totals()

    rows = []
    totals: dict[str, CurrencyFigures] = {}
    for client in clients:
        if client.pk in closed:
            by_cur = saved.get(client.pk, {})
            amounts = {cur: total for cur, (total, _) in by_cur.items()}
            cost = sum((c for _, c in by_cur.values()), ZERO)
        else:
            ch = charges.get(client.pk)
            amounts = ch.totals() if ch else {}
            cost = ch.cost if ch else ZERO
        if not amounts:
            amounts = {org_currency: ZERO}
        before_amounts = previous.get(client.pk)
        figures = []
        for cur in sorted(amounts, key=lambda c: (c != org_currency, c)):
            fig = CurrencyFigures(
                currency=cur,
                total=amounts[cur],
                previous=None if before_amounts is None else before_amounts.get(cur, ZERO),
                cost=cost if cur == org_currency else None,
            )
            figures.append(fig)
            total = totals.setdefault(
                cur,
                CurrencyFigures(
                    currency=cur, previous=ZERO, cost=ZERO if cur == org_currency else None
                ),
            )
            total.total += fig.total
            total.previous += fig.previous or ZERO
            if fig.cost is not None:
                total.cost += fig.cost
        rows.append(
            MonthRow(
                client=client,
                period=periods.get(client.pk),
                figures=figures,
                blockers=0 if client.pk in closed else len(blockers.get(client.pk, [])),
                saved=client.pk in closed,
            )
        )
    ordered = sorted(totals.values(), key=lambda f: (f.currency != org_currency, f.currency))
    return MonthReview(month=month, rows=rows, totals=ordered)


def draft_run_latest(*, organization: Organization, month: datetime.date) -> DraftRun | None:
    return (
        DraftRun.objects.filter(organization=organization, month=month_start(month))
        .select_related("started_by__user")
        .order_by("-created_at", "-pk")
        .first()
    )


# --- a client's period ----------------------------------------------------------------------
def period_get_for_page(*, organization: Organization, pk: int) -> BillingPeriod | None:
    return (
        BillingPeriod.objects.filter(organization=organization, pk=pk)
        .select_related(
            "client__organization",
            "client__account_manager__user",
            "review_started_by__user",
            "locked_by__user",
            "exported_by__user",
        )
        .first()
    )


def period_find(
    *, organization: Organization, client: Client, month: datetime.date
) -> BillingPeriod | None:
    """The client's period of ``month`` if it was opened (None: not yet)."""
    return BillingPeriod.objects.filter(
        organization=organization, client=client, month=month_start(month)
    ).first()


def period_events(*, period: BillingPeriod):
    """The period's history (none for a period not opened yet)."""
    if period.pk is None:
        return PeriodEvent.objects.none()
    return PeriodEvent.objects.filter(
        organization=period.organization_id, period=period
    ).select_related("actor__user")


def period_adjustments(*, period: BillingPeriod):
    """Corrections made to this (locked) period, and where each is billed."""
    return (
        Adjustment.objects.filter(organization=period.organization_id, corrects=period)
        .select_related("period", "created_by__user", "contract")
        .order_by("created_at", "pk")
    )


def client_contracts(*, organization: Organization, client: Client):
    return Contract.objects.filter(organization=organization, client=client).order_by(
        "starts_on", "pk"
    )


def adjustment_lands_in(*, period: BillingPeriod) -> datetime.date:
    """The month an adjustment to ``period`` is billed in (the page says it;
    ``billing.services.periods.adjustment_create`` bills it there): the
    client's next open (or in review) period, else the month after its latest."""
    later = (
        BillingPeriod.objects.filter(
            organization=period.organization_id,
            client=period.client_id,
            month__gt=period.month,
            status__in=(BillingPeriod.Status.OPEN, BillingPeriod.Status.IN_REVIEW),
        )
        .order_by("month")
        .values_list("month", flat=True)
        .first()
    )
    if later is not None:
        return later
    latest = (
        BillingPeriod.objects.filter(organization=period.organization_id, client=period.client_id)
        .order_by("-month")
        .values_list("month", flat=True)
        .first()
    )
    return next_month(max(latest or period.month, period.month))


@dataclass
class LineRow:
    """A line as the period page shows it (live or saved)."""

    kind: str
    description: str
    currency: str
    contract_id: int | None
    quantity: Decimal
    unit: str
    unit_price: Decimal
    amount: Decimal
    minutes: int
    billed_minutes: int
    computation: str
    pk: int | None = None  # the saved line behind it: "explain this line"

    @property
    def kind_label(self) -> str:
        return Kind(self.kind).label

    @property
    def is_hours(self) -> bool:
        return self.unit == Unit.HOURS

    @property
    def quantity_minutes(self) -> int:
        return int((self.quantity * 60).to_integral_value())

    @property
    def quantity_text(self) -> str:
        number = self.quantity.normalize()
        text = format(number, "f")
        return text if self.unit == Unit.EACH else f"{text} {self.unit}"

    def signature(self) -> tuple:
        return (self.kind, self.description[:300], self.currency, self.amount, self.contract_id)


@dataclass
class LineGroup:
    contract: Contract | None
    lines: list[LineRow] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for line in self.lines:
            out[line.currency] += line.amount
        return dict(out)


def _row_from_line(line: Line) -> LineRow:
    return LineRow(
        kind=line.kind,
        description=line.description,
        currency=line.currency,
        contract_id=line.contract_id,
        quantity=line.quantity,
        unit=line.unit,
        unit_price=line.unit_price,
        amount=line.amount,
        minutes=line.minutes,
        billed_minutes=line.billed_minutes,
        computation=line.computation,
    )


def _row_from_saved(line: InvoiceLine) -> LineRow:
    return LineRow(
        kind=line.kind,
        description=line.description,
        currency=line.currency,
        contract_id=line.contract_id,
        quantity=line.quantity,
        unit=line.unit,
        unit_price=line.unit_price,
        amount=line.amount,
        minutes=line.minutes,
        billed_minutes=line.billed_minutes,
        computation=line.computation,
        pk=line.pk,
    )


@dataclass
class PeriodLines:
    groups: list[LineGroup]
    totals: dict[str, Decimal]
    live: bool  # computed now (open, in review) rather than the frozen draft
    unsaved: int  # live lines without a saved twin (no "explain" yet)
    computed_at: datetime.datetime | None  # of the saved draft


def period_lines(
    *, period: BillingPeriod, charges: ClientCharges | None, contracts: list[Contract]
) -> PeriodLines:
    """The period's lines grouped by contract: the frozen draft once
    closed; otherwise the live ``charges``, each matched to its twin in the
    saved draft (if the draft is current) so it can be explained. A period
    not opened yet (no pk) has no saved draft."""
    saved, computed_at = [], None
    if period.pk is not None:
        saved = list(
            InvoiceLine.objects.filter(organization=period.organization_id, period=period).order_by(
                "draft__currency", "position"
            )
        )
        computed_at = (
            InvoiceDraft.objects.filter(organization=period.organization_id, period=period)
            .order_by("-computed_at")
            .values_list("computed_at", flat=True)
            .first()
        )
    if period.is_closed:
        rows = [_row_from_saved(line) for line in saved]
    else:
        twins: dict[tuple, list[int]] = defaultdict(list)
        for line in saved:
            twins[_row_from_saved(line).signature()].append(line.pk)
        rows = []
        for line in charges.lines if charges else []:
            row = _row_from_line(line)
            same = twins.get(row.signature())
            row.pk = same.pop(0) if same else None
            rows.append(row)
    by_id = {c.pk: c for c in contracts}
    groups: dict[int | None, LineGroup] = {}
    for row in rows:
        group = groups.get(row.contract_id)
        if group is None:
            group = groups[row.contract_id] = LineGroup(contract=by_id.get(row.contract_id))
        group.lines.append(row)
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for row in rows:
        totals[row.currency] += row.amount
    return PeriodLines(
        groups=list(groups.values()),
        totals=dict(sorted(totals.items())),
        live=not period.is_closed,
        unsaved=sum(1 for r in rows if r.pk is None),
        computed_at=computed_at,
    )


def blocker_owners(*, organization: Organization, blockers: list[Blocker]) -> dict:
    ids = {b.owner_id for b in blockers if b.owner_id}
    if not ids:
        return {}
    return {
        m.pk: m
        for m in Membership.objects.filter(organization=organization, pk__in=ids).select_related(
            "user"
        )
    }


# --- home -----------------------------------------------------------------------------------
def sent_back_to(*, membership: Membership, limit: int = 10) -> tuple[int, list[ReviewItem]]:
    """Open questions finance sent back to this member: how many, and the
    newest ``limit``."""
    items = ReviewItem.objects.filter(
        organization=membership.organization_id,
        kind=ReviewItem.Kind.SENT_BACK,
        owner=membership,
        status=ReviewItem.Status.OPEN,
    )
    rows = list(items.select_related("ticket", "client").order_by("-pk")[: limit + 1])
    count = len(rows) if len(rows) <= limit else items.count()
    return count, rows[:limit]


@dataclass
class ContractUsageRow:
    contract: Contract
    usage: object  # billing.pricing.Usage


def my_clients_usage(
    *, membership: Membership, on: datetime.date | None = None
) -> tuple[datetime.date, list[ContractUsageRow]]:
    """Usage in the month of ``on`` (today in the organization) of the
    contracts of an account manager's clients: (that day, the rows)."""
    organization = membership.organization
    on = on or organization_today(organization)
    client_ids = readable_client_ids(membership=membership) or []
    if not client_ids:
        return on, []
    charges = price_month(organization=organization, month=on, client_ids=client_ids)
    usage = {cid: u for ch in charges.values() for cid, u in ch.usage.items()}
    if not usage:
        return on, []
    contracts = (
        Contract.objects.filter(organization=organization, pk__in=list(usage))
        .select_related("client")
        .order_by("client__name", "name", "pk")
    )
    return on, [ContractUsageRow(contract=c, usage=usage[c.pk]) for c in contracts]
