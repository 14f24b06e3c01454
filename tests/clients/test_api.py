import datetime
from decimal import Decimal

import pytest
from django_scopes import scopes_disabled

from clients.models import (
    Client,
    Contract,
    ContractRevision,
    PricingTier,
    RequestType,
    ScopeRule,
    SLATarget,
    UnitCount,
)
from clients.selectors import organization_today
from msops.tenancy.models import Role
from tests.factories import (
    ClientFactory,
    ContractFactory,
    ContractRevisionFactory,
    RequestTypeFactory,
    ScopeRuleFactory,
    SLATargetFactory,
)

API = "/api/v1"
MANAGERS_WRITE = {
    Role.DEVELOPER: False,
    Role.FINANCE: False,
    Role.ACCOUNT_MANAGER: True,
    Role.ADMIN: True,
}
ADMINS_WRITE = {**MANAGERS_WRITE, Role.ACCOUNT_MANAGER: False}


def listed(client, path: str, key: str = "name") -> list:
    """One field of every row a list endpoint answers."""
    return [row[key] for row in client.get(f"{API}/{path}").json()["results"]]


def count(model, **filters) -> int:
    with scopes_disabled():
        return model.objects.filter(**filters).count()


def today(org) -> datetime.date:
    return organization_today(organization=org)


def tomorrow(org) -> datetime.date:
    return today(org) + datetime.timedelta(days=1)


@pytest.fixture
def contract(org):
    return ContractRevisionFactory(contract__client__organization=org).contract


@pytest.fixture
def foreign_contract(other_org):
    return ContractRevisionFactory(contract__client__organization=other_org).contract


# --- clients ----------------------------------------------------------------------
def test_every_role_reads_clients_of_its_own_organization_only(api, members, org, other_org):
    ClientFactory(organization=org, name="Acme")
    ClientFactory(organization=other_org, name="Foreign Co")
    for membership in members.values():
        rows = api(membership).get(f"{API}/clients/").json()["results"]
        assert [row["name"] for row in rows] == ["Acme"]


@pytest.mark.parametrize("role,allowed", MANAGERS_WRITE.items())
def test_admins_and_account_managers_create_clients(api, members, role, allowed):
    response = api(members[role]).post(f"{API}/clients/", {"name": "Acme"})
    assert response.status_code == (201 if allowed else 403)
    assert count(Client, name="Acme") == (1 if allowed else 0)


def test_a_created_client_answers_with_its_list_shape(api, account_manager):
    response = api(account_manager).post(
        f"{API}/clients/", {"name": "Acme", "account_manager": account_manager.pk}
    )
    body = response.json()
    assert body["contract_count"] == 0 and body["contract_in_force"] is None
    assert body["account_manager"] == account_manager.pk
    assert body["account_manager_name"] == account_manager.user.username


def test_an_account_manager_of_another_organization_is_a_400(api, account_manager, stranger):
    response = api(account_manager).post(
        f"{API}/clients/", {"name": "Acme", "account_manager": stranger.pk}
    )
    assert response.status_code == 400 and "account_manager" in response.json()["fields"]
    assert count(Client) == 0


def test_a_duplicate_client_name_is_a_400_with_the_field(api, account_manager, org):
    ClientFactory(organization=org, name="Acme")
    response = api(account_manager).post(f"{API}/clients/", {"name": "ACME"})
    assert response.status_code == 400
    assert "already a client" in response.json()["fields"]["name"][0]


def test_clients_filter_by_status_account_manager_and_search(api, developer, account_manager, org):
    ClientFactory(organization=org, name="Acme", status="active", account_manager=account_manager)
    ClientFactory(organization=org, name="Bolt", status="ended")
    client = api(developer)
    assert listed(client, "clients/?status=ended") == ["Bolt"]
    assert listed(client, f"clients/?account_manager={account_manager.pk}") == ["Acme"]
    assert listed(client, "clients/?search=bol") == ["Bolt"]


def test_filtering_by_another_organizations_member_is_a_400(api, developer, stranger):
    response = api(developer).get(f"{API}/clients/?account_manager={stranger.pk}")
    assert response.status_code == 400 and "account_manager" in response.json()["fields"]


def test_a_client_is_updated_through_the_service(api, account_manager, org):
    acme = ClientFactory(organization=org, name="Acme")
    response = api(account_manager).patch(
        f"{API}/clients/{acme.pk}/", {"status": "offboarding", "billing_notes": "Final invoice"}
    )
    assert response.status_code == 200 and response.json()["status"] == "offboarding"
    with scopes_disabled():
        acme.refresh_from_db()
    assert acme.billing_notes == "Final invoice"


def test_a_foreign_client_is_a_404(api, admin_member, other_org):
    foreign = ClientFactory(organization=other_org)
    client = api(admin_member)
    assert client.get(f"{API}/clients/{foreign.pk}/").status_code == 404
    assert client.patch(f"{API}/clients/{foreign.pk}/", {"name": "x"}).status_code == 404
    assert client.delete(f"{API}/clients/{foreign.pk}/").status_code == 404
    assert count(Client, pk=foreign.pk) == 1


def test_deleting_a_client_with_contracts_is_a_409(api, admin_member, contract):
    response = api(admin_member).delete(f"{API}/clients/{contract.client_id}/")
    assert response.status_code == 409 and response.json()["code"] == "refused"
    assert "has contracts" in response.json()["detail"]
    assert count(Client, pk=contract.client_id) == 1


# --- contracts and revisions --------------------------------------------------------
@pytest.mark.parametrize("role,allowed", ADMINS_WRITE.items())
def test_only_admins_create_contracts_with_their_first_terms(api, members, org, role, allowed):
    acme = ClientFactory(organization=org)
    response = api(members[role]).post(
        f"{API}/contracts/",
        {
            "client": acme.pk,
            "name": "Support",
            "kind": "retainer",
            "starts_on": "2025-01-01",
            "terms": {"fee": "2000.00", "included_minutes": 1200, "hourly_rate": "120.00"},
        },
        format="json",
    )
    assert response.status_code == (201 if allowed else 403)
    if allowed:
        body = response.json()
        assert body["currency"] == "EUR"  # the organization's
        assert [r["effective_from"] for r in body["revisions"]] == ["2025-01-01"]
        assert body["revisions"][0]["fee"] == "2000.00"  # decimals are strings
        assert "terms" not in body
    assert count(ContractRevision) == (1 if allowed else 0)


def test_a_contract_for_a_foreign_client_is_a_400(api, admin_member, other_org):
    foreign = ClientFactory(organization=other_org)
    response = api(admin_member).post(
        f"{API}/contracts/",
        {"client": foreign.pk, "name": "X", "kind": "retainer", "starts_on": "2025-01-01"},
        format="json",
    )
    assert response.status_code == 400 and "client" in response.json()["fields"]
    assert count(Contract) == 0


def test_bad_first_terms_are_reported_under_terms_and_save_nothing(api, admin_member, org):
    acme = ClientFactory(organization=org)
    response = api(admin_member).post(
        f"{API}/contracts/",
        {
            "client": acme.pk,
            "name": "Block",
            "kind": "block",
            "starts_on": "2025-01-01",
            "ends_on": "2024-01-01",
            "terms": {"included_minutes": 0},
        },
        format="json",
    )
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert "ends_on" in fields and "included_minutes" in fields["terms"]
    assert count(Contract) == 0 and count(ContractRevision) == 0


def test_terms_cannot_be_edited_through_the_contract(api, admin_member, contract):
    response = api(admin_member).patch(
        f"{API}/contracts/{contract.pk}/", {"terms": {"fee": "1.00"}}, format="json"
    )
    assert response.status_code == 400 and "terms" in response.json()["fields"]


def test_contracts_filter_by_client_kind_and_date(api, developer, org):
    acme = ClientFactory(organization=org, name="Acme")
    ContractFactory(client=acme, name="Old", ends_on=datetime.date(2025, 3, 1))
    ContractFactory(
        client__organization=org, name="Units", kind="per_unit", starts_on=datetime.date(2025, 4, 1)
    )
    client = api(developer)
    assert listed(client, f"contracts/?client={acme.pk}") == ["Old"]
    assert listed(client, "contracts/?kind=per_unit") == ["Units"]
    assert listed(client, "contracts/?active_on=2025-02-01") == ["Old"]
    assert listed(client, "contracts/?active_on=2025-05-01") == ["Units"]


@pytest.mark.parametrize("role,allowed", ADMINS_WRITE.items())
def test_only_admins_add_terms_and_unsent_terms_carry_over(api, members, contract, role, allowed):
    response = api(members[role]).post(
        f"{API}/contract-revisions/",
        {"contract": contract.pk, "effective_from": "2025-07-01", "hourly_rate": "150.00"},
    )
    assert response.status_code == (201 if allowed else 403)
    if allowed:
        body = response.json()
        assert body["hourly_rate"] == "150.00" and body["fee"] == "2000.00"


def test_terms_before_the_start_or_on_a_taken_date_are_a_400(api, admin_member, contract):
    client = api(admin_member)
    for date in ("2024-12-31", "2025-01-01"):
        response = client.post(
            f"{API}/contract-revisions/", {"contract": contract.pk, "effective_from": date}
        )
        assert response.status_code == 400 and "effective_from" in response.json()["fields"]
    assert count(ContractRevision, contract=contract) == 1


def test_terms_for_a_foreign_contract_are_a_400(api, admin_member, foreign_contract):
    response = api(admin_member).post(
        f"{API}/contract-revisions/",
        {"contract": foreign_contract.pk, "effective_from": "2025-07-01"},
    )
    assert response.status_code == 400 and "contract" in response.json()["fields"]


def test_terms_are_never_edited(api, admin_member, contract):
    with scopes_disabled():
        revision_id = ContractRevision.objects.get(contract=contract).pk
    response = api(admin_member).patch(f"{API}/contract-revisions/{revision_id}/", {"fee": "0.00"})
    assert response.status_code == 405


def test_terms_in_force_cannot_be_withdrawn(api, admin_member, contract):
    with scopes_disabled():
        revision_id = ContractRevision.objects.get(contract=contract).pk
    response = api(admin_member).delete(f"{API}/contract-revisions/{revision_id}/")
    assert response.status_code == 409 and response.json()["code"] == "refused"
    assert count(ContractRevision, pk=revision_id) == 1


def test_revisions_filter_by_contract(api, developer, contract, org):
    other = ContractRevisionFactory(contract__client__organization=org).contract
    rows = api(developer).get(f"{API}/contract-revisions/?contract={other.pk}").json()["results"]
    assert [row["contract"] for row in rows] == [other.pk]


# --- request types ------------------------------------------------------------------
@pytest.mark.parametrize("role,allowed", ADMINS_WRITE.items())
def test_only_admins_write_request_types(api, members, org, role, allowed):
    response = api(members[role]).post(
        f"{API}/request-types/",
        {"name": "Other", "is_catch_all": True, "default_treatment": "needs_approval"},
    )
    assert response.status_code == (201 if allowed else 403)
    assert count(RequestType, name="Other", is_catch_all=True) == (1 if allowed else 0)


def test_request_types_filter_by_catch_all_and_treatment(api, developer, org):
    RequestTypeFactory(organization=org, name="Other", is_catch_all=True)
    RequestTypeFactory(organization=org, name="Feature", default_treatment="billable")
    client = api(developer)
    assert listed(client, "request-types/?is_catch_all=true") == ["Other"]
    assert listed(client, "request-types/?default_treatment=billable") == ["Feature"]


def test_a_request_type_with_no_expected_time_is_a_400(api, admin_member):
    response = api(admin_member).post(
        f"{API}/request-types/", {"name": "Nothing", "expected_minutes": 0}
    )
    assert response.status_code == 400 and "expected_minutes" in response.json()["fields"]


# --- scope rules ----------------------------------------------------------------------
@pytest.mark.parametrize("role,allowed", MANAGERS_WRITE.items())
def test_admins_and_account_managers_write_scope_rules(api, members, org, contract, role, allowed):
    request_type = RequestTypeFactory(organization=org, name="Troubleshooting")
    response = api(members[role]).post(
        f"{API}/scope-rules/",
        {
            "contract": contract.pk,
            "request_type": request_type.pk,
            "treatment": "included",
            "expected_minutes": 60,
        },
    )
    assert response.status_code == (201 if allowed else 403)
    if allowed:
        assert response.json()["in_plain_words"] == "Troubleshooting — included, about 60 min"
    assert count(ScopeRule) == (1 if allowed else 0)


def test_a_scope_rule_with_foreign_ids_is_a_400(api, account_manager, org, other_org, contract):
    foreign_type = RequestTypeFactory(organization=other_org)
    foreign_contract = ContractFactory(client__organization=other_org)
    own_type = RequestTypeFactory(organization=org)
    client = api(account_manager)
    response = client.post(
        f"{API}/scope-rules/",
        {"contract": contract.pk, "request_type": foreign_type.pk, "treatment": "billable"},
    )
    assert response.status_code == 400 and "request_type" in response.json()["fields"]
    response = client.post(
        f"{API}/scope-rules/",
        {"contract": foreign_contract.pk, "request_type": own_type.pk, "treatment": "billable"},
    )
    assert response.status_code == 400 and "contract" in response.json()["fields"]
    assert count(ScopeRule) == 0


def test_a_planned_revision_is_corrected_with_patch_and_its_words_follow(
    api, account_manager, contract, org
):
    rule = ScopeRuleFactory(contract=contract, request_type__name="New feature")
    planned = ScopeRuleFactory(
        contract=contract, request_type=rule.request_type, effective_from=tomorrow(org)
    )
    response = api(account_manager).patch(
        f"{API}/scope-rules/{planned.pk}/", {"treatment": "needs_approval"}
    )
    assert response.status_code == 200
    assert response.json()["id"] == planned.pk
    assert response.json()["in_plain_words"] == "New feature — needs approval"
    assert count(ScopeRule) == 2


def test_scope_rules_filter_by_contract_client_request_type_and_treatment(
    api, developer, org, contract
):
    rule = ScopeRuleFactory(contract=contract, treatment="billable")
    ScopeRuleFactory(contract__client__organization=org, treatment="included")
    client = api(developer)
    for query in (
        f"contract={contract.pk}",
        f"client={contract.client_id}",
        f"request_type={rule.request_type_id}",
        "treatment=billable",
    ):
        assert listed(client, f"scope-rules/?{query}", "id") == [rule.pk], query


def test_filtering_scope_rules_by_a_foreign_contract_is_a_400(api, developer, foreign_contract):
    response = api(developer).get(f"{API}/scope-rules/?contract={foreign_contract.pk}")
    assert response.status_code == 400


def test_deleting_a_rule_in_force_ends_it_from_today_and_keeps_its_history(
    api, account_manager, contract, org
):
    rule = ScopeRuleFactory(contract=contract)
    assert api(account_manager).delete(f"{API}/scope-rules/{rule.pk}/").status_code == 204
    with scopes_disabled():
        revisions = list(ScopeRule.objects.order_by("effective_from"))
    assert [(r.pk == rule.pk, r.effective_from, r.removed) for r in revisions] == [
        (True, contract.starts_on, False),
        (False, today(org), True),
    ]


# --- SLA targets and pricing ---------------------------------------------------------
@pytest.mark.parametrize("role,allowed", ADMINS_WRITE.items())
def test_only_admins_write_sla_targets(api, members, contract, role, allowed):
    response = api(members[role]).post(
        f"{API}/sla-targets/",
        {
            "contract": contract.pk,
            "priority": "urgent",
            "first_response_minutes": 15,
            "resolution_minutes": 240,
        },
    )
    assert response.status_code == (201 if allowed else 403)
    assert count(SLATarget) == (1 if allowed else 0)


def test_an_sla_target_that_resolves_before_it_responds_is_a_400(api, admin_member, contract):
    response = api(admin_member).post(
        f"{API}/sla-targets/",
        {
            "contract": contract.pk,
            "priority": "urgent",
            "first_response_minutes": 60,
            "resolution_minutes": 15,
        },
    )
    assert response.status_code == 400 and "resolution_minutes" in response.json()["fields"]


def test_sla_targets_filter_by_priority_and_reject_foreign_contracts(
    api, admin_member, contract, foreign_contract
):
    SLATargetFactory(contract=contract, priority="high")
    SLATargetFactory(contract=contract, priority="low")
    client = api(admin_member)
    rows = client.get(f"{API}/sla-targets/?priority=high").json()["results"]
    assert [row["priority"] for row in rows] == ["high"]
    response = client.post(
        f"{API}/sla-targets/",
        {
            "contract": foreign_contract.pk,
            "priority": "urgent",
            "first_response_minutes": 5,
            "resolution_minutes": 60,
        },
    )
    assert response.status_code == 400 and "contract" in response.json()["fields"]


@pytest.fixture
def per_unit(org):
    return ContractFactory(client__organization=org, kind=Contract.Kind.PER_UNIT)


@pytest.mark.parametrize("role,allowed", ADMINS_WRITE.items())
def test_only_admins_write_pricing_tiers_and_unit_counts(api, members, per_unit, role, allowed):
    client = api(members[role])
    tier = client.post(
        f"{API}/pricing-tiers/", {"contract": per_unit.pk, "min_units": 1, "unit_price": "12.50"}
    )
    units = client.post(
        f"{API}/unit-counts/", {"contract": per_unit.pk, "month": "2025-03-01", "units": 40}
    )
    assert tier.status_code == units.status_code == (201 if allowed else 403)
    if allowed:
        assert tier.json()["unit_price"] == "12.50"
    assert count(PricingTier) == count(UnitCount) == (1 if allowed else 0)


def test_overlapping_tiers_and_tiers_on_other_kinds_are_a_400(
    api, admin_member, per_unit, contract
):
    client = api(admin_member)
    client.post(
        f"{API}/pricing-tiers/",
        {"contract": per_unit.pk, "min_units": 1, "max_units": 10, "unit_price": "5"},
    )
    overlap = client.post(
        f"{API}/pricing-tiers/", {"contract": per_unit.pk, "min_units": 5, "unit_price": "4"}
    )
    assert overlap.status_code == 400 and "min_units" in overlap.json()["fields"]
    retainer = client.post(
        f"{API}/pricing-tiers/", {"contract": contract.pk, "min_units": 1, "unit_price": "4"}
    )
    assert retainer.status_code == 400 and "contract" in retainer.json()["fields"]


def test_posting_a_months_units_again_replaces_them_and_a_patch_changes_units_only(
    api, admin_member, per_unit
):
    client = api(admin_member)
    first = client.post(
        f"{API}/unit-counts/", {"contract": per_unit.pk, "month": "2025-03-09", "units": 40}
    ).json()
    again = client.post(
        f"{API}/unit-counts/", {"contract": per_unit.pk, "month": "2025-03-01", "units": 41}
    ).json()
    assert first["id"] == again["id"] and again["units"] == 41 and again["month"] == "2025-03-01"
    moved = client.patch(f"{API}/unit-counts/{first['id']}/", {"month": "2025-04-01"})
    assert moved.status_code == 400 and "month" in moved.json()["fields"]
    patched = client.patch(f"{API}/unit-counts/{first['id']}/", {"units": 50})
    assert patched.json()["units"] == 50


def test_unit_counts_filter_by_contract_and_month(api, developer, per_unit):
    with scopes_disabled():
        for month in (1, 2, 3):
            UnitCount.objects.create(
                organization=per_unit.organization,
                contract=per_unit,
                month=datetime.date(2025, month, 1),
                units=month,
            )
    rows = (
        api(developer)
        .get(f"{API}/unit-counts/?contract={per_unit.pk}&month_after=2025-02-01")
        .json()["results"]
    )
    assert sorted(row["units"] for row in rows) == [2, 3]


def test_rate_overrides_are_decimal_strings(api, developer, contract):
    ScopeRuleFactory(contract=contract, treatment="billable", rate_override=Decimal("99.5"))
    row = api(developer).get(f"{API}/scope-rules/").json()["results"][0]
    assert row["rate_override"] == "99.50"
