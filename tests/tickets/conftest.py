"""Fixtures of the tickets tests: a client with a contract in force, its
terms, a scope rule and an SLA target, and a helper that opens tickets
through the service."""

import datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest

from clients.models import Treatment
from msops.tenancy.scoping import activate_organization
from tests.factories import (
    ClientFactory,
    ContractFactory,
    ContractRevisionFactory,
    RequestTypeFactory,
    ScopeRuleFactory,
    SLATargetFactory,
)
from tickets.models import Ticket
from tickets.services import ticket_open, time_entry_create


@pytest.fixture
def terms(org, account_manager):
    client = ClientFactory(
        organization=org,
        name="Acme Dental",
        account_manager=account_manager,
        billing_notes="PO number required on every invoice.",
    )
    contract = ContractFactory(
        client=client, name="Acme support", starts_on=datetime.date(2025, 1, 1)
    )
    revision = ContractRevisionFactory(contract=contract, hourly_rate=Decimal("120.00"))
    request_type = RequestTypeFactory(organization=org, name="Troubleshooting")
    rule = ScopeRuleFactory(
        contract=contract,
        request_type=request_type,
        treatment=Treatment.INCLUDED,
        expected_minutes=60,
        explanation="Covered by the support agreement.",
    )
    sla = SLATargetFactory(
        contract=contract, priority="normal", first_response_minutes=60, resolution_minutes=480
    )
    SLATargetFactory(
        contract=contract, priority="urgent", first_response_minutes=15, resolution_minutes=120
    )
    return SimpleNamespace(
        client=client,
        contract=contract,
        revision=revision,
        request_type=request_type,
        rule=rule,
        sla=sla,
    )


@pytest.fixture
def open_ticket(org, developer, terms):
    """``open_ticket(**overrides)`` → a ticket opened through the service."""

    def _open(**overrides) -> Ticket:
        fields = {
            "organization": org,
            "opened_by": developer,
            "client": terms.client,
            "request_type": terms.request_type,
            "title": "Printer offline",
            "priority": "normal",
            "source": "email",
        }
        fields.update(overrides)
        with activate_organization(fields["organization"]):
            return ticket_open(**fields)

    return _open


@pytest.fixture
def log_time(org):
    """``log_time(ticket, person, minutes=30, **kw)`` → a LoggedTime through the service."""

    def _log(ticket, person, minutes=30, work_date=None, **kwargs):
        work_date = work_date or datetime.date(2025, 3, 3)
        with activate_organization(ticket.organization):
            return time_entry_create(
                ticket=ticket, person=person, work_date=work_date, minutes=minutes, **kwargs
            )

    return _log
