"""Insights: where money leaks and where billing questions come from, over a
range of whole months ``[start, end)`` (``end`` exclusive, both first days of
a month). Each series is one set-based aggregate query (GROUP BY month,
client, request type or person) whatever the number of entries: Python only
folds the aggregated rows (a few per month × currency × rate, client or
person), never the entries.

Who sees what (:func:`billing.selectors.finance_pages.money_reach`, the rule
of the finance pages): finance and admins every client; an account manager
only the clients they manage (``Client.account_manager``), in every series —
the people in "late entries" are counted on those clients' work only;
anyone else nothing (the pages answer developers 403 before asking). For an
account manager the aggregates also group by client and only their clients'
rows are kept (:func:`_allowed`): the same plan as finance's, where a filter
on the client inside the query made PostgreSQL walk the tickets one by one.

Series and their exact definitions:

``leakage`` — revenue not billed, per month (of the work date) and currency,
  in three components that never count the same minutes twice. Each is
  minutes of entry portions (``EntryPortion``) priced at *the rate in force*:
  the scope rule's ``rate_override`` if it has one, else the ``hourly_rate``
  of the portion's terms revision (``contract_revision``), as
  :meth:`billing.pricing.engine.MonthData.rate` prices billable time; work no
  contract covers at the organization's ``default_hourly_rate`` in the
  organization's currency. The currency is the portion's contract's (never
  summed across currencies). Amounts are ``pricing.time_amount`` of the
  summed minutes of each (month, component, currency, rate) — half-up to the
  cent once per rate, as a line is (for an account manager, once per rate
  and client: a cent may differ from finance's figure) — then added up. Minutes without a rate
  are counted in ``unpriced_minutes`` and add nothing to the amount.

  - *written off*: portions whose status is ``non_billable`` (written off).
  - *absorbed past thresholds*: portions that ended ``included`` under a
    decision answering a threshold moment (``expected_time_passed``,
    ``approval_threshold_passed`` or ``estimate_passed``): the minutes past
    the expected time / approval threshold / estimate that someone chose to
    absorb (the minutes before it were decided earlier and are not counted).
  - *excluded work not billed*: portions that ended ``included`` although the
    rule's treatment on the work date was ``excluded`` (out of scope, so
    billable at the T&M rate), and are not already absorbed past a threshold.
    Excluded work written off is in *written off*.

``allowance`` — allowance use per client, counted as the allowance alerts
  count it (``billing.thresholds``): the minutes of portions in
  ``ALLOWANCE_STATUSES`` (all work on the contract, decided or not, except
  billable and written off) on contracts of ``ALLOWANCE_KINDS`` (retainers and
  blocks), against the allowance of the range: for a retainer, for each month
  of the range its contract covers on the first day, the ``included_minutes``
  of the terms in force that day (``clients.rules.terms_in_force_sql``) as a
  monthly share (a quarter's ÷ 3, a year's ÷ 12); for a block, the minutes of
  its top-ups added in the range. Percent used is floored, as the alerts'.

``questions`` — billing questions and disputes, per client and per request
  type: *unclear* decisions (``BillingDecision`` classified unclear, decided
  in the range), *overrides* (decision log ``rule_overridden``), *rejected*
  scope checks (decision log ``scope_check_rejected`` and ``client_declined``)
  and weekly *review items* (of review weeks starting in the range, with a
  client or a ticket). Datetimes are placed in months by the organization's
  timezone.

``catch_all`` — per client: minutes logged in the range, of which under a
  catch-all request type (``RequestType.is_catch_all``), their share, and the
  ``catch_all`` exception flags raised in the range.

``late_entries`` — per person: time entries of the range (by work date), of
  which flagged ``late_entry`` (the flag sweep's rule, ``entry:<id>``).

``concentration`` — per client: the share of the client's minutes in the
  range logged by the one person who logged most (ties: the lower membership
  id). Whether the client's brief is stale is a transitions rule
  (``transitions.briefs.client_brief_is_stale``); billing may not import it,
  so the pages and the API fill ``brief_stale`` in.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    F,
    IntegerField,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Substr, TruncMonth

from clients.models import BlockTopUp, Client, Contract, ContractRevision, RequestType, Treatment
from clients.rules import covers_sql, terms_in_force_sql
from msops.calendar import add_months, months_between
from msops.sql import table
from msops.tenancy.models import Membership, Organization
from tickets.models import BillingMoment, Classification, TimeEntry

from ..models import (
    BillingDecision,
    DecisionLogEntry,
    EntryPortion,
    ExceptionFlag,
    ReviewItem,
)
from ..pricing import time_amount
from ..pricing.money import ZERO
from ..thresholds import ALLOWANCE_KINDS, ALLOWANCE_STATUSES
from .finance_pages import MoneyReach, money_reach

Status = TimeEntry.BillingStatus

SERIES = ("leakage", "allowance", "questions", "catch_all", "late_entries", "concentration")
WRITTEN_OFF, ABSORBED, EXCLUDED = "written_off", "absorbed", "excluded"
LEAKAGE_COMPONENTS = (
    (WRITTEN_OFF, "Written off"),
    (ABSORBED, "Absorbed past thresholds"),
    (EXCLUDED, "Excluded work not billed"),
)
THRESHOLD_MOMENTS = (
    BillingMoment.Kind.EXPECTED_TIME_PASSED,
    BillingMoment.Kind.APPROVAL_THRESHOLD_PASSED,
    BillingMoment.Kind.ESTIMATE_PASSED,
)
QUESTION_KINDS = (
    ("unclear", "Unclear decisions"),
    ("overrides", "Rule overrides"),
    ("rejected", "Rejected or declined scope checks"),
    ("review_items", "Review items"),
)
REJECTED_LOG_KINDS = (
    DecisionLogEntry.Kind.SCOPE_CHECK_REJECTED,
    DecisionLogEntry.Kind.CLIENT_DECLINED,
)
PERIOD_MONTHS = {
    Contract.Period.MONTHLY: 1,
    Contract.Period.QUARTERLY: 3,
    Contract.Period.ANNUAL: 12,
}
TOP = 15  # clients / request types / people shown per ranked series
LATE_ENTRY_PREFIX = "entry:"  # a late entry flag's subject (billing/flags/tickets.py)


def _percent(part: int, whole: int) -> Decimal | None:
    """``part`` of ``whole`` in %, half-up to one place (None: nothing to divide)."""
    if not whole:
        return None
    return (Decimal(part) * 100 / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


# --- results ----------------------------------------------------------------------
@dataclass
class LeakageCell:
    minutes: int = 0
    amount: Decimal = ZERO
    unpriced_minutes: int = 0


@dataclass
class LeakageMonth:
    month: datetime.date
    currency: str
    cells: dict[str, LeakageCell] = field(default_factory=dict)  # by component

    @property
    def total(self) -> Decimal:
        return sum((c.amount for c in self.cells.values()), ZERO)


@dataclass(frozen=True)
class AllowanceRow:
    client_id: int
    client: str
    allowance_minutes: int
    used_minutes: int

    @property
    def percent(self) -> int | None:
        """Floored, like ``billing.selectors.home.allowance_alerts``."""
        if not self.allowance_minutes:
            return None
        return min(999, self.used_minutes * 100 // self.allowance_minutes)


@dataclass
class QuestionRow:
    key: int  # client or request type id
    name: str
    counts: dict[str, int] = field(default_factory=dict)  # by QUESTION_KINDS

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class CatchAllRow:
    client_id: int
    client: str
    minutes: int
    catch_all_minutes: int
    flags: int

    @property
    def share(self) -> Decimal | None:
        return _percent(self.catch_all_minutes, self.minutes)


@dataclass(frozen=True)
class LateEntryRow:
    person_id: int
    person: str
    entries: int
    late: int

    @property
    def share(self) -> Decimal | None:
        return _percent(self.late, self.entries)


@dataclass(frozen=True)
class ConcentrationRow:
    client_id: int
    client: str
    minutes: int
    person_id: int
    person: str
    person_minutes: int
    brief_stale: bool | None = None  # filled in by the pages (a transitions rule)

    @property
    def share(self) -> Decimal | None:
        return _percent(self.person_minutes, self.minutes)


@dataclass
class Insights:
    start: datetime.date
    end: datetime.date  # exclusive
    months: list[datetime.date]
    leakage: list[LeakageMonth]
    allowance: list[AllowanceRow]
    questions_by_client: list[QuestionRow]
    questions_by_type: list[QuestionRow]
    catch_all: list[CatchAllRow]
    late_entries: list[LateEntryRow]
    concentration: list[ConcentrationRow]


# --- helpers ----------------------------------------------------------------------
def _bounds(organization: Organization, start: datetime.date, end: datetime.date):
    """The range as aware datetimes: midnight of ``start`` and ``end`` in the
    organization's timezone."""
    tz = organization.tzinfo
    return (
        datetime.datetime.combine(start, datetime.time(), tzinfo=tz),
        datetime.datetime.combine(end, datetime.time(), tzinfo=tz),
    )


def _allowed(organization: Organization, reach: MoneyReach) -> set[int] | None:
    """The ids of the clients ``reach`` reads (None: every client). The series
    aggregate the organization's work the same way for every viewer and keep
    the rows of these clients: a filter on the client inside the aggregate
    makes the planner walk the tickets one by one (seconds at scale)."""
    if reach.every_client:
        return None
    clients = reach.clients_of(Client.objects.filter(organization=organization))
    return set(clients.values_list("pk", flat=True))


def _person_name(first: str, last: str, username: str) -> str:
    name = f"{first} {last}".strip()
    return name or username


def _client_names(organization: Organization, ids) -> dict[int, str]:
    """Names of the few clients a series kept (grouping by id alone keeps
    the name joins off the year's rows)."""
    return dict(
        Client.objects.filter(organization=organization, pk__in=set(ids)).values_list("pk", "name")
    )


def _person_names(organization: Organization, ids) -> dict[int, str]:
    rows = Membership.objects.filter(organization=organization, pk__in=set(ids)).values_list(
        "pk", "user__first_name", "user__last_name", "user__username"
    )
    return {pk: _person_name(first, last, username) for pk, first, last, username in rows}


# --- series -----------------------------------------------------------------------
def leakage_series(
    *, organization: Organization, start: datetime.date, end: datetime.date, reach: MoneyReach
) -> list[LeakageMonth]:
    """Written off, absorbed past thresholds and excluded work not billed, per
    month and currency (see the module's docstring). One query."""
    allowed = _allowed(organization, reach)
    portions = EntryPortion.objects.filter(
        organization=organization,
        work_date__gte=start,
        work_date__lt=end,
        status__in=(Status.NON_BILLABLE, Status.INCLUDED),
    )
    by = ["month", "component", "currency", "rate"]
    if allowed is not None:  # per client too, to keep the viewer's clients' rows
        portions = portions.filter(ticket__organization=organization)
        by.append("ticket__client_id")
    rows = (
        portions.annotate(
            component=Case(
                When(status=Status.NON_BILLABLE, then=Value(WRITTEN_OFF)),
                When(decision__moment__kind__in=THRESHOLD_MOMENTS, then=Value(ABSORBED)),
                When(treatment=Treatment.EXCLUDED, then=Value(EXCLUDED)),
                default=Value(""),
                output_field=CharField(),
            ),
            month=TruncMonth("work_date"),
            currency=Coalesce(
                "contract__currency", Value(organization.currency), output_field=CharField()
            ),
            rate=Case(
                When(
                    contract__isnull=True,
                    then=Value(organization.default_hourly_rate, output_field=DecimalField()),
                ),
                When(scope_rule__rate_override__isnull=False, then=F("scope_rule__rate_override")),
                default=F("contract_revision__hourly_rate"),
                output_field=DecimalField(),
            ),
        )
        .exclude(component="")
        .order_by()
        .values_list(*by)
        .annotate(minutes=Sum("minutes"))
    )
    out: dict[tuple, LeakageMonth] = {}
    for month, component, currency, rate, *client, minutes in rows:
        if allowed is not None and client[0] not in allowed:
            continue
        if isinstance(month, datetime.datetime):
            month = month.date()
        row = out.setdefault((month, currency), LeakageMonth(month=month, currency=currency))
        cell = row.cells.setdefault(component, LeakageCell())
        cell.minutes += minutes
        if rate is None:
            cell.unpriced_minutes += minutes
        else:
            cell.amount += time_amount(minutes, rate)
    for row in out.values():
        for key, _ in LEAKAGE_COMPONENTS:
            row.cells.setdefault(key, LeakageCell())
    return [out[k] for k in sorted(out)]


def allowance_series(
    *, organization: Organization, start: datetime.date, end: datetime.date, reach: MoneyReach
) -> list[AllowanceRow]:
    """Allowance use per client over the range (see the module's docstring):
    one query for the use, one for the retainers' allowance, one for the
    blocks' top-ups."""
    clients = reach.clients_of(Client.objects.filter(organization=organization))
    allowed = _allowed(organization, reach)
    used = {
        client_id: minutes
        for client_id, minutes in EntryPortion.objects.filter(
            organization=organization,
            work_date__gte=start,
            work_date__lt=end,
            status__in=ALLOWANCE_STATUSES,
            contract__kind__in=ALLOWANCE_KINDS,
        )
        .order_by()
        .values_list("contract__client_id")
        .annotate(m=Sum("minutes"))
        if allowed is None or client_id in allowed
    }
    allowance: dict[int, Decimal] = defaultdict(lambda: Decimal(0))
    months = months_between(start, add_months(end, -1))
    if months:
        values = ", ".join(["(%s)"] * len(months))
        shares = " ".join(f"WHEN '{p}' THEN {n}" for p, n in PERIOD_MONTHS.items())
        only = "" if reach.every_client else " AND c.account_manager_id = %s"
        sql = (
            "SELECT k.client_id, SUM(CAST(rv.included_minutes AS NUMERIC)"  # noqa: S608 - tables and constants only
            f" / CASE k.period {shares} ELSE 1 END)"
            f" FROM (VALUES {values}) AS m(d)"
            f" JOIN {table(Contract)} k ON {covers_sql('k', 'm.d')}"
            f" JOIN {table(Client)} c ON c.id = k.client_id"
            f" JOIN {table(ContractRevision)} rv"
            f" ON rv.id = {terms_in_force_sql(contract='k.id', on='m.d')}"
            " WHERE k.organization_id = %s AND k.kind = %s" + only + " GROUP BY k.client_id"
        )
        params: list = [*months, organization.pk, Contract.Kind.RETAINER]
        if not reach.every_client:
            params.append(reach.manager_id or 0)
        with connection.cursor() as cursor:
            cursor.execute(sql.replace("(%s)", "(CAST(%s AS DATE))"), params)
            for client_id, minutes in cursor.fetchall():
                allowance[client_id] += Decimal(minutes)
    for client_id, minutes in (
        BlockTopUp.objects.filter(
            organization=organization,
            added_on__gte=start,
            added_on__lt=end,
            contract__client__in=clients,
        )
        .order_by()
        .values_list("contract__client_id")
        .annotate(m=Sum("minutes"))
    ):
        allowance[client_id] += Decimal(minutes)
    ids = set(used) | set(allowance)
    names = dict(clients.filter(pk__in=ids).values_list("pk", "name")) if ids else {}
    rows = [
        AllowanceRow(
            client_id=pk,
            client=names[pk],
            allowance_minutes=int(allowance[pk].quantize(Decimal(1), rounding=ROUND_HALF_UP)),
            used_minutes=used.get(pk, 0),
        )
        for pk in ids
        if pk in names
    ]
    return sorted(rows, key=lambda r: (-(r.percent or 0), -r.used_minutes, r.client, r.client_id))


def questions_series(
    *, organization: Organization, start: datetime.date, end: datetime.date, reach: MoneyReach
) -> tuple[list[QuestionRow], list[QuestionRow]]:
    """Billing questions and disputes per client and per request type: three
    grouped queries (decisions, decision log, review items) and one for the
    names."""
    lo, hi = _bounds(organization, start, end)
    counts: list[tuple[str, int | None, int | None, int]] = []
    unclear = reach.clients_of(
        BillingDecision.objects.filter(
            organization=organization,
            classification=Classification.UNCLEAR,
            decided_at__gte=lo,
            decided_at__lt=hi,
        ),
        "ticket__client",
    )
    for client_id, type_id, n in (
        unclear.order_by()
        .values_list("ticket__client_id", "ticket__request_type_id")
        .annotate(n=Count("pk"))
    ):
        counts.append(("unclear", client_id, type_id, n))
    log = reach.clients_of(
        DecisionLogEntry.objects.filter(
            organization=organization,
            created_at__gte=lo,
            created_at__lt=hi,
            kind__in=(DecisionLogEntry.Kind.RULE_OVERRIDDEN, *REJECTED_LOG_KINDS),
        ),
        "client",
    )
    for kind, client_id, type_id, n in (
        log.order_by()
        .values_list("kind", "client_id", "ticket__request_type_id")
        .annotate(n=Count("pk"))
    ):
        key = "overrides" if kind == DecisionLogEntry.Kind.RULE_OVERRIDDEN else "rejected"
        counts.append((key, client_id, type_id, n))
    items = ReviewItem.objects.filter(
        organization=organization, queue__week_start__gte=start, queue__week_start__lt=end
    ).annotate(about=Coalesce("client_id", "ticket__client_id"))
    items = items.filter(about__isnull=False)
    if not reach.every_client:
        items = items.filter(
            Q(client__account_manager=reach.manager_id)
            | Q(client__isnull=True, ticket__client__account_manager=reach.manager_id)
        )
    for client_id, type_id, n in (
        items.order_by().values_list("about", "ticket__request_type_id").annotate(n=Count("pk"))
    ):
        counts.append(("review_items", client_id, type_id, n))
    by_client: dict[int, QuestionRow] = {}
    by_type: dict[int, QuestionRow] = {}
    for kind, client_id, type_id, n in counts:
        if client_id is not None:
            row = by_client.setdefault(client_id, QuestionRow(key=client_id, name=""))
            row.counts[kind] = row.counts.get(kind, 0) + n
        if type_id is not None:
            row = by_type.setdefault(type_id, QuestionRow(key=type_id, name=""))
            row.counts[kind] = row.counts.get(kind, 0) + n
    client_names = (
        dict(Client.objects.filter(pk__in=list(by_client)).values_list("pk", "name"))
        if by_client
        else {}
    )
    type_names = (
        dict(RequestType.objects.filter(pk__in=list(by_type)).values_list("pk", "name"))
        if by_type
        else {}
    )
    for rows, names in ((by_client, client_names), (by_type, type_names)):
        for row in rows.values():
            row.name = names.get(row.key, "")
            for kind, _ in QUESTION_KINDS:
                row.counts.setdefault(kind, 0)

    def ranked(rows):
        return sorted(rows.values(), key=lambda r: (-r.total, r.name, r.key))[:TOP]

    return ranked(by_client), ranked(by_type)


def catch_all_series(
    *, organization: Organization, start: datetime.date, end: datetime.date, reach: MoneyReach
) -> list[CatchAllRow]:
    """Per client: minutes, of which under catch-all types (one query), and
    the catch-all flags raised in the range (one query)."""
    clients = reach.clients_of(Client.objects.filter(organization=organization))
    portions = EntryPortion.objects.filter(
        organization=organization,
        work_date__gte=start,
        work_date__lt=end,
        ticket__organization=organization,  # a hash of this organization's tickets only
    )
    allowed = _allowed(organization, reach)
    rows = (
        portions.order_by()
        .values_list("ticket__client_id")
        .annotate(
            m=Sum("minutes"),
            catch_all=Coalesce(
                Sum("minutes", filter=Q(ticket__request_type__is_catch_all=True)), 0
            ),
        )
    )
    lo, hi = _bounds(organization, start, end)
    flags = dict(
        ExceptionFlag.objects.filter(
            organization=organization,
            kind=ExceptionFlag.Kind.CATCH_ALL,
            created_at__gte=lo,
            created_at__lt=hi,
            client__in=clients,
        )
        .order_by()
        .values_list("client_id")
        .annotate(n=Count("pk"))
    )
    kept = [
        (pk, m, c)
        for pk, m, c in rows
        if (c or flags.get(pk)) and (allowed is None or pk in allowed)
    ]
    names = _client_names(organization, (pk for pk, _, _ in kept))
    out = [
        CatchAllRow(
            client_id=pk, client=names[pk], minutes=m, catch_all_minutes=c, flags=flags.get(pk, 0)
        )
        for pk, m, c in kept
    ]
    return sorted(out, key=lambda r: (-(r.share or 0), -r.catch_all_minutes, r.client))[:TOP]


def late_entries_series(
    *, organization: Organization, start: datetime.date, end: datetime.date, reach: MoneyReach
) -> list[LateEntryRow]:
    """Per person: entries of the range and how many of them carry a
    ``late_entry`` flag (subject ``entry:<id>``). One query: the flagged
    entries' ids are a semi-join on the flags, read once."""
    flagged = (
        ExceptionFlag.objects.filter(organization=organization, kind=ExceptionFlag.Kind.LATE_ENTRY)
        .annotate(entry_id=Cast(Substr("subject_key", len(LATE_ENTRY_PREFIX) + 1), IntegerField()))
        .values("entry_id")
    )
    entries = TimeEntry.objects.filter(
        organization=organization, work_date__gte=start, work_date__lt=end
    )
    allowed = _allowed(organization, reach)
    by = ["person_id"]
    if allowed is not None:  # per client too, to count the viewer's clients' work only
        entries = entries.filter(ticket__organization=organization)
        by.append("ticket__client_id")
    rows = (
        entries.order_by()
        .values_list(*by)
        .annotate(n=Count("pk"), late=Count("pk", filter=Q(pk__in=flagged)))
    )
    people: dict[int, list] = {}
    for pk, *client, n, late in rows:
        if allowed is not None and client[0] not in allowed:
            continue
        person = people.setdefault(pk, [0, 0])
        person[0] += n
        person[1] += late
    people = {pk: counts for pk, counts in people.items() if counts[1]}
    names = _person_names(organization, people)
    out = [
        LateEntryRow(person_id=pk, person=names[pk], entries=n, late=late)
        for pk, (n, late) in people.items()
    ]
    return sorted(out, key=lambda r: (-r.late, r.person, r.person_id))[:TOP]


def concentration_series(
    *, organization: Organization, start: datetime.date, end: datetime.date, reach: MoneyReach
) -> list[ConcentrationRow]:
    """Per client: the share of its minutes logged by the person who logged
    most. One query (minutes per client × person), folded per client."""
    allowed = _allowed(organization, reach)
    rows = (
        TimeEntry.objects.filter(
            organization=organization,
            work_date__gte=start,
            work_date__lt=end,
            ticket__organization=organization,
        )
        .order_by()
        .values_list("ticket__client_id", "person_id")
        .annotate(m=Sum("minutes"))
    )
    totals: dict[int, int] = defaultdict(int)
    top: dict[int, tuple[int, int]] = {}
    for client_id, person_id, minutes in rows:
        if allowed is not None and client_id not in allowed:
            continue
        totals[client_id] += minutes
        best = top.get(client_id)
        if best is None or (minutes, -person_id) > (best[1], -best[0]):
            top[client_id] = (person_id, minutes)
    clients = _client_names(organization, top)
    people = _person_names(organization, (person_id for person_id, _ in top.values()))
    out = [
        ConcentrationRow(
            client_id=client_id,
            client=clients[client_id],
            minutes=totals[client_id],
            person_id=person_id,
            person=people[person_id],
            person_minutes=minutes,
        )
        for client_id, (person_id, minutes) in top.items()
    ]
    return sorted(out, key=lambda r: (-(r.share or 0), -r.minutes, r.client))[:TOP]


def insights(
    *,
    organization: Organization,
    start: datetime.date,
    end: datetime.date,
    viewer: Membership,
    only: str | None = None,
) -> Insights:
    """Every series over ``[start, end)`` as ``viewer`` may see them; with
    ``only`` (a series' name, e.g. ``"leakage"``), that one alone (the others
    are left empty, not computed)."""
    reach = money_reach(membership=viewer)
    args = {"organization": organization, "start": start, "end": end, "reach": reach}

    def wanted(*names: str) -> bool:
        return only is None or only in names

    by_client, by_type = (
        questions_series(**args) if wanted("questions_by_client", "questions_by_type") else ([], [])
    )
    return Insights(
        start=start,
        end=end,
        months=months_between(start, add_months(end, -1)) if start < end else [],
        leakage=leakage_series(**args) if wanted("leakage") else [],
        allowance=allowance_series(**args) if wanted("allowance") else [],
        questions_by_client=by_client,
        questions_by_type=by_type,
        catch_all=catch_all_series(**args) if wanted("catch_all") else [],
        late_entries=late_entries_series(**args) if wanted("late_entries") else [],
        concentration=concentration_series(**args) if wanted("concentration") else [],
    )
