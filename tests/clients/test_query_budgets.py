"""Pages and list endpoints keep a constant number of queries: the same
budget holds at 2 rows and at 50."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from clients.models import BlockTopUp, Contract, PricingTier, UnitCount
from tests.factories import (
    ClientFactory,
    ContractFactory,
    ContractRevisionFactory,
    RequestTypeFactory,
    ScopeRuleFactory,
    SLATargetFactory,
)

ROWS = [2, 50]


def _contract_with_everything(client, n: int) -> Contract:
    """A per-unit contract with two revisions, a rule with three revisions
    (one planned), an SLA target, a tier and a unit count."""
    organization = client.organization
    contract = ContractFactory(client=client, name=f"Contract {n}", kind=Contract.Kind.PER_UNIT)
    ContractRevisionFactory(contract=contract)
    ContractRevisionFactory(contract=contract, effective_from=datetime.date(2025, 6, 1))
    rule = ScopeRuleFactory(
        contract=contract,
        request_type=RequestTypeFactory(organization=organization, name=f"Type {n}"),
        explanation=f"Rule {n}",
    )
    for effective_from in (datetime.date(2025, 6, 1), datetime.date(2999, 1, 1)):  # history
        ScopeRuleFactory(
            contract=contract, request_type=rule.request_type, effective_from=effective_from
        )
    SLATargetFactory(contract=contract)
    PricingTier.objects.create(
        organization=organization, contract=contract, min_units=1, unit_price=Decimal("9.99")
    )
    UnitCount.objects.create(
        organization=organization, contract=contract, month=datetime.date(2025, 1, 1), units=n
    )
    return contract


def _block_with_top_ups(client, n: int) -> Contract:
    """A block of hours with terms and two top-ups."""
    block = ContractFactory(client=client, name=f"Block {n}", kind=Contract.Kind.BLOCK)
    ContractRevisionFactory(contract=block, block_expiry_months=12)
    for added_on in (block.starts_on, datetime.date(2025, 6, 1)):
        BlockTopUp.objects.create(
            organization=client.organization, contract=block, added_on=added_on, minutes=600
        )
    return block


# --- pages -----------------------------------------------------------------------------
# Session, user, organization, membership and the switcher's memberships are
# 5 of each page's queries; the rest is the page's own.
CLIENT_PAGE_BUDGET = (
    16  # client, request types, contracts + 5 prefetches, top-ups, nav counts, my running timer
)
CLIENT_LIST_BUDGET = 9  # count + one page of annotated clients, nav counts, my running timer
CATALOGUE_BUDGET = 8  # with the navigation counts and my running timer


@pytest.mark.parametrize("rows", ROWS)
def test_the_client_page_costs_the_same_with_2_or_50_contracts(
    login, account_manager, org, no_scopes, django_assert_max_num_queries, rows
):
    with no_scopes():
        client = ClientFactory(organization=org, account_manager=account_manager)
        for n in range(rows):
            _contract_with_everything(client, n)
            _block_with_top_ups(client, n)
            RequestTypeFactory(organization=org, name=f"Unruled {n}")
    browser = login(account_manager)
    url = reverse("clients:client_detail", kwargs={"org": org.slug, "pk": client.pk})
    with django_assert_max_num_queries(CLIENT_PAGE_BUDGET):
        response = browser.get(url)
    assert response.status_code == 200
    text = response.content.decode()
    assert text.count('data-testid="scope-rule"') == rows
    assert text.count('data-testid="top-up"') == 2 * rows


@pytest.mark.parametrize("rows", ROWS)
def test_the_client_list_costs_the_same_with_2_or_50_clients(
    login, developer, account_manager, org, no_scopes, django_assert_max_num_queries, rows
):
    with no_scopes():
        for n in range(rows):
            client = ClientFactory(organization=org, account_manager=account_manager)
            ContractFactory(client=client, name=f"Contract {n}")
    browser = login(developer)
    url = reverse("clients:client_list", kwargs={"org": org.slug})
    with django_assert_max_num_queries(CLIENT_LIST_BUDGET):
        response = browser.get(url)
    assert response.content.decode().count("Contract ") >= rows


@pytest.mark.parametrize("rows", ROWS)
def test_the_request_type_catalogue_costs_the_same_with_2_or_50_types(
    login, admin_member, org, django_assert_max_num_queries, rows
):
    for n in range(rows):
        RequestTypeFactory(organization=org, name=f"Type {n}")
    browser = login(admin_member)
    url = reverse("clients:request_type_list", kwargs={"org": org.slug})
    with django_assert_max_num_queries(CATALOGUE_BUDGET):
        assert browser.get(url).status_code == 200


# --- list endpoints -----------------------------------------------------------------------
def _world(org, account_manager, rows: int) -> None:
    for n in range(rows):
        client = ClientFactory(organization=org, account_manager=account_manager)
        _contract_with_everything(client, n)
        _block_with_top_ups(client, n)


# Token, its last use, count, page of rows, and at most one prefetch.
API_BUDGET = 5
ENDPOINTS = [
    "clients",
    "contracts",
    "contract-revisions",
    "request-types",
    "scope-rules",
    "sla-targets",
    "pricing-tiers",
    "unit-counts",
    "block-top-ups",
]


@pytest.mark.parametrize("rows", ROWS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_every_list_endpoint_costs_the_same_with_2_or_50_rows(
    api, developer, account_manager, org, no_scopes, django_assert_max_num_queries, endpoint, rows
):
    with no_scopes():
        _world(org, account_manager, rows)
    client = api(developer)
    with django_assert_max_num_queries(API_BUDGET):
        response = client.get(f"/api/v1/{endpoint}/?page_size=200")
    assert response.status_code == 200
    assert response.json()["count"] >= rows


@pytest.mark.parametrize("rows", ROWS)
def test_scope_rules_in_force_on_a_date_cost_the_same_with_2_or_50_rules(
    api, developer, account_manager, org, no_scopes, django_assert_max_num_queries, rows
):
    with no_scopes():
        _world(org, account_manager, rows)
    client = api(developer)
    with django_assert_max_num_queries(API_BUDGET):
        response = client.get("/api/v1/scope-rules/?page_size=200&in_force_on=2025-07-01")
    assert response.status_code == 200
    assert response.json()["count"] == rows
