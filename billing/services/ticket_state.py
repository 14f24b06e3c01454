"""The state of a ticket that decides the meaning of its next minutes (see
``time_entries``), and the threshold moments new minutes raise. The checks
are ``billing.thresholds``' definitions, the same the flag sweep runs in SQL."""

import datetime
from dataclasses import dataclass

from django.db.models import Max, Sum

from clients.rules import AppliedRule
from tickets.models import BillingMoment, Ticket, TimeEntry
from tickets.selectors import ticket_rule
from tickets.services import moment_raise

from ..models import BillingDecision, EntryPortion, ScopeCheck
from ..thresholds import OVER_APPROVAL, OVER_EXPECTED
from ._common import Status, hm

Waits = EntryPortion.WaitsOn
THRESHOLD_KINDS = (
    BillingMoment.Kind.EXPECTED_TIME_PASSED,
    BillingMoment.Kind.APPROVAL_THRESHOLD_PASSED,
    BillingMoment.Kind.ESTIMATE_PASSED,
)
STATE_KINDS = (*THRESHOLD_KINDS, BillingMoment.Kind.REQUEST_TYPE_CHANGED)


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
class TicketState:
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
    retyped: bool = False  # the request type was corrected and nobody decided since

    def meaning(self, position: int, start: int) -> tuple[str, BillingDecision | None, str]:
        """(status-or-None, decision, waits_on) of the minute at ``position``
        (1-based ticket total) in an entry that started at ``start``. A status
        of None means: derive it from the decision and the entry's rule."""
        if not self.approval_answered and OVER_APPROVAL.crossed(
            logged=position, rule=self.rule, approved=self.approved
        ):
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
        if self.latest is None or self.retyped:
            return Status.UNDECIDED, None, Waits.DECISION
        return None, self.latest, Waits.NOTHING


def ticket_state(ticket: Ticket, rule_on: datetime.date) -> TicketState:
    org_id = ticket.organization_id
    latest = latest_decision(ticket)
    rule = ticket_rule(ticket=ticket, on=rule_on)
    moments = list(
        BillingMoment.objects.filter(
            organization=org_id, ticket=ticket, kind__in=STATE_KINDS
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
        # What the estimate covers: the work logged since approval was asked for.
        used = EntryPortion.objects.filter(
            organization=org_id, decision=latest, entry__entered_at__gte=check.created_at
        ).aggregate(used=Sum("minutes"))["used"]
        estimate_left = max(check.estimate_minutes - (used or 0), 0)
        estimate = [
            m
            for m in moments
            if m["kind"] == BillingMoment.Kind.ESTIMATE_PASSED
            and m["created_at"] >= latest.decided_at
        ]
    return TicketState(
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
        retyped=any(
            m["kind"] == BillingMoment.Kind.REQUEST_TYPE_CHANGED
            and m["status"] == BillingMoment.Status.OPEN
            for m in moments
        ),
    )


def threshold_moments_raise(
    *, ticket: Ticket, state: TicketState, start: int, end: int, raised_by
) -> None:
    rule = state.rule
    levels = expected_levels(rule.expected_minutes, rule.reask_factor, end)
    # The first level is OVER_EXPECTED itself; each next one asks again.
    if OVER_EXPECTED.crossed(logged=end, rule=rule, approved=False) and not any(
        level >= levels[-1] for level in state.expected_raised
    ):
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
    if not state.approval_raised and OVER_APPROVAL.crossed(
        logged=end, rule=rule, approved=state.approved
    ):
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
