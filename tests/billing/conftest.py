import datetime

import pytest

from billing.services import review as review_services
from clients.models import Treatment
from msops.tenancy.scoping import activate_organization
from tests.factories import (
    ClientFactory,
    ContractFactory,
    ContractRevisionFactory,
    RequestTypeFactory,
    ScopeRuleFactory,
)
from tickets.services import ticket_open


@pytest.fixture(autouse=True)
def _billing_review_kinds_only(monkeypatch):
    """Billing's tests count billing's own review kinds: the transitions
    layer's (stale briefs, orphaned items) are tested in tests/transitions."""
    monkeypatch.setattr(review_services, "REVIEW_SOURCES", [])


@pytest.fixture
def scoped(org):
    with activate_organization(org):
        yield org


@pytest.fixture
def terms(org, account_manager):
    """A client on a retainer with three rules: troubleshooting included (60
    min expected, approval past 120), new feature needs approval, hardware
    excluded."""
    client = ClientFactory(
        organization=org, name="Acme", account_manager=account_manager, billing_notes="PO required"
    )
    account_manager.user.email = "am@example.com"
    account_manager.user.save()
    contract = ContractFactory(organization=org, client=client, starts_on=datetime.date(2025, 1, 1))
    ContractRevisionFactory(organization=org, contract=contract)
    rules = {}
    for key, name, treatment, expected, threshold in [
        ("troubleshooting", "Troubleshooting", Treatment.INCLUDED, 60, 120),
        ("feature", "New feature", Treatment.NEEDS_APPROVAL, 240, None),
        ("hardware", "Hardware", Treatment.EXCLUDED, 60, None),
    ]:
        rtype = RequestTypeFactory(organization=org, name=name, expected_minutes=expected)
        rules[key] = ScopeRuleFactory(
            organization=org,
            contract=contract,
            request_type=rtype,
            treatment=treatment,
            expected_minutes=expected,
            approval_threshold_minutes=threshold,
        )
    return {"client": client, "contract": contract, "rules": rules}


@pytest.fixture
def open_ticket(org, developer, terms):
    def _open(kind="troubleshooting", title="Mail is down", opened_at=None):
        with activate_organization(org):
            return ticket_open(
                organization=org,
                opened_by=developer,
                client=terms["client"],
                request_type=terms["rules"][kind].request_type,
                title=title,
                assignee=developer,
                opened_at=opened_at,
            )

    return _open
