"""Isolation-test data for billing (merged by tests/isolation.py)."""

import datetime

from billing.models import (
    BillingDecision,
    ClientViewEvent,
    ClientViewLink,
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
from tests.isolation_types import Route, collection, exempt, obj

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
    # Insights: the page, one series' CSV, the API (all series, or one by name).
    "billing:insights": collection(),
    "billing:insights_csv": collection(),
    "api:insights-list": collection(),
    # A client's view links (tests/billing/test_client_view.py).
    "billing:client_view_links": obj(pk="client"),
    "billing:client_view_link_revoke": obj(pk="client_view_link"),
    "api:client-view-link-list": collection(),
    "api:client-view-link-detail": obj(pk="client_view_link"),
    "api:client-view-link-revoke": obj(pk="client_view_link"),
    "api:client-view-link-events": obj(pk="client_view_link"),
    "public:client_view": exempt(
        "no login, no organization URL: the signed token names the organization, the link "
        "and its nonce (tests/billing/test_client_view.py covers foreign, tampered, other-nonce, "
        "expired and revoked links)"
    ),
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
    view_link = ClientViewLink.objects.create(
        organization=organization,
        client=ticket.client,
        contact_name=f"{tag} contact",
        contact_email="contact@client.example",
        nonce=f"{tag}-nonce"[:32],
        expires_at=datetime.datetime(2099, 1, 1, tzinfo=datetime.UTC),
        created_by=member,
    )
    view_event = ClientViewEvent.objects.create(
        organization=organization, link=view_link, ip="192.0.2.1", user_agent=f"{tag} agent"
    )
    return {
        "client_view_link": view_link,
        "client_view_event": view_event,
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
