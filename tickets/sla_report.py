"""The service-level report: how a contract, a client or the whole practice
kept its response and resolution targets over a period, in a few flat queries.

Definitions (one home; the page, the CSV and the API read them from here):

- ``opened``: tickets opened in [start, end); ``closed``: resolved in it.
  A ticket keeps only its latest resolution (reopening clears
  ``resolved_at``), so "closed" and the resolution figures count a ticket's
  latest resolution, as helpdesks' "full resolution" measure does: a ticket
  resolved in the period and reopened after it leaves that period's closed
  count (and its resolution figures) until it is resolved again. The time
  a reopened ticket sat resolved is a pause on its clock.
- Response: over tickets first responded to in the period that had a
  ``first_response_due``; met when ``first_responded_at <= first_response_due``.
  Resolution likewise over tickets resolved in the period with a
  ``resolution_due``. Median and p90 (linear interpolation, PostgreSQL's
  ``percentile_cont``) of the SLA-clock minutes (``response_minutes`` /
  ``resolution_minutes``) of those same tickets, rounded half up to whole
  minutes; tickets whose clock minutes are empty are left out of them.
- Breaches: answered or resolved late in the period; and tickets open at the
  end of the period (or now, when the period has not ended) whose due passed
  by then without a response / resolution, unless paused then by a pause
  that began before that due (a later pause hides no breach). Minutes late
  are wall-clock minutes (not SLA-clock minutes), rounded up.
- ``reopened``: tickets whose last reopening fell in the period (a ticket
  reopened twice in it counts once); ``reopen_rate`` = reopened / closed, %.
- Backlog: tickets opened before the end and not resolved by it (resolution
  time empty or at/after the end). A ticket reopened after an earlier
  resolution carries only its latest resolution time, so it counts as open
  from its opening: an approximation. Ages in days at the end of the period,
  or now when the period has not ended.
- ``pauses_minutes``: SLA-clock minutes of the pauses that ended in the period.

The dates are days in the practice's timezone; [start, end) runs from
midnight of ``start`` to midnight of ``end`` there."""

from __future__ import annotations

import dataclasses
import datetime
import math
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import (
    Aggregate,
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    Min,
    OuterRef,
    Q,
    Sum,
)
from django.utils import timezone

from msops.calendar import add_months, parse_period
from msops.tenancy.models import Organization
from msops.timezones import organization_today

from .models import Ticket, TicketPause

BREACHES_SHOWN = 200  # the breaches list is capped; ``breach_count`` has them all
RESPONSE, RESOLUTION = "response", "resolution"


@dataclasses.dataclass(frozen=True)
class Breach:
    ticket_id: int
    number: int
    title: str
    kind: str  # "response" or "resolution"
    due: datetime.datetime
    done_at: datetime.datetime | None  # None: still not done at the end of the period
    minutes_late: int  # wall-clock minutes, rounded up


@dataclasses.dataclass(frozen=True)
class SLAReport:
    start: datetime.date
    end: datetime.date  # exclusive
    opened: int
    closed: int
    response_total: int
    response_met: int
    response_pct: Decimal | None
    resolution_total: int
    resolution_met: int
    resolution_pct: Decimal | None
    response_median: int | None
    response_p90: int | None
    resolution_median: int | None
    resolution_p90: int | None
    reopened: int
    reopen_rate: Decimal | None
    backlog: int
    backlog_median_age_days: Decimal | None
    backlog_oldest_days: Decimal | None
    breaches: list[Breach]
    pauses_minutes: int
    breach_count: int = 0  # all breaches; ``breaches`` holds the first BREACHES_SHOWN
    as_of: datetime.datetime | None = None  # the moment backlog ages are measured at

    @property
    def breaches_truncated(self) -> bool:
        return self.breach_count > len(self.breaches)

    def for_the_client(self, *, breaches: int = BREACHES_SHOWN) -> dict:
        """The figures a client may read, as plain values (the client view and
        the review pack): counts, shares, medians and percentiles, the
        backlog, and the first ``breaches`` breaches by ticket number and title."""
        return {
            "opened": self.opened,
            "closed": self.closed,
            "response_total": self.response_total,
            "response_met": self.response_met,
            "response_pct": self.response_pct,
            "response_median": self.response_median,
            "response_p90": self.response_p90,
            "resolution_total": self.resolution_total,
            "resolution_met": self.resolution_met,
            "resolution_pct": self.resolution_pct,
            "resolution_median": self.resolution_median,
            "resolution_p90": self.resolution_p90,
            "reopened": self.reopened,
            "reopen_rate": self.reopen_rate,
            "backlog": self.backlog,
            "backlog_oldest_days": self.backlog_oldest_days,
            "breach_count": self.breach_count or len(self.breaches),
            "breaches": [
                {
                    "number": b.number,
                    "title": b.title,
                    "kind": b.kind,
                    "due": b.due,
                    "done_at": b.done_at,
                    "minutes_late": b.minutes_late,
                }
                for b in self.breaches[:breaches]
            ],
        }


class PercentileCont(Aggregate):
    """PostgreSQL's ``percentile_cont(fraction) WITHIN GROUP (ORDER BY expr)``."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


def percentile_cont(values, fraction: float) -> float | None:
    """What ``percentile_cont`` gives for ``values`` (Nones left out):
    linear interpolation between the two closest ranks."""
    ordered = sorted(v for v in values if v is not None)
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _quarter(day: datetime.date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def period_presets(today: datetime.date) -> list[tuple[str, str]]:
    """The periods people ask for most, as (label, period text) around ``today``."""
    month = today.replace(day=1)
    return [
        ("This month", f"{month:%Y-%m}"),
        ("Last month", f"{add_months(month, -1):%Y-%m}"),
        ("This quarter", _quarter(month)),
        ("Last quarter", _quarter(add_months(month, -3))),
        ("This year", f"{month.year}"),
    ]


def sla_report_period(
    value: str | None, *, organization: Organization
) -> tuple[datetime.date, datetime.date] | None:
    """``value`` as a period (:func:`msops.calendar.parse_period`); nothing
    given is this month in the practice's timezone; None when it is no period."""
    if not (value or "").strip():
        today = organization_today(organization)
        return parse_period(f"{today:%Y-%m}")
    return parse_period(value)


def _whole(value: float | None) -> int | None:
    if value is None:
        return None
    return int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _pct(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def _days(seconds: float | None) -> Decimal | None:
    if seconds is None:
        return None
    return (Decimal(str(seconds)) / 86400).quantize(Decimal("0.1"), ROUND_HALF_UP)


def _minutes_late(due: datetime.datetime, done: datetime.datetime) -> int:
    return max(0, math.ceil((done - due).total_seconds() / 60))


def _midnight(day: datetime.date, organization: Organization) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=organization.tzinfo)


def sla_report_tickets(*, organization: Organization, contract=None, client=None):
    """The tickets a report covers: the contract's, the client's or all."""
    tickets = Ticket.objects.filter(organization=organization)
    if contract is not None:
        tickets = tickets.filter(contract=contract)
    if client is not None:
        tickets = tickets.filter(client=client)
    return tickets


def sla_report(
    *,
    organization: Organization,
    start: datetime.date,
    end: datetime.date,
    contract=None,
    client=None,
) -> SLAReport:
    """The SLA and KPI figures of the scope over [start, end) (see the module's
    docstring), in three queries on PostgreSQL (four on SQLite)."""
    start_at, end_at = _midnight(start, organization), _midnight(end, organization)
    now = timezone.now()
    as_of = min(end_at, now)
    tickets = sla_report_tickets(organization=organization, contract=contract, client=client)

    def within(field: str) -> Q:
        return Q(**{f"{field}__gte": start_at, f"{field}__lt": end_at})

    responded = within("first_responded_at") & Q(first_response_due__isnull=False)
    resolved = within("resolved_at") & Q(resolution_due__isnull=False)
    response_late = responded & Q(first_responded_at__gt=F("first_response_due"))
    resolution_late = resolved & Q(resolved_at__gt=F("resolution_due"))
    backlog = Q(opened_at__lt=end_at) & (Q(resolved_at__isnull=True) | Q(resolved_at__gte=end_at))

    # Open at the end with the due passed by then, not paused then by a
    # pause that began before the due (a later pause hides no breach).
    def paused_before(due: str) -> Exists:
        return Exists(
            TicketPause.objects.filter(
                organization=organization,
                ticket=OuterRef("pk"),
                started_at__lt=as_of,
            )
            .filter(started_at__lt=OuterRef(due))
            .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=as_of))
        )

    response_open = (
        backlog
        & Q(first_response_due__lt=as_of)
        & (Q(first_responded_at__isnull=True) | Q(first_responded_at__gte=end_at))
        & ~paused_before("first_response_due")
    )
    resolution_open = backlog & Q(resolution_due__lt=as_of) & ~paused_before("resolution_due")
    response_breach = response_late | response_open
    resolution_breach = resolution_late | resolution_open

    postgres = connection.vendor == "postgresql"
    aggregates = {
        "opened": Count("pk", filter=within("opened_at")),
        "closed": Count("pk", filter=within("resolved_at")),
        "response_total": Count("pk", filter=responded),
        "response_met": Count("pk", filter=responded & ~Q(response_late)),
        "resolution_total": Count("pk", filter=resolved),
        "resolution_met": Count("pk", filter=resolved & ~Q(resolution_late)),
        "reopened": Count("pk", filter=within("last_reopened_at")),
        "backlog": Count("pk", filter=backlog),
        "backlog_oldest": Min("opened_at", filter=backlog),
        "response_breaches": Count("pk", filter=response_breach),
        "resolution_breaches": Count("pk", filter=resolution_breach),
    }
    if postgres:
        opened_epoch = Func(
            "opened_at", template="EXTRACT(EPOCH FROM %(expressions)s)", output_field=FloatField()
        )
        aggregates |= {
            "response_median": PercentileCont("response_minutes", 0.5, filter=responded),
            "response_p90": PercentileCont("response_minutes", 0.9, filter=responded),
            "resolution_median": PercentileCont("resolution_minutes", 0.5, filter=resolved),
            "resolution_p90": PercentileCont("resolution_minutes", 0.9, filter=resolved),
            "backlog_median_opened": PercentileCont(opened_epoch, 0.5, filter=backlog),
        }
    figures = tickets.aggregate(**aggregates)

    if not postgres:
        # SQLite has no percentile_cont: the same figures from the values.
        rows = list(
            tickets.filter(responded | resolved | backlog).values_list(
                "response_minutes",
                "resolution_minutes",
                "opened_at",
                "first_responded_at",
                "first_response_due",
                "resolved_at",
                "resolution_due",
            )
        )

        def counted_response(r):
            return r[4] is not None and r[3] is not None and start_at <= r[3] < end_at

        def counted_resolution(r):
            return r[6] is not None and r[5] is not None and start_at <= r[5] < end_at

        responses = [r[0] for r in rows if counted_response(r)]
        resolutions = [r[1] for r in rows if counted_resolution(r)]
        waiting = [
            r[2].timestamp() for r in rows if r[2] < end_at and (r[5] is None or r[5] >= end_at)
        ]
        figures |= {
            "response_median": percentile_cont(responses, 0.5),
            "response_p90": percentile_cont(responses, 0.9),
            "resolution_median": percentile_cont(resolutions, 0.5),
            "resolution_p90": percentile_cont(resolutions, 0.9),
            "backlog_median_opened": percentile_cont(waiting, 0.5),
        }

    breach_count = figures["response_breaches"] + figures["resolution_breaches"]
    breaches: list[Breach] = []
    if breach_count:
        flagged = (
            tickets.filter(response_breach | resolution_breach)
            .annotate(
                is_response_breach=ExpressionWrapper(response_breach, BooleanField()),
                is_resolution_breach=ExpressionWrapper(resolution_breach, BooleanField()),
            )
            .order_by("number")
            .values_list(
                "pk",
                "number",
                "title",
                "first_response_due",
                "first_responded_at",
                "resolution_due",
                "resolved_at",
                "is_response_breach",
                "is_resolution_breach",
            )[:BREACHES_SHOWN]
        )
        for pk, number, title, r_due, r_at, s_due, s_at, r_flag, s_flag in flagged:
            for kind, flag, due, done in (
                (RESPONSE, r_flag, r_due, r_at),
                (RESOLUTION, s_flag, s_due, s_at),
            ):
                if not flag:
                    continue
                if done is not None and not start_at <= done < end_at:
                    done = None  # not done by the end of the period
                breaches.append(
                    Breach(
                        ticket_id=pk,
                        number=number,
                        title=title,
                        kind=kind,
                        due=due,
                        done_at=done,
                        minutes_late=_minutes_late(due, done or as_of),
                    )
                )
        breaches = breaches[:BREACHES_SHOWN]

    pauses = TicketPause.objects.filter(
        organization=organization,
        ticket__in=tickets,
        ended_at__gte=start_at,
        ended_at__lt=end_at,
    ).aggregate(minutes=Sum("business_minutes"))

    oldest = figures["backlog_oldest"]
    median_opened = figures["backlog_median_opened"]
    return SLAReport(
        start=start,
        end=end,
        opened=figures["opened"],
        closed=figures["closed"],
        response_total=figures["response_total"],
        response_met=figures["response_met"],
        response_pct=_pct(figures["response_met"], figures["response_total"]),
        resolution_total=figures["resolution_total"],
        resolution_met=figures["resolution_met"],
        resolution_pct=_pct(figures["resolution_met"], figures["resolution_total"]),
        response_median=_whole(figures["response_median"]),
        response_p90=_whole(figures["response_p90"]),
        resolution_median=_whole(figures["resolution_median"]),
        resolution_p90=_whole(figures["resolution_p90"]),
        reopened=figures["reopened"],
        reopen_rate=_pct(figures["reopened"], figures["closed"]),
        backlog=figures["backlog"],
        backlog_median_age_days=(
            None if median_opened is None else _days(as_of.timestamp() - float(median_opened))
        ),
        backlog_oldest_days=None if oldest is None else _days((as_of - oldest).total_seconds()),
        breaches=breaches,
        pauses_minutes=pauses["minutes"] or 0,
        breach_count=breach_count,
        as_of=as_of,
    )
