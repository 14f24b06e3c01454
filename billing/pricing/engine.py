"""Charges of a client's month, from the meaning decided at work.

Input: the month's entry portions (each with its status, decision, and the
contract, terms and scope rule revision in force on its work date), the
contracts' terms, top-ups, unit counts and tiers, approved scope checks and
adjustments. Output: invoice lines with their sources, per client, and the
usage of each contract. Nothing here writes; ``billing.services.periods``
saves drafts. Everything is loaded in a handful of set-based queries for the
whole organization (or the clients asked for), then priced in memory.

How each contract kind is priced (the hand-computed examples are in
``tests/billing/test_pricing.py``):

- **Retainer**: the fee of each contract period (billed in the month the
  period starts, or the contract's first month if it starts later in the
  period; terms that change mid-period, or a contract that starts or ends in
  it, pro-rate fee and allowance by days). Included work draws from
  the period's allowance in work-date order; minutes past it are overage at
  the overage rate (the hourly rate when none) of the terms in force on the
  work date.
- **Block of hours**: each top-up is charged in the month it is added; included
  work draws on the oldest live top-up first; unused minutes carry over until
  a top-up expires; once the balance is spent, overage as for a retainer.
- **Fixed fee**: the fee as a retainer's (billable out-of-scope work on its
  own lines); included work as zero-priced lines.
- **Time and materials**: no fee (the terms' fee is ignored); billable time
  as below; included work as zero-priced lines.
- **Per unit**: the month's unit count priced by the bands, graduated (each
  band's units at its price) or volume (all units at the price of the band
  the count falls in); a fee, if the terms have one, as a retainer's fee.
- **Billable time** on any contract, and work no contract covers (at the
  organization's default rate): per entry, rounded up to the contract's
  increment and raised to its minimum charge, then summed per ticket and
  rate; the amount is hours × rate, half-up to the cent, once per line.
- **Approved scope checks**: their own line per check, at the actual time (as
  billable time) or at the approved estimate (charged in the month of its
  first work; later work under it shows at zero).
- **Written-off** work: zero-priced lines, shown as written off.
- **Adjustments** (corrections after a lock): their own lines, as entered.

Minutes that are undecided, unclear or waiting for approval are on no line:
they are exceptions that block the lock (``billing.pricing.blockers``).
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Min, Sum
from django.db.models.functions import Coalesce

from clients.models import BlockTopUp, Contract, ContractRevision, PricingTier, ScopeRule, UnitCount
from msops.calendar import contract_period
from msops.tenancy.models import Organization
from tickets.models import Ticket, TimeEntry

from ..models import Adjustment, BillingDecision, EntryPortion, InvoiceLine, ScopeCheck
from .money import (
    ZERO,
    billed_minutes,
    cents,
    hours,
    month_bounds,
    share,
    share_minutes,
    time_amount,
)

Status = TimeEntry.BillingStatus
Kind = InvoiceLine.Kind
APPROVED_CHECKS = (ScopeCheck.Status.APPROVED, ScopeCheck.Status.CLIENT_APPROVED)
KIND_ORDER = {k: i for i, k in enumerate(
    (Kind.FEE, Kind.BLOCK_TOP_UP, Kind.UNITS, Kind.INCLUDED, Kind.BLOCK_DRAWDOWN, Kind.OVERAGE,
     Kind.CHANGE, Kind.TIME, Kind.WRITE_OFF, Kind.ADJUSTMENT)
)}  # fmt: skip
SOURCE_KEYS = (
    "portions", "entries", "decisions", "scope_checks", "revisions", "rules", "unit_counts",
    "tiers", "top_ups", "adjustments",
)  # fmt: skip


@dataclass(slots=True)
class Portion:
    id: int
    entry_id: int
    position: int
    ticket_id: int
    client_id: int
    minutes: int
    work_date: datetime.date
    status: str
    decision_id: int | None
    contract_id: int | None
    revision_id: int | None
    rule_id: int | None
    treatment: str
    scope_check_id: int | None
    cost_rate: Decimal | None


PORTION_FIELDS = (
    "id", "entry_id", "position", "ticket_id", "minutes", "work_date", "status", "decision_id",
    "contract_id", "contract_revision_id", "scope_rule_id", "treatment",
)  # fmt: skip


@dataclass
class Line:
    """A priced line and its provenance (``sources``: sets of ids)."""

    kind: str
    description: str
    currency: str
    contract_id: int | None = None
    ticket_id: int | None = None
    scope_check_id: int | None = None
    minutes: int = 0
    billed_minutes: int = 0
    quantity: Decimal = ZERO
    unit: str = InvoiceLine.Unit.EACH
    unit_price: Decimal = ZERO
    amount: Decimal = ZERO
    computation: str = ""
    sources: dict[str, set] = field(default_factory=lambda: defaultdict(set))
    # Per entry: its minutes on this line (billable time rounds per entry).
    per_entry: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    # A portion taken in part (included up to the allowance, the rest
    # overage): [its minutes on this line, its minutes].
    parts: dict[int, list[int]] = field(default_factory=dict)
    rounding: tuple[int, int] = (1, 0)  # (increment, minimum) of billable time

    def take(self, p: Portion, minutes: int | None = None) -> None:
        minutes = p.minutes if minutes is None else minutes
        self.minutes += minutes
        self.per_entry[p.entry_id] += minutes
        if minutes != p.minutes:
            self.parts.setdefault(p.id, [0, p.minutes])[0] += minutes
        src = self.sources
        src["portions"].add(p.id)
        src["entries"].add(p.entry_id)
        if p.decision_id:
            src["decisions"].add(p.decision_id)
        if p.revision_id:
            src["revisions"].add(p.revision_id)
        if p.rule_id:
            src["rules"].add(p.rule_id)
        if p.scope_check_id:
            src["scope_checks"].add(p.scope_check_id)

    def sources_json(self) -> dict:
        """The ids behind the line by kind (``SOURCE_KEYS``), and
        ``portion_minutes``: {portion id: its minutes on this line} for each
        portion only part of which is on it."""
        out: dict = {k: sorted(v) for k, v in self.sources.items() if v}
        split = {str(pk): on for pk, (on, whole) in sorted(self.parts.items()) if on != whole}
        if split:
            out["portion_minutes"] = split
        return out


@dataclass
class Usage:
    """A contract's usage for the month (allowance figures for its period)."""

    contract_id: int
    kind: str
    currency: str
    period_start: datetime.date
    period_end: datetime.date  # exclusive
    allowance: int | None = None  # retainer: minutes for the period; block: balance available
    used: int = 0  # minutes drawn (period to date for a retainer; this month for a block)
    overage: int = 0
    balance: int | None = None  # block: minutes left at month end
    expired: int = 0  # block: minutes that expired unused this month
    billable_minutes: int = 0
    billable_amount: Decimal = ZERO
    pending_minutes: int = 0  # waiting for approval
    undecided_minutes: int = 0  # no decision yet, or unclear

    @property
    def left(self) -> int | None:
        if self.kind == Contract.Kind.BLOCK:
            return self.balance
        if self.allowance is None:
            return None
        return max(self.allowance - self.used, 0)

    @property
    def percent_used(self) -> int | None:
        if self.kind == Contract.Kind.BLOCK:
            total = (self.balance or 0) + self.used
        else:
            total = self.allowance or 0
        return None if not total else min(999, self.used * 100 // total)


@dataclass
class ClientCharges:
    client_id: int
    month: datetime.date
    lines: list[Line]
    usage: dict[int, Usage]
    portions: list[Portion]
    cost: Decimal  # members' cost of the work charged in the organization's currency
    missing_rates: list[Line]
    missing_counts: list[int]  # per-unit contract ids without a count (or beyond the bands)

    @classmethod
    def empty(cls, client_id: int, month: datetime.date) -> "ClientCharges":
        """A client's month with nothing charged."""
        return cls(
            client_id=client_id, month=month.replace(day=1), lines=[], usage={}, portions=[],
            cost=ZERO, missing_rates=[], missing_counts=[],
        )  # fmt: skip

    def totals(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for line in self.lines:
            out[line.currency] += line.amount
        return dict(out)


# --- loading ----------------------------------------------------------------------------
class MonthData:
    """Everything one organization's month needs, loaded set-based."""

    def __init__(self, organization: Organization, month: datetime.date, client_ids=None):
        self.organization = organization
        self.month, self.end = month_bounds(month)
        org = organization.pk
        scope = {} if client_ids is None else {"client_id__in": list(client_ids)}
        self.contracts = {
            c.pk: c
            for c in Contract.objects.filter(organization=org, starts_on__lt=self.end, **scope)
            .exclude(ends_on__lt=self.month)
            .order_by("starts_on", "pk")
        }
        self._load_portions(org, client_ids)
        referenced = {p.contract_id for p in self.portions if p.contract_id} - set(self.contracts)
        if referenced:  # a portion's contract that no longer runs in the month (edited dates)
            self.contracts.update(
                {c.pk: c for c in Contract.objects.filter(organization=org, pk__in=referenced)}
            )
        ids = list(self.contracts)
        self.revisions: dict[int, list[ContractRevision]] = defaultdict(list)
        for r in ContractRevision.objects.filter(organization=org, contract_id__in=ids).order_by(
            "effective_from"
        ):
            self.revisions[r.contract_id].append(r)
        self.revision_by_id = {r.pk: r for rs in self.revisions.values() for r in rs}
        rule_ids = {p.rule_id for p in self.portions if p.rule_id}
        self.rate_overrides = dict(
            ScopeRule.objects.filter(
                organization=org, pk__in=rule_ids, rate_override__isnull=False
            ).values_list("pk", "rate_override")
        )
        self._load_checks(org)
        self._load_prior_usage(org)
        self._load_units(org, ids)
        self.top_ups: dict[int, list[BlockTopUp]] = defaultdict(list)
        blocks = [c for c in ids if self.contracts[c].kind == Contract.Kind.BLOCK]
        for t in BlockTopUp.objects.filter(organization=org, contract_id__in=blocks).order_by(
            "added_on", "pk"
        ):
            self.top_ups[t.contract_id].append(t)
        adjustments = Adjustment.objects.filter(organization=org, period__month=self.month)
        if client_ids is not None:
            adjustments = adjustments.filter(client_id__in=list(client_ids))
        self.adjustments: dict[int, list[Adjustment]] = defaultdict(list)
        for a in adjustments.select_related("corrects"):
            self.adjustments[a.client_id].append(a)

    def _load_portions(self, org: int, client_ids) -> None:
        """The month's portions with their ticket's client, their decision's
        scope check and their entry's cost rate. Each table is read in a query
        of its own, restricted to the month (and the clients') rows: joined in
        one statement, the planner hashes every ticket and time entry of every
        organization (seconds at scale). The tickets and decisions of a whole
        month are picked by the portions' query as a subquery (tens of
        thousands of ids as parameters cost more than reading the portions
        again), a few clients' by their ids. The ticket's number and title
        come along for the lines' labels. A portion whose ticket or entry is
        not found is left out, as the inner joins did."""
        portions = EntryPortion.objects.filter(
            organization=org, work_date__gte=self.month, work_date__lt=self.end
        ).order_by()
        # Cost: the entry's snapshot, else the member's cost rate today.
        costs = (
            TimeEntry.objects.filter(organization=org)
            .order_by()
            .annotate(cost=Coalesce("cost_rate", "person__cost_rate"))
        )
        entries = costs.filter(work_date__gte=self.month, work_date__lt=self.end)
        if client_ids is not None:
            of_clients = Ticket.objects.filter(organization=org, client_id__in=list(client_ids))
            portions = portions.filter(ticket__in=of_clients.values("pk"))
            entries = entries.filter(ticket__in=of_clients.values("pk"))
        rows = list(portions.values_list(*PORTION_FIELDS))
        if client_ids is None:
            tickets, decisions = portions.values("ticket_id"), portions.values("decision_id")
        else:
            tickets, decisions = {row[3] for row in rows}, {row[7] for row in rows if row[7]}
        self.tickets: dict[int, tuple[int, str]] = {}
        client_of: dict[int, int] = {}
        for pk, client_id, number, title in (
            Ticket.objects.filter(organization=org, pk__in=tickets)
            .order_by()
            .values_list("pk", "client_id", "number", "title")
        ):
            self.tickets[pk] = (number, title)
            client_of[pk] = client_id
        check_of = dict(
            BillingDecision.objects.filter(
                organization=org, pk__in=decisions, scope_check__isnull=False
            )
            .order_by()
            .values_list("pk", "scope_check_id")
        )
        cost_rate = dict(entries.values_list("pk", "cost"))
        elsewhere = {row[1] for row in rows if row[1] not in cost_rate}
        if elsewhere:  # an entry dated outside the month of its portion
            cost_rate.update(costs.filter(pk__in=elsewhere).values_list("pk", "cost"))
        self.portions = [
            Portion(pk, entry, position, ticket, client_of[ticket], minutes, day, status,
                    decision, contract, revision, rule, treatment, check_of.get(decision),
                    cost_rate[entry])
            for (pk, entry, position, ticket, minutes, day, status, decision, contract, revision,
                 rule, treatment) in rows
            if ticket in client_of and entry in cost_rate
        ]  # fmt: skip

    def _load_checks(self, org: int) -> None:
        check_ids = {p.scope_check_id for p in self.portions if p.scope_check_id}
        self.checks = {
            c.pk: c
            for c in ScopeCheck.objects.filter(
                organization=org, pk__in=check_ids, status__in=APPROVED_CHECKS
            )
        }
        # The month a check's estimate is charged in: the month of its first work.
        self.check_first_work = dict(
            EntryPortion.objects.filter(
                organization=org,
                decision__scope_check_id__in=[
                    c.pk for c in self.checks.values() if c.bill_as == ScopeCheck.BillAs.ESTIMATE
                ],
                status=Status.BILLABLE,
            )
            .values_list("decision__scope_check_id")
            .annotate(first=Min("work_date"))
        )

    def _load_prior_usage(self, org: int) -> None:
        """Included minutes per contract and day before this month that still
        count: a retainer's earlier months of a longer period; all of a block."""
        since: dict[int, datetime.date] = {}
        for c in self.contracts.values():
            if c.kind == Contract.Kind.BLOCK:
                since[c.pk] = c.starts_on
            elif c.kind == Contract.Kind.RETAINER and c.period != Contract.Period.MONTHLY:
                start, _ = contract_period(c.period, self.month)
                if start < self.month:
                    since[c.pk] = start
        self.prior: dict[int, list[tuple[datetime.date, int]]] = defaultdict(list)
        if not since:
            return
        rows = (
            EntryPortion.objects.filter(
                organization=org,
                contract_id__in=list(since),
                status=Status.INCLUDED,
                work_date__lt=self.month,
                work_date__gte=min(since.values()),
            )
            .values_list("contract_id", "work_date")
            .annotate(m=Sum("minutes"))
            .order_by("contract_id", "work_date")
        )
        for contract_id, day, minutes in rows:
            if day >= since[contract_id]:
                self.prior[contract_id].append((day, minutes))

    def _load_units(self, org: int, ids: list[int]) -> None:
        per_unit = [c for c in ids if self.contracts[c].kind == Contract.Kind.PER_UNIT]
        self.unit_counts = {
            u.contract_id: u
            for u in UnitCount.objects.filter(
                organization=org, contract_id__in=per_unit, month=self.month
            )
        }
        self.tiers: dict[int, list[PricingTier]] = defaultdict(list)
        for t in PricingTier.objects.filter(organization=org, contract_id__in=per_unit).order_by(
            "min_units"
        ):
            self.tiers[t.contract_id].append(t)

    # --- terms --------------------------------------------------------------------------
    def terms_on(self, contract_id: int, day: datetime.date) -> ContractRevision | None:
        current = None
        for r in self.revisions.get(contract_id, ()):
            if r.effective_from <= day:
                current = r
        return current

    def segments(self, contract: Contract, start: datetime.date, end: datetime.date):
        """(terms, first day, day after, days) of the terms in force over
        [start, end) while the contract runs."""
        run_end = contract.ends_on + datetime.timedelta(days=1) if contract.ends_on else end
        lo, hi = max(start, contract.starts_on), min(end, run_end)
        if lo >= hi:
            return []
        out = []
        revisions = self.revisions.get(contract.pk, [])
        cuts = sorted({lo, *[r.effective_from for r in revisions if lo < r.effective_from < hi]})
        for i, day in enumerate(cuts):
            until = cuts[i + 1] if i + 1 < len(cuts) else hi
            terms = self.terms_on(contract.pk, day)
            if terms is not None:
                out.append((terms, day, until, (until - day).days))
        return out

    def rate(self, p: Portion) -> Decimal | None:
        """The hourly rate of billable minutes: the rule's override, else the
        terms' hourly rate; no contract: the organization's default rate."""
        if p.contract_id is None:
            return self.organization.default_hourly_rate
        if p.rule_id in self.rate_overrides:
            return self.rate_overrides[p.rule_id]
        terms = self.revision_by_id.get(p.revision_id) or self.terms_on(p.contract_id, p.work_date)
        return terms.hourly_rate if terms is not None else None

    def overage_rate(self, contract_id: int, day: datetime.date) -> Decimal | None:
        terms = self.terms_on(contract_id, day)
        if terms is None:
            return None
        return terms.overage_rate if terms.overage_rate is not None else terms.hourly_rate

    def rounding(self, p: Portion) -> tuple[int, int]:
        if p.contract_id is None:
            return 1, 0
        terms = self.revision_by_id.get(p.revision_id) or self.terms_on(p.contract_id, p.work_date)
        if terms is None:
            return 1, 0
        return terms.rounding_increment_minutes, terms.minimum_charge_minutes

    def ticket_label(self, ticket_id: int) -> str:
        number, title = self.tickets.get(ticket_id, (ticket_id, ""))
        return f"#{number} {title}".strip()


# --- pricing ----------------------------------------------------------------------------
class ClientPricer:
    """Prices one client's month from :class:`MonthData`."""

    def __init__(self, data: MonthData, client_id: int, portions: list[Portion]):
        self.data = data
        self.client_id = client_id
        self.portions = sorted(portions, key=lambda p: (p.work_date, p.entry_id, p.position))
        self.lines: dict[tuple, Line] = {}
        self.usage: dict[int, Usage] = {}
        self.missing_counts: list[int] = []
        self.org_currency = data.organization.currency

    def currency(self, contract_id: int | None) -> str:
        if contract_id is None:
            return self.org_currency
        return self.data.contracts[contract_id].currency

    def line(self, key: tuple, **fields) -> Line:
        line = self.lines.get(key)
        if line is None:
            line = self.lines[key] = Line(**fields)
        return line

    def usage_of(self, contract: Contract) -> Usage:
        u = self.usage.get(contract.pk)
        if u is None:
            start, end = contract_period(contract.period, self.data.month)
            if contract.kind == Contract.Kind.BLOCK:
                start, end = self.data.month, self.data.end
            u = self.usage[contract.pk] = Usage(
                contract_id=contract.pk,
                kind=contract.kind,
                currency=contract.currency,
                period_start=start,
                period_end=end,
            )
        return u

    # The whole client-month.
    def price(self) -> ClientCharges:
        data = self.data
        contracts = [c for c in data.contracts.values() if c.client_id == self.client_id]
        for contract in contracts:
            self.usage_of(contract)
            if contract.kind in (Contract.Kind.RETAINER, Contract.Kind.FIXED_FEE,
                                 Contract.Kind.PER_UNIT):  # fmt: skip
                self.fees(contract)
            if contract.kind == Contract.Kind.PER_UNIT:
                self.units(contract)
            if contract.kind == Contract.Kind.BLOCK:
                self.top_ups(contract)
        included: dict[int | None, list[Portion]] = defaultdict(list)
        for p in self.portions:
            if p.contract_id is not None and p.contract_id not in data.contracts:
                continue  # cannot happen: loaded above
            usage = self.usage.get(p.contract_id) if p.contract_id else None
            if p.status == Status.INCLUDED:
                included[p.contract_id].append(p)
            elif p.status == Status.BILLABLE:
                if p.scope_check_id in data.checks:
                    self.change(p)
                else:
                    self.billable(p)
            elif p.status == Status.NON_BILLABLE:
                self.write_off(p)
            elif usage is not None:
                if p.status == Status.PENDING_APPROVAL:
                    usage.pending_minutes += p.minutes
                else:
                    usage.undecided_minutes += p.minutes
        for contract_id, portions in included.items():
            contract = data.contracts.get(contract_id) if contract_id else None
            if contract is not None and contract.kind == Contract.Kind.RETAINER:
                self.retainer_drawdown(contract, portions)
            elif contract is not None and contract.kind == Contract.Kind.BLOCK:
                self.block_drawdown(contract, portions)
            else:
                for p in portions:
                    self.included(p, contract_id)
        for contract in contracts:  # allowance and balance even in a month without work
            if contract.pk in included:
                continue
            if contract.kind == Contract.Kind.BLOCK:
                self.block_drawdown(contract, [])
            elif contract.kind == Contract.Kind.RETAINER:
                self.retainer_drawdown(contract, [])
        self.adjustments()
        lines = self.finish()
        for line in lines:
            if line.kind in (Kind.TIME, Kind.CHANGE) and line.contract_id in self.usage:
                u = self.usage[line.contract_id]
                u.billable_minutes += line.billed_minutes
                u.billable_amount += line.amount
            elif line.kind == Kind.OVERAGE and line.contract_id in self.usage:
                self.usage[line.contract_id].billable_amount += line.amount
        # Members' cost rates are in the organization's currency: only the work
        # charged in that currency is set against its revenue (margin).
        cost = cents(
            sum(
                (
                    Decimal(p.minutes) * p.cost_rate / 60
                    for p in self.portions
                    if p.cost_rate and self.currency(p.contract_id) == self.org_currency
                ),
                ZERO,
            )
        )
        missing = [
            line
            for line in lines
            if line.kind in (Kind.TIME, Kind.OVERAGE, Kind.CHANGE)
            and line.minutes
            and not line.unit_price
        ]
        return ClientCharges(
            client_id=self.client_id,
            month=data.month,
            lines=lines,
            usage=self.usage,
            portions=self.portions,
            cost=cost,
            missing_rates=missing,
            missing_counts=self.missing_counts,
        )

    # --- fees, units, top-ups -----------------------------------------------------------
    def fees(self, contract: Contract) -> None:
        start, end = contract_period(contract.period, self.data.month)
        # Billed in the month the contract period starts, or, for a contract
        # that starts later in the period, in the contract's own first month.
        if max(start, contract.starts_on.replace(day=1)) != self.data.month:
            return
        period_days = (end - start).days
        label = {Contract.Kind.RETAINER: "Retainer fee", Contract.Kind.FIXED_FEE: "Fixed fee"}.get(
            contract.kind, "Fee"
        )
        for terms, lo, hi, days in self.data.segments(contract, start, end):
            if not terms.fee:
                continue
            whole = days == period_days
            amount = terms.fee if whole else share(terms.fee, days, period_days)
            last = hi - datetime.timedelta(days=1)
            line = self.line(
                ("fee", contract.pk, terms.pk),
                kind=Kind.FEE,
                description=f"{contract.name}: {label}, {lo:%d %b} – {last:%d %b %Y}",
                currency=contract.currency,
                contract_id=contract.pk,
                quantity=Decimal(1),
                unit_price=amount,
                amount=amount,
                computation=(
                    f"{terms.fee} for the period"
                    if whole
                    else f"{terms.fee} × {days}/{period_days} days = {amount} (half-up to the cent)"
                ),
            )
            line.sources["revisions"].add(terms.pk)

    def units(self, contract: Contract) -> None:
        count = self.data.unit_counts.get(contract.pk)
        tiers = self.data.tiers.get(contract.pk, [])
        if count is None:
            self.missing_counts.append(contract.pk)
            return
        n = count.units
        if n == 0:
            return
        covered = [
            t for t in tiers if t.min_units <= n and (t.max_units is None or n <= t.max_units)
        ]
        top = max((t.max_units or 10**12) for t in tiers) if tiers else 0
        if not tiers or n > top or not covered:
            self.missing_counts.append(contract.pk)
            return
        src = {"unit_counts": {count.pk}}
        if contract.tier_mode == Contract.TierMode.VOLUME:
            band = covered[0]
            self._unit_line(contract, band, n, f"{n} units, all at the price of band {band}", src)
            return
        for band in tiers:
            upper = n if band.max_units is None else min(n, band.max_units)
            in_band = upper - band.min_units + 1
            if in_band > 0:
                self._unit_line(
                    contract, band, in_band, f"units {band.min_units}–{upper} of {n}", src
                )

    def _unit_line(self, contract, band, quantity: int, words: str, src) -> None:
        amount = cents(band.unit_price * quantity)
        line = self.line(
            ("units", contract.pk, band.pk),
            kind=Kind.UNITS,
            description=f"{contract.name}: {words}",
            currency=contract.currency,
            contract_id=contract.pk,
            quantity=Decimal(quantity),
            unit=InvoiceLine.Unit.UNITS,
            unit_price=band.unit_price,
            amount=amount,
            computation=f"{quantity} × {band.unit_price} = {amount}",
        )
        line.sources["unit_counts"].update(src["unit_counts"])
        line.sources["tiers"].add(band.pk)

    def top_ups(self, contract: Contract) -> None:
        for t in self.data.top_ups.get(contract.pk, []):
            if self.data.month <= t.added_on < self.data.end:
                expires = f", expires {t.expires_on:%Y-%m-%d}" if t.expires_on else ""
                line = self.line(
                    ("top_up", t.pk),
                    kind=Kind.BLOCK_TOP_UP,
                    description=f"{contract.name}: {hours(t.minutes).normalize():f} h added"
                    f" {t.added_on:%Y-%m-%d}{expires}",
                    currency=contract.currency,
                    contract_id=contract.pk,
                    minutes=0,
                    quantity=Decimal(1),
                    unit_price=t.price,
                    amount=t.price,
                    computation=f"Top-up price {t.price}",
                )
                line.sources["top_ups"].add(t.pk)

    # --- time -----------------------------------------------------------------------------
    def billable(self, p: Portion) -> None:
        rate = self.data.rate(p)
        rounding = self.data.rounding(p)  # terms changing mid-month: a line per rounding
        where = "no contract covers the work date" if p.contract_id is None else None
        line = self.line(
            ("time", p.contract_id, p.ticket_id, rate, rounding),
            kind=Kind.TIME,
            description=f"{self.data.ticket_label(p.ticket_id)}" + (f" ({where})" if where else ""),
            currency=self.currency(p.contract_id),
            contract_id=p.contract_id,
            ticket_id=p.ticket_id,
            unit=InvoiceLine.Unit.HOURS,
            unit_price=rate or ZERO,
        )
        line.take(p)
        line.rounding = rounding

    def change(self, p: Portion) -> None:
        check = self.data.checks[p.scope_check_id]
        rate = self.data.rate(p)
        rounding = self.data.rounding(p)
        # At the actual time: a line per rate and rounding in force on the work
        # dates. At the estimate: one line (the estimate is charged once).
        estimate = check.bill_as == ScopeCheck.BillAs.ESTIMATE
        line = self.line(
            ("change", check.pk) if estimate else ("change", check.pk, rate, rounding),
            kind=Kind.CHANGE,
            description=f"Approved change on {self.data.ticket_label(p.ticket_id)}",
            currency=self.currency(p.contract_id),
            contract_id=p.contract_id,
            ticket_id=p.ticket_id,
            scope_check_id=check.pk,
            unit=InvoiceLine.Unit.HOURS,
            unit_price=rate or ZERO,
        )
        line.take(p)
        line.rounding = rounding

    def write_off(self, p: Portion) -> None:
        line = self.line(
            ("write_off", p.contract_id, p.ticket_id),
            kind=Kind.WRITE_OFF,
            description=f"Written off: {self.data.ticket_label(p.ticket_id)}",
            currency=self.currency(p.contract_id),
            contract_id=p.contract_id,
            ticket_id=p.ticket_id,
            unit=InvoiceLine.Unit.HOURS,
            computation="Not billed: written off (see the decision's reason)",
        )
        line.take(p)

    def included(self, p: Portion, contract_id: int | None, kind: str = Kind.INCLUDED,
                 minutes: int | None = None) -> None:  # fmt: skip
        words = "drawn from the block" if kind == Kind.BLOCK_DRAWDOWN else "included"
        line = self.line(
            (kind, contract_id, p.ticket_id),
            kind=kind,
            description=f"{self.data.ticket_label(p.ticket_id)} ({words})",
            currency=self.currency(contract_id),
            contract_id=contract_id,
            ticket_id=p.ticket_id,
            unit=InvoiceLine.Unit.HOURS,
            computation=f"Covered by the contract: {words}, not charged",
        )
        line.take(p, minutes)

    def overage(self, p: Portion, contract: Contract, minutes: int, where: str) -> None:
        rate = self.data.overage_rate(contract.pk, p.work_date)
        line = self.line(
            ("overage", contract.pk, p.ticket_id, rate),
            kind=Kind.OVERAGE,
            description=f"{self.data.ticket_label(p.ticket_id)} (past {where})",
            currency=contract.currency,
            contract_id=contract.pk,
            ticket_id=p.ticket_id,
            unit=InvoiceLine.Unit.HOURS,
            unit_price=rate or ZERO,
        )
        line.take(p, minutes)

    def retainer_drawdown(self, contract: Contract, portions: list[Portion]) -> None:
        start, end = contract_period(contract.period, self.data.month)
        period_days = (end - start).days
        allowance = sum(
            share_minutes(terms.included_minutes, days, period_days)
            for terms, _, _, days in self.data.segments(contract, start, end)
        )
        used = sum(m for _, m in self.data.prior.get(contract.pk, ()))
        u = self.usage_of(contract)
        u.allowance = allowance
        for p in portions:
            within = max(min(p.minutes, allowance - used), 0)
            if within:
                self.included(p, contract.pk, minutes=within)
            if p.minutes - within:
                self.overage(p, contract, p.minutes - within, "the period's allowance")
                u.overage += p.minutes - within
            used += p.minutes
        u.used = used

    def block_drawdown(self, contract: Contract, portions: list[Portion]) -> None:
        """FIFO over the top-ups: each day first expires what is due, then draws."""
        buckets = [
            [t.added_on, t.expires_on, t.minutes] for t in self.data.top_ups.get(contract.pk, [])
        ]
        month, end = self.data.month, self.data.end
        u = self.usage_of(contract)
        events = [(d, m, None) for d, m in self.data.prior.get(contract.pk, ())]
        events += [(p.work_date, p.minutes, p) for p in portions]
        # Expire what is due by the month's last day.
        events.append((end - datetime.timedelta(days=1), 0, None))

        def expire(day):  # ``expires_on`` is the first day a top-up can't be drawn on
            for b in buckets:
                if b[1] is not None and b[1] <= day and b[2]:
                    if b[1] >= month:
                        u.expired += b[2]
                    b[2] = 0

        for day, minutes, p in events:
            expire(day)
            left = minutes
            for b in buckets:
                if not left:
                    break
                if b[0] <= day and b[2]:
                    take = min(b[2], left)
                    b[2] -= take
                    left -= take
                    if p is not None:
                        self.included(p, contract.pk, kind=Kind.BLOCK_DRAWDOWN, minutes=take)
            if p is not None:
                u.used += minutes
                if left:
                    self.overage(p, contract, left, "the block's balance")
                    u.overage += left
        u.balance = sum(b[2] for b in buckets if b[0] < end)
        u.allowance = u.balance + u.used - u.overage

    def adjustments(self) -> None:
        for a in self.data.adjustments.get(self.client_id, []):
            corrects = f" (corrects {a.corrects.month:%Y-%m})" if a.corrects_id else ""
            line = self.line(
                ("adjustment", a.pk),
                kind=Kind.ADJUSTMENT,
                description=f"Adjustment: {a.description}{corrects}",
                currency=a.currency,
                contract_id=a.contract_id,
                quantity=Decimal(1),
                unit_price=a.amount,
                amount=a.amount,
                computation=f"Entered with the reason: {a.reason}"[:300],
            )
            line.sources["adjustments"].add(a.pk)

    # --- amounts ----------------------------------------------------------------------------
    def finish(self) -> list[Line]:
        month = self.data.month
        for line in self.lines.values():
            if line.kind in (Kind.TIME, Kind.CHANGE):
                increment, minimum = line.rounding
                line.billed_minutes = sum(
                    billed_minutes(m, increment=increment, minimum=minimum)
                    for m in line.per_entry.values()
                )
                rule = (
                    f"per entry rounded up to {increment} min"
                    + (f", at least {minimum} min" if minimum else "")
                    if increment > 1 or minimum
                    else "per entry as logged"
                )
                if line.kind == Kind.CHANGE:
                    check = self.data.checks[line.scope_check_id]
                    if check.bill_as == ScopeCheck.BillAs.ESTIMATE:
                        self._estimate(line, check, month)
                        continue
                line.quantity = hours(line.billed_minutes)
                line.amount = time_amount(line.billed_minutes, line.unit_price)
                line.computation = (
                    f"{line.minutes} min logged, {line.billed_minutes} min charged ({rule});"
                    f" {line.billed_minutes} min × {line.unit_price}/h = {line.amount}"
                )
            elif line.kind == Kind.OVERAGE:
                line.billed_minutes = line.minutes
                line.quantity = hours(line.minutes)
                line.amount = time_amount(line.minutes, line.unit_price)
                line.computation = (
                    f"{line.minutes} min past what the contract covers × {line.unit_price}/h"
                    f" = {line.amount}"
                )
            elif line.kind in (Kind.INCLUDED, Kind.BLOCK_DRAWDOWN, Kind.WRITE_OFF):
                line.quantity = hours(line.minutes)
        # Within a contract, kind and ticket: the order the lines were made in
        # (fee segments by date, unit bands low to high, work by date) — the
        # sort is stable; their descriptions would put "units 11–50" before
        # "units 1–10".
        return sorted(
            self.lines.values(),
            key=lambda line: (
                line.contract_id is None,
                line.contract_id or 0,
                KIND_ORDER[line.kind],
                self.data.tickets.get(line.ticket_id, (0,))[0] if line.ticket_id else 0,
            ),
        )

    def _estimate(self, line: Line, check: ScopeCheck, month: datetime.date) -> None:
        first = self.data.check_first_work.get(check.pk)
        past = max(line.minutes - check.estimate_minutes, 0)
        if first is not None and first >= month:
            line.billed_minutes = check.estimate_minutes
            line.quantity = hours(check.estimate_minutes)
            line.amount = time_amount(check.estimate_minutes, line.unit_price)
            line.computation = (
                f"At the approved estimate: {check.estimate_minutes} min × {line.unit_price}/h"
                f" = {line.amount}; {line.minutes} min logged this month"
                + (f", {past} min past the estimate" if past else "")
            )
        else:
            line.billed_minutes = 0
            line.quantity = ZERO
            line.amount = ZERO
            line.computation = (
                f"{line.minutes} min logged under a change already charged at its estimate"
                + (f" in {first:%Y-%m}" if first else "")
            )


def price_month(
    *, organization: Organization, month: datetime.date, client_ids=None
) -> dict[int, ClientCharges]:
    """Every client's charges for ``month`` (or only ``client_ids``'s)."""
    data = MonthData(organization, month, client_ids)
    by_client: dict[int, list[Portion]] = defaultdict(list)
    for p in data.portions:
        by_client[p.client_id].append(p)
    clients = set(by_client) | {c.client_id for c in data.contracts.values()}
    clients |= set(data.adjustments)
    if client_ids is not None:
        clients &= set(client_ids)
    return {
        client_id: ClientPricer(data, client_id, by_client.get(client_id, [])).price()
        for client_id in sorted(clients)
    }


def price_client_month(*, client, month: datetime.date) -> ClientCharges:
    """One client's charges for ``month``."""
    charges = price_month(organization=client.organization, month=month, client_ids=[client.pk])
    return charges.get(client.pk) or ClientCharges.empty(client.pk, month)
