"""Fixtures of the transitions tests: a client with a request type in each
organization, and helpers that call the services in the organization's scope."""

import datetime

import pytest
from django_scopes import scopes_disabled

from msops.tenancy.scoping import activate_organization
from msops.timezones import organization_today
from tests.factories import ClientFactory, RequestTypeFactory
from transitions import services


@pytest.fixture
def client_(org):
    return ClientFactory(organization=org, name="Acme")


@pytest.fixture
def request_type(org):
    return RequestTypeFactory(organization=org, name="Patching")


@pytest.fixture
def foreign_client(other_org):
    return ClientFactory(organization=other_org, name="Foreign Co")


@pytest.fixture
def foreign_request_type(other_org):
    return RequestTypeFactory(organization=other_org, name="Foreign patching")


@pytest.fixture
def today(org) -> datetime.date:
    return organization_today(org)


@pytest.fixture
def make_task(org, client_, request_type, developer, today):
    """``make_task(**overrides)`` → a recurring task created through the service."""

    def _make(**overrides):
        fields = {
            "organization": org,
            "client": client_,
            "title": "Patch the servers",
            "cadence": "weekly",
            "owner": developer,
            "request_type": request_type,
            "next_due": today,
            "known_exceptions": "Never on the last Friday",
        }
        fields.update(overrides)
        with activate_organization(fields["organization"]):
            return services.recurring_task_create(**fields)

    return _make


@pytest.fixture
def make_risk(org, client_, developer):
    def _make(**overrides):
        fields = {
            "organization": org,
            "client": client_,
            "description": "Backups never restored",
            "owner": developer,
            "next_action": "Run a restore drill",
            "severity": "high",
        }
        fields.update(overrides)
        with activate_organization(fields["organization"]):
            return services.risk_create(**fields)

    return _make


def rows(model, **filters) -> list:
    with scopes_disabled():
        return list(model.objects.filter(**filters))
