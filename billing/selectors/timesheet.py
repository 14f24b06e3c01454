"""A person's week of logged time: the timesheet grid.

Rows are the tickets the person logged time on in the week (and any the page
asked to add), columns the seven days of the practice's week (its own first
day, ``Organization.week_start``), cells the minutes of that ticket-day.
Totals go per day, per row and per billing meaning, from the portions that
give each minute its meaning (``EntryPortion``):

- ``included``: included in the contract;
- ``billable``: billed;
- ``waiting``: no decision yet, waiting for approval, or decided unclear;
- ``excluded``: written off (not billed).

A week is named by its ISO week (``2026-W49``): the practice's week that
holds that ISO week's Monday, so a week starting on Sunday 29 November 2026
is ``2026-W49`` too. Two queries whatever the week holds."""

import datetime
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from msops.calendar import FIRST_YEAR, LAST_YEAR
from msops.tenancy.models import Membership, Organization
from msops.timezones import organization_today
from tickets.models import Ticket, TimeEntry
from tickets.selectors import ticket_assignee_choices

from ..models import EntryPortion

Status = TimeEntry.BillingStatus
DAYS = 7
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")

# The meanings the totals add up by: (key, label, billing statuses).
STATUS_GROUPS: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("included", "Included", frozenset({Status.INCLUDED})),
    ("billable", "Billable", frozenset({Status.BILLABLE})),
    (
        "waiting",
        "Waiting (decision or approval)",
        frozenset({Status.UNDECIDED, Status.PENDING_APPROVAL, Status.UNCLEAR}),
    ),
    ("excluded", "Excluded (written off)", frozenset({Status.NON_BILLABLE})),
)
_GROUP_OF = {status: key for key, _, statuses in STATUS_GROUPS for status in statuses}


@dataclass(frozen=True)
class Week:
    """The practice's week that starts on ``start``."""

    start: datetime.date

    @property
    def days(self) -> list[datetime.date]:
        return [self.start + datetime.timedelta(days=i) for i in range(DAYS)]

    @property
    def end(self) -> datetime.date:
        """The week's last day."""
        return self.start + datetime.timedelta(days=DAYS - 1)

    @property
    def label(self) -> str:
        """``2026-W49``: the ISO week of the Monday in this week."""
        monday = self.start + datetime.timedelta(days=-self.start.weekday() % 7)
        year, number, _ = monday.isocalendar()
        return f"{year}-W{number:02d}"

    @property
    def previous(self) -> "Week":
        return Week(self.start - datetime.timedelta(days=DAYS))

    @property
    def next(self) -> "Week":
        return Week(self.start + datetime.timedelta(days=DAYS))


def week_of(organization: Organization, day: datetime.date) -> Week:
    """The practice's week holding ``day``."""
    return Week(day - datetime.timedelta(days=(day.weekday() - organization.week_start) % 7))


def week_parse(organization: Organization, value: str | None) -> Week | None:
    """``2026-W49`` → that week of the practice; nothing → the current week;
    None when ``value`` is not a week (or its year is outside 1900–9998)."""
    text = (value or "").strip().upper()
    if not text:
        return week_of(organization, organization_today(organization))
    match = _WEEK.match(text)
    if not match:
        return None
    year, number = int(match[1]), int(match[2])
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return None
    try:
        monday = datetime.date.fromisocalendar(year, number, 1)
    except ValueError:
        return None
    return week_of(organization, monday)


@dataclass
class Cell:
    ticket_id: int
    day: datetime.date
    minutes: int = 0
    entries: int = 0
    locked: bool = False
    future: bool = False

    @property
    def several(self) -> bool:
        return self.entries > 1

    @property
    def key(self) -> str:
        """Names the cell in the page (``12-20261207``)."""
        return f"{self.ticket_id}-{self.day:%Y%m%d}"


@dataclass
class Row:
    ticket: Ticket
    cells: list[Cell]

    @property
    def total(self) -> int:
        return sum(cell.minutes for cell in self.cells)


@dataclass
class StatusTotal:
    key: str
    label: str
    days: list[int]

    @property
    def total(self) -> int:
        return sum(self.days)


@dataclass
class Timesheet:
    person: Membership
    week: Week
    rows: list[Row]
    status_totals: list[StatusTotal] = field(default_factory=list)

    @property
    def day_totals(self) -> list[int]:
        return [sum(row.cells[i].minutes for row in self.rows) for i in range(DAYS)]

    @property
    def total(self) -> int:
        return sum(row.total for row in self.rows)

    def row(self, ticket_id: int) -> Row | None:
        return next((row for row in self.rows if row.ticket.pk == ticket_id), None)


def timesheet(
    *,
    organization: Organization,
    person: Membership,
    week: Week,
    extra_tickets: Iterable[Ticket] = (),
) -> Timesheet:
    """``person``'s ``week``: a row per ticket they logged time on (and per
    ticket of ``extra_tickets``, empty until time is logged), by number."""
    days = week.days
    index = {day: i for i, day in enumerate(days)}
    today = organization_today(organization)
    entries = list(
        TimeEntry.objects.filter(
            organization=organization,
            person=person,
            work_date__gte=week.start,
            work_date__lte=week.end,
        )
        .select_related("ticket")
        .only("ticket", "work_date", "minutes", "locked", "billing_status")
    )
    tickets: dict[int, Ticket] = {ticket.pk: ticket for ticket in extra_tickets}
    for entry in entries:
        tickets.setdefault(entry.ticket_id, entry.ticket)
    cells = {
        pk: [Cell(ticket_id=pk, day=day, future=day > today) for day in days] for pk in tickets
    }
    for entry in entries:
        cell = cells[entry.ticket_id][index[entry.work_date]]
        cell.minutes += entry.minutes
        cell.entries += 1
        cell.locked = cell.locked or entry.locked

    # Each minute's meaning from its portion; minutes of an entry without
    # portions (kept from before them) by the entry's own status.
    by_status: dict[str, list[int]] = defaultdict(lambda: [0] * DAYS)
    covered: dict[int, int] = defaultdict(int)
    day_of = {entry.pk: index[entry.work_date] for entry in entries}
    portions = (
        EntryPortion.objects.filter(
            organization=organization, entry_id__in=list(day_of)
        ).values_list("entry_id", "status", "minutes")
        if day_of
        else []
    )
    for entry_id, status, minutes in portions:
        by_status[_GROUP_OF.get(status, "waiting")][day_of[entry_id]] += minutes
        covered[entry_id] += minutes
    for entry in entries:
        rest = entry.minutes - covered[entry.pk]
        if rest > 0:
            group = _GROUP_OF.get(entry.billing_status, "waiting")
            by_status[group][day_of[entry.pk]] += rest

    rows = [
        Row(ticket=ticket, cells=cells[pk])
        for pk, ticket in sorted(tickets.items(), key=lambda item: item[1].number)
    ]
    status_totals = [
        StatusTotal(key=key, label=label, days=list(by_status[key]))
        for key, label, _ in STATUS_GROUPS
    ]
    return Timesheet(person=person, week=week, rows=rows, status_totals=status_totals)


def timesheet_ticket_choices(*, organization: Organization, person: Membership) -> QuerySet:
    """The open tickets assigned to ``person``, by number: what the "add a
    ticket" row offers."""
    return (
        Ticket.objects.filter(
            organization=organization, assignee=person, status__in=Ticket.OPEN_STATUSES
        )
        .only("number", "title")
        .order_by("number")
    )


def timesheet_tickets(
    *, organization: Organization, ids: Iterable[int] = (), numbers: Iterable[int] = ()
) -> QuerySet[Ticket]:
    """The practice's tickets with these ids or numbers, by number: rows a
    sheet adds, a cell's ticket."""
    return Ticket.objects.filter(
        Q(pk__in=list(ids)) | Q(number__in=list(numbers)), organization=organization
    ).order_by("number")


def timesheet_person_choices(*, organization: Organization) -> QuerySet[Membership]:
    """The people who log time, by name: whose timesheet a manager can open."""
    return ticket_assignee_choices(organization=organization)
