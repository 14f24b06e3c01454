"""Signals for preparing transitions before they happen: what only one
person knows, and how ready each client is to change hands.

- :func:`undocumented_context` (issue 12, item 5): per member who works
  tickets, the traces of context that lives only in their head over the last
  ``WINDOW_DAYS`` days — tickets they resolved with no resolution note, time
  entries with empty or one-word notes, time entered long after the work
  (the late-entry flag's rule: ``Organization.late_entry_days``), and clients
  where they logged most of the time while the brief is stale.
- :func:`transition_health` (item 7): per client not ended, the brief's last
  review, how much of the window's time one person logged, the open items
  nobody can act on (:func:`transitions.ownership.orphaned_counts_by_client`)
  and the open risks.

Both aggregate in SQL and answer in a fixed number of queries, whatever the
number of people, clients, tickets or entries. Days are the organization's:
the window is today and the ``WINDOW_DAYS - 1`` days before it, in its
timezone. Time entries count by their work date; tickets by when they were
resolved (closing sets ``resolved_at`` too; reopening clears it).
"""

import datetime
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from django.db.models import (
    Count,
    DateField,
    ExpressionWrapper,
    F,
    Max,
    Q,
    QuerySet,
    Sum,
    Window,
)
from django.db.models.functions import RowNumber, TruncDate
from django.db.models.lookups import GreaterThan

from clients.models import Client
from msops.tenancy.models import Membership, Organization, Role
from msops.tenancy.roles import MANAGERS
from msops.timezones import organization_today
from tickets.models import Ticket, TimeEntry
from tickets.services import TICKET_WRITERS

from .briefs import BRIEFED_CLIENT_STATUSES, RECENT_DAYS, client_brief_is_stale
from .models import ClientBrief, Risk
from .ownership import orphaned_counts_by_client

WINDOW_DAYS = RECENT_DAYS  # "the last 90 days", as the brief's recent sections
EXAMPLES = 3  # examples shown per signal
MOST_OF_THE_TIME = 50  # percent: a person logging *more* than this holds the client's context
ONE_PERSON = 80  # percent: at or above this, a client's time rests on one person

# Who reads them. Undocumented context is about people, so only those who
# prepare transitions (account managers, admins) see it; transition health is
# about clients, and finance may read it too.
CONTEXT_READERS = MANAGERS
HEALTH_READERS = MANAGERS | {Role.FINANCE}

# --- thin notes: one rule, in Python and in SQL -------------------------------------
# A note is thin when it has at most one word. Words are separated by ASCII
# whitespace, spelled out so that PostgreSQL's regular expressions and
# Python's ``re`` read the same pattern the same way (their ``\s`` differ).
_SPACE = r" \t\n\r\f\v"
THIN_NOTE_PATTERN = rf"[{_SPACE}]*[^{_SPACE}]*[{_SPACE}]*"
THIN_NOTE_Q = Q(notes__regex=rf"^{THIN_NOTE_PATTERN}$")
_THIN_NOTE = re.compile(THIN_NOTE_PATTERN)
BLANK_RESOLUTION_Q = Q(resolution_note__regex=rf"^[{_SPACE}]*$")


def note_is_thin(notes: str) -> bool:
    """Empty, blank, or one word ("done", "fixed."): nothing the next person can use."""
    return _THIN_NOTE.fullmatch(notes) is not None


def late_entry_q(organization: Organization) -> Q:
    """Time entered long after the work, as the late-entry flag decides it
    (billing/flags/tickets.py ``late_entry_sql``): the day it was entered,
    in the organization's timezone, is more than ``late_entry_days`` days
    after its work date."""
    entered_on = TruncDate("entered_at", tzinfo=organization.tzinfo)
    latest_on_time = ExpressionWrapper(
        F("work_date") + datetime.timedelta(days=organization.late_entry_days),
        output_field=DateField(),
    )
    return Q(GreaterThan(entered_on, latest_on_time))


# --- the window ---------------------------------------------------------------------
@dataclass(frozen=True)
class SignalWindow:
    """The last ``WINDOW_DAYS`` days, ``start``..``end`` inclusive, in the
    organization's timezone; ``since`` is the first day's midnight there."""

    start: datetime.date
    end: datetime.date
    since: datetime.datetime

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def signal_window(
    *, organization: Organization, today: datetime.date | None = None
) -> SignalWindow:
    end = today or organization_today(organization)
    start = end - datetime.timedelta(days=WINDOW_DAYS - 1)
    since = datetime.datetime.combine(start, datetime.time.min, tzinfo=organization.tzinfo)
    return SignalWindow(start=start, end=end, since=since)


def _entries(organization: Organization, window: SignalWindow) -> QuerySet[TimeEntry]:
    return TimeEntry.objects.filter(
        organization=organization, work_date__gte=window.start, work_date__lte=window.end
    )


def _shares(organization: Organization, window: SignalWindow) -> dict[int, dict[int, int]]:
    """Per client not ended, the minutes each person logged in the window
    (client id → person id → minutes): one grouped query."""
    rows = (
        _entries(organization, window)
        .exclude(ticket__client__status=Client.Status.ENDED)
        .order_by()
        .values_list("ticket__client_id", "person_id")
        .annotate(minutes=Sum("minutes"))
    )
    shares: dict[int, dict[int, int]] = defaultdict(dict)
    for client_id, person_id, minutes in rows:
        shares[client_id][person_id] = minutes
    return shares


def _clients_with_briefs(organization: Organization) -> list[Client]:
    """Clients not ended, each with its brief (``client.brief``, missing
    when none) and the brief's reviewer, in one query."""
    return list(
        Client.objects.filter(organization=organization)
        .filter(status__in=BRIEFED_CLIENT_STATUSES)
        .select_related("brief__organization", "brief__reviewed_by__user")
        .order_by("name", "pk")
    )


def _brief_of(client: Client) -> ClientBrief | None:
    return getattr(client, "brief", None)  # a missing reverse one-to-one raises AttributeError


# --- undocumented context per person ------------------------------------------------
@dataclass(frozen=True)
class TicketRef:
    pk: int
    number: int


@dataclass(frozen=True)
class ClientRef:
    pk: int
    name: str


@dataclass(frozen=True)
class Signal:
    """How many records show the signal, and a few of them (the latest first)."""

    count: int = 0
    examples: tuple = ()


@dataclass(frozen=True)
class PersonContext:
    person: Membership
    resolved_without_note: Signal  # tickets (examples: tickets)
    thin_notes: Signal  # time entries (examples: their tickets)
    late_entries: Signal  # time entries (examples: their tickets)
    stale_brief_clients: Signal  # clients (examples: clients, largest share first)

    @property
    def total(self) -> int:
        return (
            self.resolved_without_note.count
            + self.thin_notes.count
            + self.late_entries.count
            + self.stale_brief_clients.count
        )


@dataclass(frozen=True)
class UndocumentedContext:
    window: SignalWindow
    late_entry_days: int
    people: list[PersonContext] = field(default_factory=list)


def _ranked(queryset: QuerySet, *, partition: str, order: list) -> QuerySet:
    """Each partition's first ``EXAMPLES`` rows (a window function, one query)."""
    return queryset.annotate(
        rank=Window(RowNumber(), partition_by=F(partition), order_by=order)
    ).filter(rank__lte=EXAMPLES)


def _resolved_without_note(organization, window) -> dict[int, Signal]:
    tickets = Ticket.objects.filter(
        BLANK_RESOLUTION_Q,
        organization=organization,
        status__in=(Ticket.Status.RESOLVED, Ticket.Status.CLOSED),
        resolved_at__gte=window.since,
        assignee__isnull=False,
    ).annotate(total=Window(Count("pk"), partition_by=F("assignee_id")))
    ranked = _ranked(
        tickets, partition="assignee_id", order=[F("resolved_at").desc(), F("pk").desc()]
    ).order_by("assignee_id", "rank")
    found: dict[int, list] = defaultdict(list)
    counts: dict[int, int] = {}
    for person_id, total, pk, number in ranked.values_list("assignee_id", "total", "pk", "number"):
        counts[person_id] = total
        found[person_id].append(TicketRef(pk, number))
    return {person: Signal(counts[person], tuple(found[person])) for person in counts}


def _entry_examples(organization, window, condition: Q) -> dict[int, tuple[TicketRef, ...]]:
    """Per person, the tickets of their latest entries matching ``condition``."""
    tickets = (
        _entries(organization, window)
        .filter(condition)
        .order_by()
        .values("person_id", "ticket_id", "ticket__number")
        .annotate(latest=Max("work_date"))
    )
    ranked = _ranked(
        tickets, partition="person_id", order=[F("latest").desc(), F("ticket_id").desc()]
    ).order_by("person_id", "rank")
    found: dict[int, list] = defaultdict(list)
    for row in ranked:
        found[row["person_id"]].append(TicketRef(row["ticket_id"], row["ticket__number"]))
    return {person: tuple(refs) for person, refs in found.items()}


def _stale_brief_clients(organization, window, today) -> dict[int, Signal]:
    clients = {client.pk: client for client in _clients_with_briefs(organization)}
    held: dict[int, list[tuple[Decimal, ClientRef]]] = defaultdict(list)
    for client_id, minutes_by_person in _shares(organization, window).items():
        client = clients.get(client_id)
        if client is None or not client_brief_is_stale(brief=_brief_of(client), today=today):
            continue
        total = sum(minutes_by_person.values())
        for person_id, minutes in minutes_by_person.items():
            if minutes * 100 > MOST_OF_THE_TIME * total:
                held[person_id].append(
                    (Decimal(minutes) / total, ClientRef(client.pk, client.name))
                )
    return {
        person: Signal(
            len(refs),
            tuple(ref for _, ref in sorted(refs, key=lambda r: (-r[0], r[1].name.casefold())))[
                :EXAMPLES
            ],
        )
        for person, refs in held.items()
    }


def undocumented_context(
    *, organization: Organization, today: datetime.date | None = None
) -> UndocumentedContext:
    """Every active member who works tickets, with their four signals over
    the window, the most to document first. Seven queries, whatever the
    number of people, tickets and entries."""
    window = signal_window(organization=organization, today=today)
    people = list(
        Membership.objects.filter(
            organization=organization, role__in=TICKET_WRITERS, user__is_active=True
        )
        .select_related("user")
        .order_by()
    )
    resolved = _resolved_without_note(organization, window)
    late_q = late_entry_q(organization)
    counts = {
        row["person_id"]: row
        for row in _entries(organization, window)
        .order_by()
        .values("person_id")
        .annotate(thin=Count("pk", filter=THIN_NOTE_Q), late=Count("pk", filter=late_q))
    }
    thin_examples = _entry_examples(organization, window, THIN_NOTE_Q)
    late_examples = _entry_examples(organization, window, late_q)
    held = _stale_brief_clients(organization, window, window.end)

    rows = []
    for person in people:
        entry_counts = counts.get(person.pk, {})
        rows.append(
            PersonContext(
                person=person,
                resolved_without_note=resolved.get(person.pk, Signal()),
                thin_notes=Signal(entry_counts.get("thin", 0), thin_examples.get(person.pk, ())),
                late_entries=Signal(entry_counts.get("late", 0), late_examples.get(person.pk, ())),
                stale_brief_clients=held.get(person.pk, Signal()),
            )
        )
    rows.sort(key=lambda row: (-row.total, _name(row.person).casefold(), row.person.pk))
    return UndocumentedContext(
        window=window, late_entry_days=organization.late_entry_days, people=rows
    )


def _name(person: Membership) -> str:
    return person.user.get_full_name() or person.user.get_username()


# --- transition health per client ---------------------------------------------------
class AtRisk:
    """Why a client's row is highlighted (the API's ``at_risk`` values)."""

    STALE_BRIEF = "stale_brief"
    ONE_PERSON = "one_person"
    ORPHANED_ITEMS = "orphaned_items"

    CHOICES = (
        (STALE_BRIEF, "The brief is stale or missing"),
        (ONE_PERSON, f"One person logged {ONE_PERSON} % or more of the time"),
        (ORPHANED_ITEMS, "Open items without an owner"),
    )


@dataclass(frozen=True)
class ClientHealth:
    client: Client
    brief: ClientBrief | None
    stale: bool  # never reviewed, reviewed more than 30 days ago, or no brief
    logged_minutes: int  # by everyone, in the window
    top_person: Membership | None  # who logged the most (None: no time)
    top_minutes: int
    orphaned_items: int
    open_risks: int  # not closed (open or mitigated)

    @property
    def top_share(self) -> Decimal | None:
        """The top person's share of the minutes, in percent, one decimal,
        rounded down (so 79.99 % never reads as 80 %)."""
        if not self.logged_minutes:
            return None
        share = Decimal(self.top_minutes * 100) / self.logged_minutes
        return share.quantize(Decimal("0.1"), rounding=ROUND_DOWN)

    @property
    def one_person(self) -> bool:
        return bool(self.logged_minutes) and self.top_minutes * 100 >= ONE_PERSON * (
            self.logged_minutes
        )

    @property
    def at_risk(self) -> list[str]:
        reasons = []
        if self.stale:
            reasons.append(AtRisk.STALE_BRIEF)
        if self.one_person:
            reasons.append(AtRisk.ONE_PERSON)
        if self.orphaned_items:
            reasons.append(AtRisk.ORPHANED_ITEMS)
        return reasons

    @property
    def at_risk_labels(self) -> list[str]:
        labels = dict(AtRisk.CHOICES)
        return [labels[reason] for reason in self.at_risk]


@dataclass(frozen=True)
class TransitionHealth:
    window: SignalWindow
    clients: list[ClientHealth] = field(default_factory=list)
    orphaned_without_client: int = 0  # orphaned items of no client (e.g. a flag of none)

    @property
    def at_risk_count(self) -> int:
        return sum(1 for row in self.clients if row.at_risk)


def transition_health(
    *, organization: Organization, today: datetime.date | None = None
) -> TransitionHealth:
    """Every client not ended, by name, with its transition health. A fixed
    number of queries: the clients with their briefs, the minutes per client
    and person, the top people's names, the open risks, and the orphaned
    items (one query per kind of item, see transitions/ownership.py)."""
    window = signal_window(organization=organization, today=today)
    clients = _clients_with_briefs(organization)
    shares = _shares(organization, window)
    tops: dict[int, tuple[int, int, int]] = {}  # client → (person, minutes, total)
    for client_id, minutes_by_person in shares.items():
        person_id, minutes = min(minutes_by_person.items(), key=lambda item: (-item[1], item[0]))
        tops[client_id] = (person_id, minutes, sum(minutes_by_person.values()))
    top_people = (
        Membership.objects.filter(
            organization=organization, pk__in={person for person, _, _ in tops.values()}
        )
        .select_related("user")
        .order_by()
    )
    names = {person.pk: person for person in top_people}
    risks = dict(
        Risk.objects.filter(organization=organization)
        .exclude(status=Risk.Status.CLOSED)
        .order_by()
        .values_list("client_id")
        .annotate(n=Count("pk"))
    )
    orphaned = orphaned_counts_by_client(organization=organization)

    rows = []
    for client in clients:
        brief = _brief_of(client)
        person_id, minutes, total = tops.get(client.pk, (None, 0, 0))
        rows.append(
            ClientHealth(
                client=client,
                brief=brief,
                stale=client_brief_is_stale(brief=brief, today=window.end),
                logged_minutes=total,
                top_person=names.get(person_id),
                top_minutes=minutes,
                orphaned_items=orphaned.get(client.pk, 0),
                open_risks=risks.get(client.pk, 0),
            )
        )
    return TransitionHealth(
        window=window, clients=rows, orphaned_without_client=orphaned.get(None, 0)
    )
