"""The SLA clock of a ticket: business hours of the contract's calendar
version the ticket was opened under (round the clock without one), less the
stretches it waited on the client (``TicketPause``).

- A due is the instant the target's minutes of clock time have run out after
  opening; a pause that began before a due pushes it by the clock time the
  pause held. While a pause is open the clock stands still: dues are
  recomputed when it ends (and the flag sweep skips a target whose due
  the open pause began before).
- A reopened ticket's resolved stretch (from its previous ``resolved_at``
  to the reopening) is recorded as an ended pause, so the time it sat
  resolved is off the clock and the resolution due moves by it.
- Once a target is met its due and risk time stay as they were: a later
  priority change or pause recomputes only the targets still running.
- A target is at risk once :data:`SLA_RISK_SHARE` of its clock time has run
  (``first_response_risk_at`` / ``resolution_risk_at``); the flag sweep reads
  those stored times.
"""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import timezone

from clients.models import SLACalendar, SLATarget
from clients.selectors import sla_calendar_in_force
from msops.business_hours import ALWAYS, BusinessCalendar, Pause
from msops.tenancy.models import Membership, Organization

from ..models import Ticket, TicketPause

SLA_RISK_SHARE = 0.75  # a target is at risk once this share of its clock time has run
WAITING = Ticket.Status.WAITING
_MINUTE = datetime.timedelta(minutes=1)


def business_calendar(
    *, calendar: SLACalendar | None, organization: Organization | None = None
) -> BusinessCalendar:
    """The clock of a calendar version (its zone, or the organization's when
    blank); :data:`~msops.business_hours.ALWAYS` without one."""
    if calendar is None:
        return ALWAYS
    time_zone = calendar.time_zone
    if not time_zone:
        organization = organization or calendar.organization
        time_zone = organization.timezone
    return BusinessCalendar(
        hours=calendar.hours,
        time_zone=time_zone,
        holiday_country=calendar.holiday_country,
        holiday_subdivision=calendar.holiday_subdivision,
        closed_days=calendar.closed_days or (),
    )


def calendar_for_opening(
    *, organization: Organization, contract, opened_at: datetime.datetime
) -> SLACalendar | None:
    """The contract's calendar version in force when the ticket opened."""
    return sla_calendar_in_force(organization=organization, contract=contract, at=opened_at)


@dataclass(frozen=True)
class SLADues:
    first_response_due: datetime.datetime | None = None
    resolution_due: datetime.datetime | None = None
    first_response_risk_at: datetime.datetime | None = None
    resolution_risk_at: datetime.datetime | None = None

    def as_fields(self) -> dict[str, datetime.datetime | None]:
        return {
            "first_response_due": self.first_response_due,
            "resolution_due": self.resolution_due,
            "first_response_risk_at": self.first_response_risk_at,
            "resolution_risk_at": self.resolution_risk_at,
        }


def ticket_sla_dues(
    *,
    organization: Organization,
    contract,
    priority: str,
    opened_at: datetime.datetime,
    calendar: SLACalendar | None,
    pauses: Sequence[Pause] = (),
    now: datetime.datetime | None = None,
) -> SLADues:
    """Dues and risk times of a ticket on the SLA clock. An open pause counts
    as ending ``now`` (the clock stands still until it ends, and the dues are
    computed again then)."""
    if contract is None:
        return SLADues()
    target = SLATarget.objects.filter(
        organization=organization, contract=contract, priority=priority
    ).first()
    if target is None:
        return SLADues()
    now = now or timezone.now()
    closed = [(start, end or max(now, start)) for start, end in pauses]
    clock = business_calendar(calendar=calendar, organization=organization)

    def at(minutes: datetime.timedelta) -> datetime.datetime:
        return clock.add(opened_at, minutes, pauses=closed)

    response = datetime.timedelta(minutes=target.first_response_minutes)
    resolution = datetime.timedelta(minutes=target.resolution_minutes)
    return SLADues(
        first_response_due=at(response),
        resolution_due=at(resolution),
        first_response_risk_at=at(response * SLA_RISK_SHARE),
        resolution_risk_at=at(resolution * SLA_RISK_SHARE),
    )


def sla_target_state(
    *,
    due: datetime.datetime | None,
    risk_at: datetime.datetime | None,
    done_at: datetime.datetime | None,
    paused_since: datetime.datetime | None,
    now: datetime.datetime,
) -> str | None:
    """THE rule of one SLA target at ``now``: ``"breached"`` past its due,
    ``"at_risk"`` past its risk time, None when met or without a target.
    An open pause (``paused_since``: when it began) hides the target only if
    it began before the due: a due that passed before the ticket went waiting
    stays breached. The flag sweep (``billing.flags.tickets``) runs the same
    rule in SQL; a property test keeps them equal."""
    if due is None or done_at is not None:
        return None
    if paused_since is not None and paused_since < due:
        return None
    if due < now:
        return "breached"
    if risk_at is not None and risk_at < now:
        return "at_risk"
    return None


def ticket_pauses(*, ticket: Ticket) -> list[Pause]:
    """The ticket's pauses as (started, ended or None), oldest first."""
    return list(
        TicketPause.objects.filter(organization=ticket.organization_id, ticket=ticket)
        .order_by("started_at", "pk")
        .values_list("started_at", "ended_at")
    )


def ticket_dues_now(*, ticket: Ticket, priority: str | None = None) -> SLADues:
    """The ticket's dues with its calendar and every pause so far."""
    return ticket_sla_dues(
        organization=ticket.organization,
        contract=ticket.contract_id,
        priority=priority or ticket.priority,
        opened_at=ticket.opened_at,
        calendar=ticket.sla_calendar,
        pauses=ticket_pauses(ticket=ticket),
    )


def clock_minutes(*, ticket: Ticket, until: datetime.datetime) -> int:
    """SLA-clock minutes from opening to ``until``: business hours of the
    ticket's calendar, pauses excluded, whole minutes (rounded down)."""
    clock = business_calendar(calendar=ticket.sla_calendar, organization=ticket.organization)
    pauses = [(start, end or until) for start, end in ticket_pauses(ticket=ticket)]
    return clock.between(ticket.opened_at, until, pauses=pauses) // _MINUTE


def ticket_pause_start(
    *,
    ticket: Ticket,
    actor: Membership | None,
    at: datetime.datetime | None = None,
    reason: str = "",
) -> TicketPause:
    """Stop the ticket's clock (it waits on the client). An open pause is kept."""
    existing = TicketPause.objects.filter(
        organization=ticket.organization_id, ticket=ticket, ended_at__isnull=True
    ).first()
    if existing is not None:
        return existing
    return TicketPause.objects.create(
        organization_id=ticket.organization_id,
        ticket=ticket,
        started_at=at or timezone.now(),
        started_by=actor,
        **({"reason": reason[:200]} if reason else {}),
    )


def ticket_pause_end(
    *, ticket: Ticket, actor: Membership | None, at: datetime.datetime | None = None
) -> TicketPause | None:
    """Start the clock again: the open pause ends, holding the clock time it
    covered (``business_minutes``). None when the ticket was not paused."""
    pause = (
        TicketPause.objects.select_for_update()
        .filter(organization=ticket.organization_id, ticket=ticket, ended_at__isnull=True)
        .first()
    )
    if pause is None:
        return None
    at = max(at or timezone.now(), pause.started_at)
    clock = business_calendar(calendar=ticket.sla_calendar, organization=ticket.organization)
    pause.ended_at = at
    pause.ended_by = actor
    pause.business_minutes = clock.between(pause.started_at, at) // _MINUTE
    pause.save(update_fields=["ended_at", "ended_by", "business_minutes"])
    return pause


REOPEN_PAUSE_REASON = "Resolved, then reopened"


def ticket_pause_record(
    *,
    ticket: Ticket,
    started_at: datetime.datetime,
    ended_at: datetime.datetime,
    reason: str,
    actor: Membership | None,
) -> TicketPause:
    """A pause that has already ended (the stretch a reopened ticket sat
    resolved), holding the clock time it covered."""
    ended_at = max(ended_at, started_at)
    clock = business_calendar(calendar=ticket.sla_calendar, organization=ticket.organization)
    return TicketPause.objects.create(
        organization_id=ticket.organization_id,
        ticket=ticket,
        started_at=started_at,
        ended_at=ended_at,
        reason=reason[:200],
        business_minutes=clock.between(started_at, ended_at) // _MINUTE,
        ended_by=actor,
    )


def ticket_pause_list(*, ticket: Ticket) -> list[TicketPause]:
    """The ticket's pauses for its page, oldest first."""
    return list(
        TicketPause.objects.filter(organization=ticket.organization_id, ticket=ticket)
        .select_related("started_by__user", "ended_by__user")
        .order_by("started_at", "pk")
    )


def sla_clock_label(*, ticket: Ticket) -> str:
    """How the ticket's page names its clock."""
    calendar = ticket.sla_calendar
    if calendar is None:
        return "round the clock"
    zone = calendar.time_zone or ticket.organization.timezone
    return f"business hours of {calendar.contract.name} ({zone})"
