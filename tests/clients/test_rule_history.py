"""Scope rules have history: an edit is a new revision from a date, work is
judged by the revision in force on its work date, and excluded work always
has a rate to fall back to."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from clients import services
from clients.models import Contract, ContractRevision, ScopeRule, Treatment
from clients.rules import applicable_rule
from clients.selectors import (
    client_page,
    organization_today,
    scope_rule_history,
    scope_rule_list,
    scope_rules_in_force_on,
)
from tests.factories import (
    ContractFactory,
    ContractRevisionFactory,
    RequestTypeFactory,
    ScopeRuleFactory,
)

JAN_1 = datetime.date(2025, 1, 1)


@pytest.fixture
def scoped(in_scope, org):
    with in_scope(org):
        yield


@pytest.fixture
def today(org) -> datetime.date:
    return organization_today(organization=org)


def day(today: datetime.date, n: int) -> datetime.date:
    return today + datetime.timedelta(days=n)


@pytest.fixture
def contract(org):
    return ContractRevisionFactory(
        contract__client__organization=org, hourly_rate=Decimal("120.00")
    ).contract


@pytest.fixture
def rule(contract):
    return ScopeRuleFactory(
        contract=contract,
        request_type__name="Troubleshooting",
        treatment=Treatment.INCLUDED,
        expected_minutes=60,
        explanation="Covered.",
    )


def errors_of(excinfo) -> dict:
    return excinfo.value.message_dict


def history(rule: ScopeRule) -> list[tuple]:
    return list(
        ScopeRule.objects.filter(contract=rule.contract, request_type=rule.request_type)
        .order_by("effective_from")
        .values_list("effective_from", "treatment", "expected_minutes", "removed")
    )


# --- editing adds a revision -------------------------------------------------------------
def test_an_edit_is_a_new_revision_from_today_and_the_old_one_stays_as_it_was(scoped, rule, today):
    revision = services.scope_rule_update(scope_rule=rule, data={"expected_minutes": 90})
    assert revision.pk != rule.pk and revision.effective_from == today
    assert history(rule) == [
        (JAN_1, "included", 60, False),
        (today, "included", 90, False),
    ]


def test_work_is_judged_by_the_revision_in_force_on_its_work_date(scoped, rule, today):
    services.scope_rule_update(
        scope_rule=rule, data={"treatment": Treatment.BILLABLE}, effective_from=day(today, 5)
    )
    client, request_type = rule.contract.client, rule.request_type
    before = applicable_rule(client=client, request_type=request_type, on=day(today, 4))
    after = applicable_rule(client=client, request_type=request_type, on=day(today, 5))
    assert before.treatment == "included" and after.treatment == "billable"


def test_fields_left_out_carry_over_from_the_revision_in_force_on_that_date(scoped, rule, today):
    services.scope_rule_update(
        scope_rule=rule, data={"explanation": "Planned."}, effective_from=day(today, 10)
    )
    later = services.scope_rule_update(
        scope_rule=rule, data={"expected_minutes": 30}, effective_from=day(today, 20)
    )
    assert later.explanation == "Planned." and later.expected_minutes == 30


def test_a_revision_may_fall_between_two_planned_ones(scoped, rule, today):
    services.scope_rule_update(
        scope_rule=rule, data={"expected_minutes": 30}, effective_from=day(today, 20)
    )
    services.scope_rule_update(
        scope_rule=rule, data={"expected_minutes": 45}, effective_from=day(today, 10)
    )
    assert [minutes for *_, minutes, _ in history(rule)] == [60, 45, 30]


def test_a_second_edit_on_a_day_already_in_force_is_refused_and_changes_nothing(
    scoped, rule, today
):
    services.scope_rule_update(scope_rule=rule, data={"expected_minutes": 90})
    with pytest.raises(ValidationError) as excinfo:
        services.scope_rule_update(scope_rule=rule, data={"expected_minutes": 120})
    assert errors_of(excinfo)["effective_from"] == [
        "A revision from that date already exists and work may already be judged by it: "
        "choose a later date."
    ]
    assert [minutes for *_, minutes, _ in history(rule)] == [60, 90]


def test_a_planned_revision_is_corrected_in_place_on_its_own_date(scoped, rule, today):
    planned = services.scope_rule_update(
        scope_rule=rule, data={"expected_minutes": 90}, effective_from=day(today, 3)
    )
    corrected = services.scope_rule_update(
        scope_rule=rule, data={"expected_minutes": 75}, effective_from=day(today, 3)
    )
    assert corrected.pk == planned.pk
    assert [minutes for *_, minutes, _ in history(rule)] == [60, 75]


def test_a_new_revision_cannot_start_in_the_past(scoped, rule, today):
    with pytest.raises(ValidationError) as excinfo:
        services.scope_rule_update(
            scope_rule=rule, data={"expected_minutes": 90}, effective_from=day(today, -1)
        )
    assert "starts today or later" in errors_of(excinfo)["effective_from"][0]
    assert len(history(rule)) == 1


def test_a_revision_outside_the_contract_is_refused(scoped, org, today):
    contract = ContractRevisionFactory(
        contract__client__organization=org,
        contract__starts_on=day(today, 10),
        contract__ends_on=day(today, 100),
    ).contract
    rule = ScopeRuleFactory(contract=contract)
    for when, words in ((day(today, 5), "starts on"), (day(today, 101), "ends on")):
        with pytest.raises(ValidationError) as excinfo:
            services.scope_rule_update(
                scope_rule=rule, data={"expected_minutes": 5}, effective_from=when
            )
        assert words in errors_of(excinfo)["effective_from"][0]


def test_a_rule_moves_neither_contract_nor_request_type(scoped, org, rule):
    for field, value in (
        ("contract", ContractFactory(client=rule.contract.client, name="Other")),
        ("request_type", RequestTypeFactory(organization=org)),
    ):
        with pytest.raises(ValidationError) as excinfo:
            services.scope_rule_update(scope_rule=rule, data={field: value})
        assert field in errors_of(excinfo)


# --- creating --------------------------------------------------------------------------
def test_a_new_rule_on_a_contract_not_started_yet_starts_with_the_contract(scoped, org, today):
    contract = ContractRevisionFactory(
        contract__client__organization=org, contract__starts_on=day(today, 30)
    ).contract
    rule = services.scope_rule_create(
        organization=org,
        contract=contract,
        request_type=RequestTypeFactory(organization=org),
        treatment=Treatment.INCLUDED,
    )
    assert rule.effective_from == day(today, 30)


def test_a_rules_first_revision_may_record_a_rule_agreed_when_the_contract_started(
    scoped, org, contract
):
    rule = services.scope_rule_create(
        organization=org,
        contract=contract,
        request_type=RequestTypeFactory(organization=org),
        treatment=Treatment.BILLABLE,
        effective_from=JAN_1,
    )
    assert rule.effective_from == JAN_1


def test_an_ended_rule_can_be_started_again_from_today_and_keeps_its_history(
    scoped, org, rule, today
):
    services.scope_rule_delete(scope_rule=rule, effective_from=day(today, 2))
    again = services.scope_rule_create(
        organization=org,
        contract=rule.contract,
        request_type=rule.request_type,
        treatment=Treatment.BILLABLE,
        effective_from=day(today, 9),
    )
    assert again.treatment == "billable"
    assert [removed for *_, removed in history(rule)] == [False, True, False]


# --- ending ----------------------------------------------------------------------------
def test_ending_a_rule_adds_a_removed_revision_and_older_work_keeps_the_rule(scoped, rule, today):
    removal = services.scope_rule_delete(scope_rule=rule, effective_from=day(today, 7))
    assert removal.removed and removal.effective_from == day(today, 7)
    client, request_type = rule.contract.client, rule.request_type
    assert applicable_rule(client=client, request_type=request_type, on=day(today, 6)).rule == rule
    assert applicable_rule(client=client, request_type=request_type, on=day(today, 7)).rule is None


def test_a_planned_revision_that_is_deleted_is_withdrawn(scoped, rule, today):
    planned = services.scope_rule_update(
        scope_rule=rule, data={"expected_minutes": 90}, effective_from=day(today, 3)
    )
    assert services.scope_rule_delete(scope_rule=planned) is None
    assert history(rule) == [(JAN_1, "included", 60, False)]


def test_ending_a_rule_withdraws_the_revisions_planned_after_that_date(scoped, rule, today):
    services.scope_rule_update(
        scope_rule=rule, data={"expected_minutes": 90}, effective_from=day(today, 30)
    )
    services.scope_rule_delete(scope_rule=rule, effective_from=day(today, 10))
    assert history(rule) == [(JAN_1, "included", 60, False), (day(today, 10), "included", 60, True)]


def test_a_rule_that_has_ended_cannot_be_ended_again(scoped, rule, today):
    services.scope_rule_delete(scope_rule=rule)
    with pytest.raises(ValidationError) as excinfo:
        services.scope_rule_delete(scope_rule=rule, effective_from=day(today, 5))
    assert "nothing to end" in errors_of(excinfo)["effective_from"][0]


def test_ending_a_rule_in_the_past_is_refused(scoped, rule, today):
    with pytest.raises(ValidationError) as excinfo:
        services.scope_rule_delete(scope_rule=rule, effective_from=day(today, -3))
    assert "effective_from" in errors_of(excinfo)
    assert len(history(rule)) == 1


# --- excluded work needs a rate ----------------------------------------------------------
@pytest.fixture
def unpriced(org):
    """A contract whose terms have no hourly rate."""
    return ContractRevisionFactory(
        contract__client__organization=org, hourly_rate=Decimal("0")
    ).contract


def test_excluded_work_is_refused_on_a_contract_without_an_hourly_rate(scoped, org, unpriced):
    with pytest.raises(ValidationError) as excinfo:
        services.scope_rule_create(
            organization=org,
            contract=unpriced,
            request_type=RequestTypeFactory(organization=org),
            treatment=Treatment.EXCLUDED,
        )
    assert "falls back to billable" in errors_of(excinfo)["treatment"][0]
    assert not ScopeRule.objects.exists()


def test_excluded_work_with_a_rate_override_needs_no_hourly_rate(scoped, org, unpriced):
    rule = services.scope_rule_create(
        organization=org,
        contract=unpriced,
        request_type=RequestTypeFactory(organization=org),
        treatment=Treatment.EXCLUDED,
        rate_override=Decimal("95.00"),
    )
    assert rule.pk


def test_excluded_work_is_refused_when_later_terms_have_no_hourly_rate(
    scoped, org, contract, today
):
    ContractRevisionFactory(contract=contract, effective_from=day(today, 60), hourly_rate=0)
    with pytest.raises(ValidationError) as excinfo:
        services.scope_rule_create(
            organization=org,
            contract=contract,
            request_type=RequestTypeFactory(organization=org),
            treatment=Treatment.EXCLUDED,
        )
    assert day(today, 60).isoformat() in errors_of(excinfo)["treatment"][0]


def test_an_edit_to_excluded_without_a_rate_is_refused(scoped, unpriced):
    rule = ScopeRuleFactory(contract=unpriced, treatment=Treatment.BILLABLE, rate_override=50)
    with pytest.raises(ValidationError) as excinfo:
        services.scope_rule_update(
            scope_rule=rule, data={"treatment": Treatment.EXCLUDED, "rate_override": None}
        )
    assert "treatment" in errors_of(excinfo)


def test_terms_without_an_hourly_rate_are_refused_while_a_rule_excludes_work(scoped, org, contract):
    ScopeRuleFactory(contract=contract, request_type__name="Hardware", treatment=Treatment.EXCLUDED)
    with pytest.raises(ValidationError) as excinfo:
        services.contract_revision_create(
            organization=org,
            contract=contract,
            effective_from=datetime.date(2025, 7, 1),
            terms={"hourly_rate": "0"},
        )
    assert "“Hardware”" in errors_of(excinfo)["hourly_rate"][0]
    assert contract.revisions.count() == 1


def test_terms_without_an_hourly_rate_are_fine_once_the_excluded_rule_has_ended(
    scoped, org, contract, today
):
    rule = ScopeRuleFactory(contract=contract, treatment=Treatment.EXCLUDED)
    services.scope_rule_delete(scope_rule=rule, effective_from=day(today, 5))
    revision = services.contract_revision_create(
        organization=org, contract=contract, effective_from=day(today, 5), terms={"hourly_rate": 0}
    )
    assert revision.hourly_rate == 0


def test_withdrawing_the_terms_that_gave_excluded_work_its_rate_is_refused(
    scoped, org, unpriced, today
):
    priced = services.contract_revision_create(
        organization=org,
        contract=unpriced,
        effective_from=day(today, 10),
        terms={"hourly_rate": "100"},
    )
    ScopeRuleFactory(contract=unpriced, treatment=Treatment.EXCLUDED, effective_from=day(today, 20))
    with pytest.raises(ValidationError):
        services.contract_revision_delete(revision=priced, today=today)
    assert ContractRevision.objects.filter(
        contract=unpriced, effective_from=day(today, 10)
    ).exists()


# --- the re-ask factor is a contract term ---------------------------------------------------
def test_the_reask_factor_is_a_term_that_carries_over_and_is_at_least_two(scoped, org, contract):
    services.contract_revision_create(
        organization=org,
        contract=contract,
        effective_from=datetime.date(2025, 3, 1),
        terms={"reask_factor": 3},
    )
    later = services.contract_revision_create(
        organization=org, contract=contract, effective_from=datetime.date(2025, 4, 1)
    )
    assert later.reask_factor == 3
    with pytest.raises(ValidationError) as excinfo:
        services.contract_revision_create(
            organization=org,
            contract=contract,
            effective_from=datetime.date(2025, 5, 1),
            terms={"reask_factor": 1},
        )
    assert "2 or more" in errors_of(excinfo)["reask_factor"][0]


def test_a_new_contracts_first_terms_ask_again_at_twice_the_expected_time(scoped, org):
    contract = services.contract_create(
        organization=org,
        client=ContractFactory(client__organization=org).client,
        name="Fresh",
        kind=Contract.Kind.TIME_AND_MATERIALS,
        starts_on=JAN_1,
        terms={"hourly_rate": "100"},
    )
    assert contract.revisions.get().reask_factor == 2


# --- selectors -------------------------------------------------------------------------------
def test_a_rules_history_is_every_revision_newest_first(scoped, org, rule, today):
    planned = services.scope_rule_update(
        scope_rule=rule, data={"expected_minutes": 90}, effective_from=day(today, 3)
    )
    ScopeRuleFactory(contract=rule.contract)  # another rule
    assert scope_rule_history(organization=org, scope_rule=rule) == [planned, rule]


def test_in_force_on_gives_one_revision_per_rule_and_none_for_an_ended_rule(
    scoped, org, rule, today
):
    planned = services.scope_rule_update(
        scope_rule=rule, data={"expected_minutes": 90}, effective_from=day(today, 3)
    )
    services.scope_rule_delete(scope_rule=rule, effective_from=day(today, 6))
    rows = scope_rule_list(organization=org)
    assert list(scope_rules_in_force_on(rows, on=today)) == [rule]
    assert list(scope_rules_in_force_on(rows, on=day(today, 3))) == [planned]
    assert list(scope_rules_in_force_on(rows, on=day(today, 6))) == []


def test_the_client_page_shows_the_rule_in_force_its_planned_revisions_and_its_history(
    scoped, org, rule, today
):
    planned = services.scope_rule_update(
        scope_rule=rule, data={"expected_minutes": 90}, effective_from=day(today, 3)
    )
    ended = ScopeRuleFactory(contract=rule.contract, request_type__name="Password reset")
    services.scope_rule_delete(scope_rule=ended)
    card = client_page(organization=org, client=rule.contract.client).contracts[0]
    (row,) = card.rules
    assert row.rule == rule and row.in_force
    assert [revision for revision, _ in row.planned] == [planned]
    assert row.history == [planned, rule]
    assert [r.rule.request_type.name for r in card.ended_rules] == ["Password reset"]
    assert "Password reset" in [rt.name for rt in card.unruled_request_types]
