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
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max, Q, Sum

from clients.rules import AppliedRule
from msops.tenancy.models import Membership
from tickets.models import BillingMoment, Ticket, TimeEntry
from tickets.selectors import ticket_rule
from tickets.services import (
    LoggedTime,
    moment_raise,
    time_entry_create,
    time_entry_delete,
    time_entry_update,
)

from ..models import BillingDecision, EntryPortion, ScopeCheck
from ._common import Status, flags_check_soon, hm, portion_status

Waits = EntryPortion.WaitsOn
THRESHOLD_KINDS = (
    BillingMoment.Kind.EXPECTED_TIME_PASSED,
    BillingMoment.Kind.APPROVAL_THRESHOLD_PASSED,
    BillingMoment.Kind.ESTIMATE_PASSED,
)


def latest_decision(ticket: Ticket) -> BillingDecision | None:
    """The decision in force for new work: the latest that is not a
    reclassification of named earlier entries."""
    return (
        BillingDecision.objects.filter(
            organization=ticket.organization_id, ticket=ticket, reclassification=False
        )
        .select_related("scope_check")
        .order_by("-decided_at", "-pk")
        .first()
    )


def threshold_rule_date(ticket: Ticket) -> datetime.date | None:
    """The date whose rule a ticket's thresholds follow: its latest work date."""
    return TimeEntry.objects.filter(organization=ticket.organization_id, ticket=ticket).aggregate(
        last=Max("work_date")
    )["last"]


def expected_levels(expected: int, factor: int, up_to: int) -> list[int]:
    """The logged totals at which a ticket asks again: expected × factor**n."""
    levels = []
    level = expected
    while expected > 0 and level < up_to:
        levels.append(level)
        level *= max(factor, 2)
    return levels


@dataclass
class _TicketState:
    """What decides the meaning of the ticket's next minutes."""

    latest: BillingDecision | None
    rule: AppliedRule  # the thresholds' rule
    expected_answered: list[int]  # levels of answered expected-time moments
    expected_raised: list[int]
    approved: bool
    approval_answered: bool
    approval_raised: bool
    estimate_left: int | None  # minutes of the approved estimate left (None: no estimate)
    estimate_raised: bool
    estimate_answered: bool

    def meaning(self, position: int, start: int) -> tuple[str, BillingDecision | None, str]:
        """(status-or-None, decision, waits_on) of the minute at ``position``
        (1-based ticket total) in an entry that started at ``start``. A status
        of None means: derive it from the decision and the entry's rule."""
        threshold = self.rule.approval_threshold_minutes
        if threshold and position > threshold and not self.approved and not self.approval_answered:
            return Status.PENDING_APPROVAL, None, Waits.APPROVAL
        levels = expected_levels(self.rule.expected_minutes, self.rule.reask_factor, position)
        if levels and not any(level >= levels[-1] for level in self.expected_answered):
            return Status.UNDECIDED, None, Waits.EXPECTED_TIME
        if (
            self.estimate_left is not None
            and position > start + self.estimate_left
            and not self.estimate_answered
        ):
            return Status.UNDECIDED, None, Waits.ESTIMATE
        if self.latest is None:
            return Status.UNDECIDED, None, Waits.DECISION
        return None, self.latest, Waits.NOTHING


def _state(ticket: Ticket, rule_on: datetime.date) -> _TicketState:
    org_id = ticket.organization_id
    latest = latest_decision(ticket)
    rule = ticket_rule(ticket=ticket, on=rule_on)
    moments = list(
        BillingMoment.objects.filter(
            organization=org_id, ticket=ticket, kind__in=THRESHOLD_KINDS
        ).values("kind", "status", "threshold_minutes", "created_at")
    )
    decided = BillingMoment.Status.DECIDED

    def levels(status=None):
        return [
            m["threshold_minutes"] or rule.expected_minutes
            for m in moments
            if m["kind"] == BillingMoment.Kind.EXPECTED_TIME_PASSED
            and (status is None or m["status"] == status)
        ]

    approval = [m for m in moments if m["kind"] == BillingMoment.Kind.APPROVAL_THRESHOLD_PASSED]
    approved = ScopeCheck.objects.filter(
        organization=org_id, ticket=ticket, status__in=ScopeCheck.APPROVED_STATUSES
    ).exists()
    estimate_left = None
    estimate = []
    check = latest.scope_check if latest is not None else None
    if check is not None and check.status in ScopeCheck.APPROVED_STATUSES:
        used = EntryPortion.objects.filter(organization=org_id, decision=latest).aggregate(
            used=Sum("minutes")
        )["used"]
        estimate_left = max(check.estimate_minutes - (used or 0), 0)
        estimate = [
            m
            for m in moments
            if m["kind"] == BillingMoment.Kind.ESTIMATE_PASSED
            and m["created_at"] >= latest.decided_at
        ]
    return _TicketState(
        latest=latest,
        rule=rule,
        expected_answered=levels(decided),
        expected_raised=levels(),
        approved=approved,
        approval_answered=any(m["status"] == decided for m in approval),
        approval_raised=bool(approval),
        estimate_left=estimate_left,
        estimate_raised=bool(estimate),
        estimate_answered=any(m["status"] == decided for m in estimate),
    )


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
    state = _state(ticket, threshold_rule_date(ticket) or entry.work_date)
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
    _raise_threshold_moments(
        ticket=ticket, state=state, start=start, end=start + minutes, raised_by=raised_by
    )
    return portions


def _raise_threshold_moments(
    *, ticket: Ticket, state: _TicketState, start: int, end: int, raised_by
) -> None:
    rule = state.rule
    levels = expected_levels(rule.expected_minutes, rule.reask_factor, end)
    if levels and not any(level >= levels[-1] for level in state.expected_raised):
        level = levels[-1]
        times = level // rule.expected_minutes
        moment_raise(
            ticket=ticket,
            kind=BillingMoment.Kind.EXPECTED_TIME_PASSED,
            detail=f"{hm(end)} logged; the rule expects about {hm(rule.expected_minutes)}"
            + (f" (past {times}× that)." if times > 1 else "."),
            raised_by=raised_by,
            threshold_minutes=level,
        )
    threshold = rule.approval_threshold_minutes
    if threshold and end > threshold and not state.approved and not state.approval_raised:
        moment_raise(
            ticket=ticket,
            kind=BillingMoment.Kind.APPROVAL_THRESHOLD_PASSED,
            detail=f"{hm(end)} logged; past {hm(threshold)} the work needs approval.",
            raised_by=raised_by,
            threshold_minutes=threshold,
        )
    if (
        state.estimate_left is not None
        and end - start > state.estimate_left
        and not state.estimate_raised
    ):
        estimate = state.latest.scope_check.estimate_minutes
        moment_raise(
            ticket=ticket,
            kind=BillingMoment.Kind.ESTIMATE_PASSED,
            detail=f"The approved estimate of {hm(estimate)} is used up: bill the extra time, "
            "absorb it, or ask again.",
            raised_by=raised_by,
        )


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
) -> LoggedTime:
    """Log time on a ticket and give its minutes their meaning (see the
    module). A repeated idempotency key returns the first entry."""
    logged = time_entry_create(
        ticket=ticket,
        person=person,
        work_date=work_date,
        minutes=minutes,
        notes=notes,
        idempotency_key=idempotency_key,
        entered_at=entered_at,
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
) -> TimeEntry:
    """Correct an entry (``None``: unchanged). Its minutes keep the decisions
    that gave them meaning: moved to another date, they are judged by the rule
    in force on it (a date no contract covers makes included work billable);
    fewer minutes drop the last ones; more minutes are new work at the
    ticket's current total. Locked entries refuse."""
    ticket = _locked_ticket(entry.ticket)
    before = TimeEntry.objects.get(organization=entry.organization_id, pk=entry.pk)
    updated = time_entry_update(entry=entry, work_date=work_date, minutes=minutes, notes=notes)
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
    time_entry_delete(entry=entry)
    _after_write(ticket)


def waiting_portions(*, ticket: Ticket, answers: ScopeCheck | None = None):
    """The ticket's minutes a new decision gives meaning to: those waiting for
    one (no decision yet, past a threshold, past the approval threshold with
    nobody asked) — and, for the answer to a scope check, those waiting for
    that check's answer. Locked entries keep their meaning."""
    waiting = Q(status=Status.UNDECIDED) | Q(status=Status.PENDING_APPROVAL, decision__isnull=True)
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
