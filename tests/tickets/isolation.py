"""Isolation-test data for tickets (merged by tests/isolation.py)."""

import datetime

from tests.factories import (
    BillingMomentFactory,
    ClientFactory,
    ContractFactory,
    RequestTypeFactory,
    TicketFactory,
    TimeEntryFactory,
)
from tests.isolation_types import Route, collection, obj
from tickets.models import IdempotencyKey, TicketPause, Timer

ROUTES: dict[str, Route] = {
    "tickets:ticket_list": collection(),
    "tickets:ticket_create": collection(),
    "tickets:ticket_detail": obj(number="ticket"),
    "tickets:ticket_by_id": obj(pk="ticket"),
    "tickets:ticket_log_time": obj(pk="ticket"),
    "tickets:ticket_update": obj(pk="ticket"),
    "tickets:time_entry_delete": obj(pk="time_entry"),
    "api:ticket-list": collection(),
    "api:ticket-detail": obj(pk="ticket"),
    "api:time-entry-list": collection(),
    "api:time-entry-detail": obj(pk="time_entry"),
    "api:billing-moment-list": collection(),
    "api:billing-moment-detail": obj(pk="billing_moment"),
    "tickets:sla_report": collection(),
    "tickets:sla_report_csv": collection(),
    "api:sla-report": collection(),
}


def build(organization, tag: str, world: dict) -> dict:
    """Create one of each tickets tenant object for ``organization``; put ``tag``
    in their visible text. ``world`` holds what earlier builders made."""
    client = world.get("client") or ClientFactory(
        organization=organization, name=f"Client {tag}", billing_notes=f"Notes {tag}"
    )
    contract = world.get("contract") or ContractFactory(client=client, name=f"Contract {tag}")
    request_type = world.get("request_type") or RequestTypeFactory(
        organization=organization, name=f"Request {tag}"
    )
    membership = world["membership"]
    ticket = TicketFactory(
        organization=organization,
        client=client,
        contract=contract,
        request_type=request_type,
        assignee=membership,
        title=f"Ticket {tag}",
        description=f"Description {tag}",
        logged_minutes=45,
    )
    # A second entry keeps the ticket non-empty even when a DELETE test
    # removes the first (deletes of one's own organization are allowed).
    time_entry = TimeEntryFactory(
        ticket=ticket,
        person=membership,
        minutes=30,
        notes=f"Work {tag}",
        work_date=datetime.date(2025, 3, 3),
    )
    TimeEntryFactory(
        ticket=ticket,
        person=membership,
        minutes=15,
        notes=f"More work {tag}",
        work_date=datetime.date(2025, 3, 4),
    )
    IdempotencyKey.objects.create(
        organization=organization, person=membership, key=f"key-{tag}", time_entry=time_entry
    )
    billing_moment = BillingMomentFactory(ticket=ticket, detail=f"Opened {tag}")
    Timer.objects.create(
        organization=organization, person=membership, ticket=ticket, note=f"Timer {tag}"
    )
    TicketPause.objects.create(
        organization=organization,
        ticket=ticket,
        started_at=datetime.datetime(2025, 3, 3, 10, tzinfo=datetime.UTC),
        ended_at=datetime.datetime(2025, 3, 3, 12, tzinfo=datetime.UTC),
        reason=f"Waiting on client {tag}",
        business_minutes=120,
    )
    return {
        "ticket": ticket,
        "time_entry": time_entry,
        "billing_moment": billing_moment,
    }
