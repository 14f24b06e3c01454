"""A start/stop timer on a ticket, kept on the server: one running timer per
person (a membership), so it survives a reload, a closed tab or another
device. Stopping it logs the time through
:func:`~billing.services.time_entries.time_entry_log`, so its minutes get
their billing meaning like any other time:

- the elapsed time is rounded up to the whole minute (at least 1 minute);
- the work date is the practice's date the timer started (a timer running
  past midnight stays on the day it began);
- the idempotency key comes from the timer, so a double stop logs once;
- a timer that ran more than 12 hours is not logged: stopping refuses and
  asks for the time by hand (discard it and log what was worked on the
  ticket), so a timer forgotten overnight never bills the night.

Starting while a timer runs on another ticket refuses, naming that ticket;
``switch=True`` stops it (logging its time) and starts the new one, in one
transaction.

The timesheet's cell (:func:`timesheet_cell_set`) is time as people log it
too: typing a ticket-day's total logs, corrects or removes the person's one
entry there through the same time-entry services (same rules, same errors).
A ticket-day with several entries is refused: they are changed one by one on
the ticket page, where each shows its notes and meaning.
"""

import datetime
import math
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from msops.errors import REFUSED
from msops.tenancy.models import Membership
from msops.timezones import organization_date
from tickets.models import Ticket, TimeEntry, Timer
from tickets.services import LOCKED_MESSAGE, TICKET_WRITERS, LoggedTime

from ._common import require_role
from .time_entries import (
    time_entry_correct,
    time_entry_log,
    time_entry_remove,
    work_date_problems,
)

MAX_TIMER_MINUTES = 12 * 60
NOTE_MAX_LENGTH = 300
NO_TIMER = "No timer is running."


class TimerStarted(NamedTuple):
    """What :func:`timer_start` did: the running timer, with ``switch`` what
    stopping the previous one logged (None when nothing ran before), and
    whether it was already running on that ticket (nothing changed)."""

    timer: Timer
    stopped: LoggedTime | None
    already_running: bool = False


def timer_minutes(timer: Timer, now: datetime.datetime | None = None) -> int:
    """The minutes stopping ``timer`` at ``now`` logs: rounded up, at least 1."""
    seconds = ((now or timezone.now()) - timer.started_at).total_seconds()
    return max(1, math.ceil(seconds / 60))


def _hm(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"


def timer_running_message(timer: Timer, now: datetime.datetime | None = None) -> str:
    """Why a new timer can't start while ``timer`` runs."""
    since = timezone.localtime(timer.started_at, timer.organization.tzinfo)
    elapsed = _hm(max(0, int(((now or timezone.now()) - timer.started_at).total_seconds()) // 60))
    return (
        f"Your timer is running on #{timer.ticket.number} {timer.ticket.title} "
        f"(since {since:%H:%M}, {elapsed}): stop it first, or switch it to this ticket."
    )


def _running(person: Membership) -> Timer | None:
    """The person's timer, locked until the transaction ends."""
    return (
        Timer.objects.select_for_update(of=("self",))
        .select_related("organization", "ticket", "person")
        .filter(organization=person.organization_id, person=person)
        .first()
    )


def _check_person(person: Membership, organization_id: int) -> None:
    require_role(person, TICKET_WRITERS, organization_id)


def _stop(timer: Timer, *, notes: str, now: datetime.datetime | None) -> LoggedTime:
    minutes = timer_minutes(timer, now)
    if minutes > MAX_TIMER_MINUTES:
        since = timezone.localtime(timer.started_at, timer.organization.tzinfo)
        raise ValidationError(
            f"Your timer on #{timer.ticket.number} has run for {_hm(minutes)} h (since "
            f"{since:%a %d %b %H:%M}): more than 12 hours is not logged from a timer. "
            "Discard it and log the time you worked by hand.",
            code=REFUSED,
        )
    logged = time_entry_log(
        ticket=timer.ticket,
        person=timer.person,
        work_date=organization_date(timer.organization, timer.started_at),
        minutes=minutes,
        notes=(notes or "").strip() or timer.note,
        idempotency_key=f"timer-{timer.pk}",
    )
    timer.delete()
    return logged


@transaction.atomic
def timer_start(
    *,
    ticket: Ticket,
    person: Membership,
    switch: bool = False,
    note: str = "",
    now: datetime.datetime | None = None,
) -> TimerStarted:
    """Start ``person``'s timer on ``ticket``. Already running there: that
    timer, unchanged. Running on another ticket: refused with its ticket's
    number, unless ``switch`` (the old one is stopped and its time logged)."""
    if ticket.organization_id != person.organization_id:
        raise ValidationError({"ticket": "Choose a ticket of this organization."})
    _check_person(person, ticket.organization_id)
    note = (note or "").strip()
    if len(note) > NOTE_MAX_LENGTH:
        raise ValidationError({"note": f"A timer's note has at most {NOTE_MAX_LENGTH} characters."})
    running = _running(person)
    stopped = None
    if running is not None and running.ticket_id == ticket.pk:
        return TimerStarted(running, None, already_running=True)
    # Work that needs a reason to be logged (no contract covers today) can't
    # be timed: stopping would be refused and the time lost.
    problems = work_date_problems(
        ticket=ticket, work_date=organization_date(ticket.organization, now or timezone.now())
    )
    if problems:
        raise ValidationError(
            {
                "ticket": [
                    *problems,
                    "A timer can't say why: log this time with the form on the ticket page.",
                ]
            }
        )
    if running is not None:
        if not switch:
            raise ValidationError(timer_running_message(running, now), code=REFUSED)
        stopped = _stop(running, notes="", now=now)
    try:
        with transaction.atomic():
            timer = Timer.objects.create(
                organization_id=ticket.organization_id,
                person=person,
                ticket=ticket,
                started_at=now or timezone.now(),
                note=note,
            )
    except IntegrityError:
        # Another request of the same person started one meanwhile.
        current = _running(person)
        if current is None:
            raise
        raise ValidationError(timer_running_message(current, now), code=REFUSED) from None
    return TimerStarted(timer, stopped)


@transaction.atomic
def timer_stop(
    *, person: Membership, notes: str = "", now: datetime.datetime | None = None
) -> LoggedTime:
    """Stop ``person``'s timer and log its minutes (see the module) with
    ``notes`` (else the timer's note). No timer running: refused."""
    _check_person(person, person.organization_id)
    timer = _running(person)
    if timer is None:
        raise ValidationError(NO_TIMER, code=REFUSED)
    return _stop(timer, notes=notes, now=now)


@transaction.atomic
def timer_discard(*, person: Membership) -> Timer | None:
    """Throw ``person``'s timer away without logging anything; the discarded
    timer, or None when none was running."""
    _check_person(person, person.organization_id)
    timer = _running(person)
    if timer is None:
        return None
    pk = timer.pk
    timer.delete()
    timer.pk = pk  # as it was, for the answer (delete() clears it)
    return timer


@transaction.atomic
def timesheet_cell_set(
    *, ticket: Ticket, person: Membership, work_date: datetime.date, minutes: int
) -> TimeEntry | None:
    """Make ``person``'s time on ``ticket`` on ``work_date`` add up to
    ``minutes``: no entry there → log one; one entry → correct it (0: remove
    it); several entries → refused (change them on the ticket page). Returns
    the entry that holds the time now (None when nothing does)."""
    if ticket.organization_id != person.organization_id:
        raise ValidationError({"ticket": "Choose a ticket of this organization."})
    _check_person(person, ticket.organization_id)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 0:
        raise ValidationError({"minutes": "Enter whole minutes, e.g. 45 or 1:30 (0 removes)."})
    # The ticket first, as every time service takes it: nobody changes its
    # entries while this one reads them.
    locked_ticket = Ticket.objects.select_for_update(of=("self",)).get(
        organization=ticket.organization_id, pk=ticket.pk
    )
    entries = list(
        TimeEntry.objects.filter(
            organization=ticket.organization_id,
            ticket=locked_ticket,
            person=person,
            work_date=work_date,
        )
        .select_related("ticket")
        .order_by("entered_at", "pk")
    )
    if len(entries) > 1:
        if sum(entry.minutes for entry in entries) == minutes:
            return entries[-1]
        raise ValidationError(
            {
                "minutes": ValidationError(
                    f"#{locked_ticket.number} has {len(entries)} entries of yours on "
                    f"{work_date:%a %d %b}: change them one by one on the ticket page.",
                    code=REFUSED,
                )
            }
        )
    entry = entries[0] if entries else None
    if entry is None:
        if minutes == 0:
            return None
        return time_entry_log(
            ticket=locked_ticket, person=person, work_date=work_date, minutes=minutes
        ).entry
    if entry.minutes == minutes:
        return entry
    if entry.locked:
        raise ValidationError({"minutes": ValidationError(LOCKED_MESSAGE, code="locked")})
    if minutes == 0:
        time_entry_remove(entry=entry)
        return None
    return time_entry_correct(entry=entry, minutes=minutes)
