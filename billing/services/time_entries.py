"""Billing owns every write of a time entry: log, correct, move, remove.

Tickets keep the row and the ticket's totals (``tickets.services``); this
module calls them and, in the same transaction, gives the entry's minutes
their meaning as :class:`~billing.models.EntryPortion` rows. A new minute
takes its meaning from the ticket's state when it is logged:

1. past the rule's approval threshold, with no approved scope check and
   nobody having answered the threshold: waiting for approval;
2. past a level of the expected time (expected × the contract's re-ask factor
   to the power 0, 1, 2 …) that nobody has answered since: waiting for a
   decision, and the ticket is asked (a billing moment per level);
3. past the approved estimate of the scope check whose answer is the
   ticket's latest decision, until someone answers: waiting for a decision;
4. otherwise the latest decision's meaning (none yet: waiting for one),
   under the rule in force on the entry's work date (:func:`portion_status`).

So an entry that crosses a threshold carries two portions (60 included + 30
waiting), and the decision that answers covers only the 30.

A work date before the day the ticket was opened, or on a day no contract of
the client covers, needs a reason (``date_reason``, kept on the entry): work
logged after the fact, or outside any agreement, is said to be so
(:func:`work_date_problems`).
"""

import datetime
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q

from clients.rules import AppliedRule
from msops.tenancy.models import Membership
from msops.timezones import organization_date, organization_today
from tickets.models import Ticket, TimeEntry
from tickets.selectors import ticket_rule
from tickets.services import (
    LoggedTime,
    time_entry_create,
    time_entry_delete,
    time_entry_update,
    validate_time,
)

from ..models import BillingDecision, EntryPortion, ScopeCheck
from ._common import Status, flags_check_soon, portion_status
from .periods import ensure_open
from .ticket_state import threshold_moments_raise, threshold_rule_date, ticket_state

Waits = EntryPortion.WaitsOn


def _rule_fields(applied: AppliedRule) -> dict:
    return {
        "contract": applied.contract,
        "contract_revision": applied.revision,
        "scope_rule": applied.rule,
        "treatment": applied.treatment,
    }


def _add_minutes(
    *, entry: TimeEntry, ticket: Ticket, start: int, minutes: int, raised_by
) -> list[EntryPortion]:
    """Give meaning to ``minutes`` new minutes of ``entry`` that sit after
    ``start`` minutes of the ticket's time; raise the threshold moments they
    pass. Returns the new portions."""
    applied = ticket_rule(ticket=ticket, on=entry.work_date)
    state = ticket_state(ticket, threshold_rule_date(ticket) or entry.work_date)
    runs: list[list] = []  # [status, decision, waits, minutes]
    for position in range(start + 1, start + minutes + 1):
        status, decision, waits = state.meaning(position, start)
        if status is None:
            status = portion_status(
                decision=decision, covered=applied.covered, treatment=applied.treatment
            )
        if runs and runs[-1][:3] == [status, decision, waits]:
            runs[-1][3] += 1
        else:
            runs.append([status, decision, waits, 1])
    first = EntryPortion.objects.filter(organization=entry.organization_id, entry=entry).aggregate(
        last=Max("position")
    )["last"]
    first = 0 if first is None else first + 1
    portions = EntryPortion.objects.bulk_create(
        EntryPortion(
            organization_id=entry.organization_id,
            entry=entry,
            ticket_id=ticket.pk,
            position=first + i,
            minutes=run_minutes,
            work_date=entry.work_date,
            status=status,
            decision=decision,
            waits_on=waits,
            **_rule_fields(applied),
        )
        for i, (status, decision, waits, run_minutes) in enumerate(runs)
    )
    threshold_moments_raise(
        ticket=ticket, state=state, start=start, end=start + minutes, raised_by=raised_by
    )
    return portions


# An entry's summary status when its portions differ: what it still waits for
# first, else "split" (settled, with more than one meaning).
WAITING_FIRST = (Status.UNDECIDED, Status.PENDING_APPROVAL, Status.UNCLEAR)


def entry_summary_status(statuses: set[str]) -> str:
    if len(statuses) == 1:
        return next(iter(statuses))
    return next((status for status in WAITING_FIRST if status in statuses), Status.SPLIT)


def entry_statuses_refresh(*, organization_id: int, entry_ids) -> None:
    """Each entry's ``billing_status``, the summary of its portions: their
    status when they agree; else what part of it still waits for (undecided,
    waiting for approval, unclear); else split."""
    statuses: dict[int, set[str]] = defaultdict(set)
    for entry_id, status in EntryPortion.objects.filter(
        organization=organization_id, entry__in=list(entry_ids)
    ).values_list("entry_id", "status"):
        statuses[entry_id].add(status)
    by_status: dict[str, list[int]] = defaultdict(list)
    for entry_id, found in statuses.items():
        by_status[entry_summary_status(found)].append(entry_id)
    for status, ids in by_status.items():
        TimeEntry.objects.filter(organization=organization_id, pk__in=ids).exclude(
            billing_status=status
        ).update(billing_status=status)


def _locked_ticket(ticket: Ticket) -> Ticket:
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("client__organization", "request_type", "contract", "organization")
        .get(organization=ticket.organization_id, pk=ticket.pk)
    )


def _after_write(ticket: Ticket) -> None:
    flags_check_soon(ticket=ticket)


def work_date_problems(*, ticket: Ticket, work_date: datetime.date) -> list[str]:
    """Why work on ``work_date`` needs a reason to be logged on ``ticket``
    (empty: it needs none): the day is before the ticket was opened (in the
    organization's timezone), or no contract of the client covers it."""
    problems = []
    opened_on = organization_date(ticket.organization, ticket.opened_at)
    if work_date < opened_on:
        problems.append(
            f"Ticket #{ticket.number} was opened on {opened_on:%Y-%m-%d}: work on "
            f"{work_date:%Y-%m-%d} needs a reason (logged after the fact)."
        )
    if ticket_rule(ticket=ticket, on=work_date).contract is None:
        problems.append(
            f"No contract of {ticket.client.name} covers {work_date:%Y-%m-%d}: the work would "
            "be billable outside any agreement. Say why to log it."
        )
    return problems


def check_work_date(*, ticket: Ticket, work_date: datetime.date, date_reason: str = "") -> None:
    """The rule of :func:`time_entry_log` for the work date, for forms that
    want it before saving (the admin's): a date before the ticket was opened
    or outside every contract needs a reason."""
    reason = date_reason.strip() if isinstance(date_reason, str) else ""
    errors = _unexplained_date(ticket=ticket, work_date=work_date, reason=reason)
    if errors:
        raise ValidationError(errors)


def _unexplained_date(*, ticket: Ticket, work_date, reason: str) -> dict[str, list[str]]:
    """The work date's problems when no reason is given. A value that is not
    a day, or a day in the future, is left to the row's own checks."""
    if (
        reason
        or not isinstance(work_date, datetime.date)
        or isinstance(work_date, datetime.datetime)
        or work_date > organization_today(ticket.organization)
    ):
        return {}
    problems = work_date_problems(ticket=ticket, work_date=work_date)
    return {"work_date": problems} if problems else {}


@transaction.atomic
def time_entry_log(
    *,
    ticket: Ticket,
    person: Membership,
    work_date: datetime.date,
    minutes: int,
    notes: str = "",
    idempotency_key: str | None = None,
    entered_at: datetime.datetime | None = None,
    date_reason: str = "",
) -> LoggedTime:
    """Log time on a ticket and give its minutes their meaning (see the
    module). A work date before the ticket was opened or outside every
    contract needs ``date_reason`` (kept on the entry). A repeated
    idempotency key returns the first entry. A work date in a locked billing
    period refuses (:class:`PeriodLocked`)."""
    # The ticket first, then its billing period: every time and decision
    # service takes the two in this order, so none waits on another in a cycle.
    current = _locked_ticket(ticket)
    ensure_open(organization_id=ticket.organization_id, client=current.client, days=[work_date])
    errors: dict[str, list[str]] = {}
    try:
        validate_time(
            organization=current.organization,
            work_date=work_date,
            minutes=minutes,
            notes=notes,
            date_reason=date_reason,
        )
    except ValidationError as error:
        errors = dict(error.message_dict)
    if "work_date" not in errors and "date_reason" not in errors:
        reason = (date_reason or "").strip() if isinstance(date_reason, str) else ""
        errors.update(_unexplained_date(ticket=current, work_date=work_date, reason=reason))
    if errors:
        raise ValidationError(errors)
    logged = time_entry_create(
        ticket=ticket,
        person=person,
        work_date=work_date,
        minutes=minutes,
        notes=notes,
        idempotency_key=idempotency_key,
        entered_at=entered_at,
        date_reason=date_reason,
    )
    if logged.replayed:
        return logged
    current = _locked_ticket(ticket)
    _add_minutes(
        entry=logged.entry,
        ticket=current,
        start=current.logged_minutes - minutes,
        minutes=minutes,
        raised_by=person,
    )
    entry_statuses_refresh(organization_id=current.organization_id, entry_ids=[logged.entry.pk])
    logged.entry.refresh_from_db(fields=["billing_status"])
    _after_write(current)
    return logged


@transaction.atomic
def time_entry_correct(
    *,
    entry: TimeEntry,
    work_date: datetime.date | None = None,
    minutes: int | None = None,
    notes: str | None = None,
    date_reason: str | None = None,
) -> TimeEntry:
    """Correct an entry (``None``: unchanged). Its minutes keep the decisions
    that gave them meaning: moved to another date, they are judged by the rule
    in force on it (a date no contract covers makes included work billable);
    fewer minutes drop the last ones; more minutes are new work at the
    ticket's current total. A move to a date before the ticket was opened or
    outside every contract needs a reason: ``date_reason``, or the one the
    entry keeps. Locked entries, and a move into a locked billing period,
    refuse."""
    ticket = _locked_ticket(entry.ticket)
    ensure_open(organization_id=ticket.organization_id, client=ticket.client,
                days=[entry.work_date, work_date])  # fmt: skip
    before = TimeEntry.objects.get(organization=entry.organization_id, pk=entry.pk)
    if work_date is not None and work_date != before.work_date and not before.locked:
        reason = date_reason.strip() if isinstance(date_reason, str) else ""
        errors = _unexplained_date(
            ticket=ticket, work_date=work_date, reason=reason or before.date_reason
        )
        if errors:
            raise ValidationError(errors)
    updated = time_entry_update(
        entry=entry, work_date=work_date, minutes=minutes, notes=notes, date_reason=date_reason
    )
    org_id = updated.organization_id
    portions = list(
        EntryPortion.objects.filter(organization=org_id, entry=updated)
        .select_related("decision")
        .order_by("position")
    )
    if updated.work_date != before.work_date:
        applied = ticket_rule(ticket=ticket, on=updated.work_date)
        for portion in portions:
            for field, value in _rule_fields(applied).items():
                setattr(portion, field, value)
            portion.work_date = updated.work_date
            if portion.decision is not None:
                portion.status = portion_status(
                    decision=portion.decision, covered=applied.covered, treatment=applied.treatment
                )
        EntryPortion.objects.bulk_update(
            portions,
            ["contract", "contract_revision", "scope_rule", "treatment", "work_date", "status"],
        )
    drop = before.minutes - updated.minutes
    while drop > 0 and portions:
        last = portions[-1]
        if last.minutes <= drop:
            drop -= last.minutes
            last.delete()
            portions.pop()
        else:
            last.minutes -= drop
            last.save(update_fields=["minutes"])
            drop = 0
    if updated.minutes > before.minutes:
        ticket.refresh_from_db(fields=["logged_minutes"])
        extra = updated.minutes - before.minutes
        _add_minutes(
            entry=updated,
            ticket=ticket,
            start=ticket.logged_minutes - extra,
            minutes=extra,
            raised_by=None,
        )
    entry_statuses_refresh(organization_id=org_id, entry_ids=[updated.pk])
    updated.refresh_from_db(fields=["billing_status"])
    _after_write(ticket)
    return updated


@transaction.atomic
def time_entry_remove(*, entry: TimeEntry) -> None:
    """Remove an entry logged by mistake (its portions go with it); locked
    entries refuse. The meaning of the ticket's other work is unchanged."""
    ticket = _locked_ticket(entry.ticket)
    ensure_open(organization_id=ticket.organization_id, client=ticket.client,
                days=[entry.work_date])  # fmt: skip
    time_entry_delete(entry=entry)
    _after_write(ticket)


def waiting_portions(
    *,
    ticket: Ticket,
    answers: ScopeCheck | None = None,
    settles_approval: bool = False,
    settles_unclear: bool = False,
):
    """The ticket's minutes a new decision gives meaning to: those waiting for
    one (no decision yet, or past a threshold); with ``settles_unclear``, those
    decided unclear (a clear decision settles them); with ``settles_approval``
    (an account manager's or admin's decision, or asking for approval), those
    past the approval threshold that nobody asked about yet; and, for the
    answer to a scope check, those waiting for that check's answer. Locked
    entries keep their meaning."""
    waiting = Q(status=Status.UNDECIDED)
    if settles_unclear:
        waiting |= Q(status=Status.UNCLEAR)
    if settles_approval:
        waiting |= Q(status=Status.PENDING_APPROVAL, decision__isnull=True)
    if answers is not None and answers.decision_id:
        waiting |= Q(status=Status.PENDING_APPROVAL, decision=answers.decision_id)
    return EntryPortion.objects.filter(
        waiting, organization=ticket.organization_id, ticket=ticket, entry__locked=False
    )


def portions_give_meaning(*, portions, decision: BillingDecision) -> int:
    """Give ``portions`` the meaning of ``decision`` (each under the rule of
    its own work date). Returns the minutes they hold."""
    portions = list(portions)
    for portion in portions:
        portion.decision = decision
        portion.waits_on = Waits.NOTHING
        portion.status = portion_status(
            decision=decision,
            covered=portion.contract_id is not None,
            treatment=portion.treatment,
        )
    EntryPortion.objects.bulk_update(portions, ["decision", "waits_on", "status"])
    entry_statuses_refresh(
        organization_id=decision.organization_id, entry_ids={p.entry_id for p in portions}
    )
    return sum(p.minutes for p in portions)
