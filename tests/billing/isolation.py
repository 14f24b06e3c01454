"""Isolation-test data for billing (merged by tests/isolation.py)."""

import datetime

from billing.models import (
    BillingDecision,
    DecisionLogEntry,
    DigestSent,
    EntryPortion,
    ExceptionFlag,
    ReviewItem,
    ReviewQueue,
    ScopeCheck,
)
from tests.billing import (
    isolation_finance,
    routes_decisions,
    routes_finance_pages,
    routes_jobs,
)
from tests.factories import TicketFactory
from tests.isolation_types import Route, collection, obj

ROUTES: dict[str, Route] = {
    **routes_decisions.ROUTES,
    **routes_jobs.ROUTES,
    **isolation_finance.ROUTES,
    **routes_finance_pages.ROUTES,
    # The timer on the ticket page and the week timesheet (the timer is the member's own).
    "billing:timer_start": obj(pk="ticket"),
    "billing:timer_stop": obj(pk="ticket"),
    "billing:timer_discard": obj(pk="ticket"),
    "billing:timesheet": collection(),
    "billing:timesheet_cell": collection(),
    "api:timer-list": collection(),
    "api:timer-start": collection(),
    "api:timer-stop": collection(),
    "api:timer-discard": collection(),
    "api:timesheet-list": collection(),
}


def build(organization, tag: str, world: dict) -> dict:
    ticket = world.get("ticket") or TicketFactory(organization=organization, title=f"{tag} ticket")
    member = world["membership"]
    decision = BillingDecision.objects.create(
        organization=organization,
        ticket=ticket,
        classification="needs_approval",
        suggested_classification="included",
        reason=f"{tag} needs the client's yes",
        decided_by=member,
        overrides_rule=True,
    )
    check = ScopeCheck.objects.create(
        organization=organization,
        ticket=ticket,
        decision=decision,
        requested_by=member,
        account_manager=member,
        estimate_minutes=240,
        reason=f"{tag} new feature",
        client_explanation=f"{tag}: building the export costs about 4 hours.",
    )
    log = DecisionLogEntry.objects.create(
        organization=organization,
        kind=DecisionLogEntry.Kind.RULE_OVERRIDDEN,
        client=ticket.client,
        ticket=ticket,
        decision=decision,
        actor=member,
        summary=f"{tag} overrode the rule",
        reason=f"{tag} reason",
    )
    flag = ExceptionFlag.objects.create(
        organization=organization,
        kind=ExceptionFlag.Kind.OVER_EXPECTED,
        subject_key=f"ticket:{ticket.pk}",
        ticket=ticket,
        client=ticket.client,
        detail=f"{tag} over expected time",
    )
    queue = ReviewQueue.objects.create(
        organization=organization, week_start=datetime.date(2026, 11, 16)
    )
    item = ReviewItem.objects.create(
        organization=organization,
        queue=queue,
        kind=ReviewItem.Kind.OPEN_FLAG,
        subject_key=f"flags:{ticket.client_id}:{flag.kind}",
        flag=flag,
        flag_kind=flag.kind,
        client=ticket.client,
        ticket=ticket,
        reason=f"{tag} open flag",
    )
    digest = DigestSent.objects.create(
        organization=organization,
        membership=member,
        kind=DigestSent.Kind.ACCOUNT_MANAGER,
        period_key="2026-11-16",
        summary=f"{tag} digest",
    )
    entry = world.get("time_entry")
    portion = (
        EntryPortion.objects.filter(entry=entry).first()
        or EntryPortion.objects.create(
            organization=organization,
            entry=entry,
            ticket=entry.ticket,
            minutes=entry.minutes,
            work_date=entry.work_date,
            status=entry.billing_status,
            decision=decision,
            treatment="included",
        )
        if entry is not None
        else None
    )
    return {
        "entry_portion": portion,
        "digest": digest,
        "decision": decision,
        "scope_check": check,
        "decision_log_entry": log,
        "flag": flag,
        "review_queue": queue,
        "review_item": item,
        **isolation_finance.build(organization, tag, world),
        **routes_finance_pages.build(organization, tag, world),
    }
