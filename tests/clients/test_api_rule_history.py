"""The scope-rules endpoint serves revisions: POST adds one, PATCH corrects only
a planned one, DELETE ends a rule, ``in_force_on`` answers "which revision"."""

import datetime
from decimal import Decimal

import pytest
from django_scopes import scopes_disabled

from clients.models import ScopeRule, Treatment
from clients.selectors import organization_today
from tests.factories import (
    ContractRevisionFactory,
    RequestTypeFactory,
    ScopeRuleFactory,
)

API = "/api/v1/scope-rules/"
JAN_1 = datetime.date(2025, 1, 1)


def days(org, n: int) -> datetime.date:
    return organization_today(organization=org) + datetime.timedelta(days=n)


def revisions(**filters) -> list[ScopeRule]:
    with scopes_disabled():
        return list(ScopeRule.objects.filter(**filters).order_by("effective_from"))


@pytest.fixture
def contract(org):
    return ContractRevisionFactory(contract__client__organization=org).contract


@pytest.fixture
def rule(contract):
    return ScopeRuleFactory(
        contract=contract,
        request_type__name="Troubleshooting",
        treatment=Treatment.INCLUDED,
        expected_minutes=60,
        explanation="Covered.",
    )


def test_a_revision_shows_its_date_whether_it_ends_the_rule_and_when_it_was_made(
    api, developer, rule
):
    row = api(developer).get(f"{API}{rule.pk}/").json()
    assert row["effective_from"] == "2025-01-01" and row["removed"] is False
    assert row["created_at"]


def test_posting_the_first_revision_without_a_date_starts_the_rule_today(
    api, account_manager, org, contract
):
    request_type = RequestTypeFactory(organization=org, name="Password reset")
    response = api(account_manager).post(
        API, {"contract": contract.pk, "request_type": request_type.pk, "treatment": "included"}
    )
    assert response.status_code == 201
    assert response.json()["effective_from"] == days(org, 0).isoformat()


def test_posting_for_a_rule_that_exists_adds_a_revision_and_leaves_the_old_one(
    api, account_manager, org, rule
):
    response = api(account_manager).post(
        API,
        {
            "contract": rule.contract_id,
            "request_type": rule.request_type_id,
            "expected_minutes": 90,
            "effective_from": days(org, 7).isoformat(),
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["id"] != rule.pk and body["effective_from"] == days(org, 7).isoformat()
    assert body["treatment"] == "included" and body["expected_minutes"] == 90  # carried over
    old, new = revisions()
    assert old.pk == rule.pk and old.expected_minutes == 60 and new.expected_minutes == 90


def test_posting_a_revision_in_the_past_is_a_400_on_its_date(api, account_manager, org, rule):
    response = api(account_manager).post(
        API,
        {
            "contract": rule.contract_id,
            "request_type": rule.request_type_id,
            "treatment": "billable",
            "effective_from": days(org, -1).isoformat(),
        },
    )
    assert response.status_code == 400 and "effective_from" in response.json()["fields"]
    assert len(revisions()) == 1


@pytest.mark.parametrize("method", ["patch", "put"])
def test_a_revision_in_force_cannot_be_edited_and_the_answer_says_to_post_a_new_one(
    api, account_manager, rule, method
):
    payload = {"contract": rule.contract_id, "request_type": rule.request_type_id}
    response = getattr(api(account_manager), method)(
        f"{API}{rule.pk}/", {**payload, "treatment": "billable"}
    )
    assert response.status_code == 400
    assert "POST a new revision" in response.json()["fields"]["effective_from"][0]
    assert revisions()[0].treatment == "included"


def test_a_planned_revision_keeps_its_date_when_patched(api, account_manager, org, rule):
    planned = ScopeRuleFactory(
        contract=rule.contract, request_type=rule.request_type, effective_from=days(org, 10)
    )
    response = api(account_manager).patch(
        f"{API}{planned.pk}/", {"effective_from": days(org, 12).isoformat()}
    )
    assert (
        response.status_code == 400
        and "keeps its date" in response.json()["fields"]["effective_from"][0]
    )


def test_deleting_a_planned_revision_withdraws_it(api, account_manager, org, rule):
    planned = ScopeRuleFactory(
        contract=rule.contract, request_type=rule.request_type, effective_from=days(org, 10)
    )
    assert api(account_manager).delete(f"{API}{planned.pk}/").status_code == 204
    assert [r.pk for r in revisions()] == [rule.pk]


def test_deleting_with_a_date_ends_the_rule_from_that_date(api, account_manager, org, rule):
    ends = days(org, 30)
    response = api(account_manager).delete(f"{API}{rule.pk}/?effective_from={ends.isoformat()}")
    assert response.status_code == 204
    assert [(r.effective_from, r.removed) for r in revisions()] == [
        (JAN_1, False),
        (ends, True),
    ]


def test_a_developer_cannot_end_a_rule(api, developer, rule):
    assert api(developer).delete(f"{API}{rule.pk}/").status_code == 403
    assert len(revisions()) == 1


def test_in_force_on_lists_the_revision_in_force_per_rule_and_leaves_ended_rules_out(
    api, developer, org, contract, rule
):
    june = ScopeRuleFactory(
        contract=contract,
        request_type=rule.request_type,
        treatment=Treatment.BILLABLE,
        effective_from=datetime.date(2025, 6, 1),
    )
    ended = ScopeRuleFactory(contract=contract, request_type__name="Password reset")
    ScopeRuleFactory(
        contract=contract,
        request_type=ended.request_type,
        effective_from=datetime.date(2025, 3, 1),
        removed=True,
    )
    ScopeRuleFactory(contract__client__organization=org)  # another contract's rule
    client = api(developer)

    def in_force_on(day: str) -> set[int]:
        url = f"{API}?in_force_on={day}&contract={contract.pk}"
        return {row["id"] for row in client.get(url).json()["results"]}

    assert in_force_on("2024-12-31") == set()
    assert in_force_on("2025-02-01") == {rule.pk, ended.pk}
    assert in_force_on("2025-05-31") == {rule.pk}
    assert in_force_on("2025-06-01") == {june.pk}


def test_in_force_on_must_be_a_date(api, developer):
    assert api(developer).get(f"{API}?in_force_on=soon").status_code == 400


def test_excluded_work_on_a_contract_without_an_hourly_rate_is_a_400_on_treatment(
    api, account_manager, org
):
    contract = ContractRevisionFactory(
        contract__client__organization=org, hourly_rate=Decimal("0")
    ).contract
    request_type = RequestTypeFactory(organization=org)
    response = api(account_manager).post(
        API, {"contract": contract.pk, "request_type": request_type.pk, "treatment": "excluded"}
    )
    assert response.status_code == 400
    assert "falls back to billable" in response.json()["fields"]["treatment"][0]


def test_a_rule_of_another_organization_is_a_404_for_every_write(api, admin_member, other_org):
    foreign = ScopeRuleFactory(contract__client__organization=other_org)
    client = api(admin_member)
    assert client.patch(f"{API}{foreign.pk}/", {"treatment": "billable"}).status_code == 404
    assert client.delete(f"{API}{foreign.pk}/").status_code == 404
    assert [(r.pk, r.removed) for r in revisions()] == [(foreign.pk, False)]


def test_contract_revisions_carry_the_reask_factor(api, admin_member, org, contract):
    client = api(admin_member)
    response = client.post(
        "/api/v1/contract-revisions/",
        {"contract": contract.pk, "effective_from": "2025-07-01", "reask_factor": 3},
    )
    assert response.status_code == 201 and response.json()["reask_factor"] == 3
    response = client.post(
        "/api/v1/contract-revisions/",
        {"contract": contract.pk, "effective_from": "2025-08-01", "reask_factor": 1},
    )
    assert response.status_code == 400 and "reask_factor" in response.json()["fields"]
