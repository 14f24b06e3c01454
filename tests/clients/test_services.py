import datetime
from decimal import Decimal
from functools import partial

import pytest
from django.core.exceptions import ValidationError

from clients import services
from clients.models import (
    Client,
    Contract,
    ContractRevision,
    PricingTier,
    RequestType,
    ScopeRule,
    SLATarget,
    Treatment,
    UnitCount,
)
from clients.rules import applicable_rule, contract_terms_on
from clients.selectors import (
    client_list,
    client_page,
    organization_today,
    scope_rule_in_plain_words,
)
from tests.factories import (
    ClientFactory,
    ContractFactory,
    ContractRevisionFactory,
    RequestTypeFactory,
    ScopeRuleFactory,
    SLATargetFactory,
)

JAN_1 = datetime.date(2025, 1, 1)


def errors_of(excinfo) -> dict:
    return excinfo.value.message_dict


@pytest.fixture
def scoped(in_scope, org):
    with in_scope(org):
        yield


# --- clients ----------------------------------------------------------------
def test_a_client_is_created_with_its_account_manager_and_billing_notes(
    scoped, org, account_manager
):
    client = services.client_create(
        organization=org,
        name="  Acme  ",
        account_manager=account_manager,
        billing_notes="PO required",
    )
    assert client.pk and client.name == "Acme"
    assert client.organization == org and client.account_manager == account_manager


def test_a_client_name_must_be_unique_in_the_organization_whatever_its_case(scoped, org):
    ClientFactory(organization=org, name="Acme")
    with pytest.raises(ValidationError) as excinfo:
        services.client_create(organization=org, name="ACME")
    assert "already a client called" in errors_of(excinfo)["name"][0]
    assert Client.objects.count() == 1


def test_another_organization_may_use_the_same_client_name(scoped, org, other_org):
    ClientFactory(organization=other_org, name="Acme")
    assert services.client_create(organization=org, name="Acme").pk


def test_an_account_manager_from_another_organization_is_refused(scoped, org, stranger):
    with pytest.raises(ValidationError) as excinfo:
        services.client_create(organization=org, name="Acme", account_manager=stranger)
    assert errors_of(excinfo)["account_manager"] == ["Choose one from this organization."]


def test_a_developer_cannot_be_a_clients_account_manager(scoped, org, developer):
    with pytest.raises(ValidationError) as excinfo:
        services.client_create(organization=org, name="Acme", account_manager=developer)
    assert "account_manager" in errors_of(excinfo)


def test_every_problem_is_reported_at_once(scoped, org, developer):
    with pytest.raises(ValidationError) as excinfo:
        services.client_create(
            organization=org, name="", status="paused", account_manager=developer
        )
    assert {"name", "status", "account_manager"} <= set(errors_of(excinfo))


def test_updating_a_client_changes_only_what_is_given(scoped, org, account_manager):
    client = ClientFactory(organization=org, name="Acme", billing_notes="old")
    services.client_update(
        client=client,
        data={"status": Client.Status.OFFBOARDING, "account_manager": account_manager},
    )
    client.refresh_from_db()
    assert client.status == "offboarding" and client.billing_notes == "old"
    assert client.account_manager == account_manager


def test_an_invalid_update_leaves_the_client_as_it_was(scoped, org):
    client = ClientFactory(organization=org, name="Acme")
    ClientFactory(organization=org, name="Beta")
    with pytest.raises(ValidationError):
        services.client_update(client=client, data={"name": "Beta", "billing_notes": "x"})
    client.refresh_from_db()
    assert client.name == "Acme" and client.billing_notes != "x"


def test_a_field_that_is_not_editable_is_refused(scoped, org):
    client = ClientFactory(organization=org)
    with pytest.raises(ValidationError) as excinfo:
        services.client_update(client=client, data={"organization": org})
    assert "organization" in errors_of(excinfo)


def test_a_client_with_contracts_cannot_be_deleted(scoped, org):
    contract = ContractFactory(client__organization=org)
    with pytest.raises(ValidationError):
        services.client_delete(client=contract.client)
    assert Client.objects.filter(pk=contract.client_id).exists()


# --- contracts ----------------------------------------------------------------
def test_a_contract_is_created_with_its_first_terms_in_one_go(scoped, org):
    client = ClientFactory(organization=org)
    contract = services.contract_create(
        organization=org,
        client=client,
        name="Support",
        kind=Contract.Kind.RETAINER,
        starts_on=JAN_1,
        terms={"fee": Decimal("2000"), "included_minutes": 1200, "hourly_rate": Decimal("120")},
    )
    revision = contract.revisions.get()
    assert revision.effective_from == JAN_1
    assert revision.fee == Decimal("2000.00") and revision.included_minutes == 1200
    assert revision.organization_id == org.pk
    assert contract_terms_on(contract=contract, on=JAN_1) == revision


def test_a_contracts_currency_defaults_to_the_organizations(scoped, org):
    contract = services.contract_create(
        organization=org,
        client=ClientFactory(organization=org),
        name="Support",
        kind=Contract.Kind.TIME_AND_MATERIALS,
        starts_on=JAN_1,
    )
    assert contract.currency == org.currency == "EUR"


def test_a_currency_is_normalised_or_refused(scoped, org):
    client = ClientFactory(organization=org)
    contract = services.contract_create(
        organization=org, client=client, name="A", kind="fixed_fee", starts_on=JAN_1, currency="usd"
    )
    assert contract.currency == "USD"
    with pytest.raises(ValidationError) as excinfo:
        services.contract_create(
            organization=org,
            client=client,
            name="B",
            kind="fixed_fee",
            starts_on=JAN_1,
            currency="U$",
        )
    assert "currency" in errors_of(excinfo)


def test_a_contract_for_a_client_of_another_organization_is_refused(scoped, org, other_org):
    foreign = ClientFactory(organization=other_org)
    with pytest.raises(ValidationError) as excinfo:
        services.contract_create(
            organization=org, client=foreign, name="X", kind="retainer", starts_on=JAN_1
        )
    assert errors_of(excinfo)["client"] == ["Choose one from this organization."]


def test_a_contract_that_ends_before_it_starts_is_refused_and_nothing_is_saved(scoped, org):
    with pytest.raises(ValidationError) as excinfo:
        services.contract_create(
            organization=org,
            client=ClientFactory(organization=org),
            name="Support",
            kind="retainer",
            starts_on=JAN_1,
            ends_on=JAN_1,
        )
    assert "ends_on" in errors_of(excinfo)
    assert not Contract.objects.exists() and not ContractRevision.objects.exists()


def test_bad_first_terms_refuse_the_whole_contract(scoped, org):
    with pytest.raises(ValidationError) as excinfo:
        services.contract_create(
            organization=org,
            client=ClientFactory(organization=org),
            name="Support",
            kind="retainer",
            starts_on=JAN_1,
            terms={"fee": Decimal("-1"), "rounding_increment_minutes": 90},
        )
    assert {"fee", "rounding_increment_minutes"} <= set(errors_of(excinfo))
    assert not Contract.objects.exists()


def test_a_block_of_hours_needs_its_prepaid_minutes(scoped, org):
    with pytest.raises(ValidationError) as excinfo:
        services.contract_create(
            organization=org,
            client=ClientFactory(organization=org),
            name="Block",
            kind=Contract.Kind.BLOCK,
            starts_on=JAN_1,
        )
    assert "included_minutes" in errors_of(excinfo)


def test_an_ended_client_gets_no_new_contract(scoped, org):
    client = ClientFactory(organization=org, status=Client.Status.ENDED)
    with pytest.raises(ValidationError) as excinfo:
        services.contract_create(
            organization=org, client=client, name="X", kind="retainer", starts_on=JAN_1
        )
    assert "client" in errors_of(excinfo)


def test_moving_a_contracts_start_moves_its_first_terms(scoped, org):
    revision = ContractRevisionFactory(contract__client__organization=org)
    contract = revision.contract
    services.contract_update(contract=contract, data={"starts_on": datetime.date(2024, 12, 1)})
    revision.refresh_from_db()
    assert revision.effective_from == datetime.date(2024, 12, 1)


def test_a_start_after_a_later_change_of_terms_is_refused(scoped, org):
    revision = ContractRevisionFactory(contract__client__organization=org)
    ContractRevisionFactory(contract=revision.contract, effective_from=datetime.date(2025, 6, 1))
    with pytest.raises(ValidationError) as excinfo:
        services.contract_update(
            contract=revision.contract, data={"starts_on": datetime.date(2025, 7, 1)}
        )
    assert "2025-06-01" in errors_of(excinfo)["starts_on"][0]


def test_a_contract_cannot_move_to_another_client(scoped, org):
    contract = ContractFactory(client__organization=org)
    with pytest.raises(ValidationError) as excinfo:
        services.contract_update(
            contract=contract, data={"client": ClientFactory(organization=org)}
        )
    assert "client" in errors_of(excinfo)


def test_a_contract_without_work_is_deleted_with_its_terms_and_rules(scoped, org):
    rule = ScopeRuleFactory(contract__client__organization=org)
    ContractRevisionFactory(contract=rule.contract)
    services.contract_delete(contract=rule.contract)
    assert not Contract.objects.exists()
    assert not ScopeRule.objects.exists() and not ContractRevision.objects.exists()


# --- revisions ------------------------------------------------------------------
@pytest.fixture
def contract(org):
    revision = ContractRevisionFactory(
        contract__client__organization=org, hourly_rate=Decimal("120.00"), fee=Decimal("2000.00")
    )
    return revision.contract


def test_new_terms_apply_from_their_date_and_carry_over_the_rest(scoped, org, contract):
    july = datetime.date(2025, 7, 1)
    revision = services.contract_revision_create(
        organization=org, contract=contract, effective_from=july, terms={"hourly_rate": "135.00"}
    )
    assert revision.hourly_rate == Decimal("135.00")
    assert revision.fee == Decimal("2000.00")  # carried over
    assert contract_terms_on(contract=contract, on=datetime.date(2025, 6, 30)).hourly_rate == 120
    assert contract_terms_on(contract=contract, on=july) == revision


def test_terms_before_the_contract_starts_are_refused(scoped, org, contract):
    with pytest.raises(ValidationError) as excinfo:
        services.contract_revision_create(
            organization=org, contract=contract, effective_from=datetime.date(2024, 12, 31)
        )
    assert "starts on 2025-01-01" in errors_of(excinfo)["effective_from"][0]


def test_two_sets_of_terms_on_the_same_date_are_refused(scoped, org, contract):
    with pytest.raises(ValidationError) as excinfo:
        services.contract_revision_create(organization=org, contract=contract, effective_from=JAN_1)
    assert "already exist" in errors_of(excinfo)["effective_from"][0]
    assert contract.revisions.count() == 1


def test_terms_after_the_contract_ends_are_refused(scoped, org, contract):
    services.contract_update(contract=contract, data={"ends_on": datetime.date(2025, 12, 31)})
    with pytest.raises(ValidationError):
        services.contract_revision_create(
            organization=org, contract=contract, effective_from=datetime.date(2026, 1, 1)
        )


def test_terms_for_a_contract_of_another_organization_are_refused(scoped, org, other_org):
    foreign = ContractFactory(client__organization=other_org)
    with pytest.raises(ValidationError) as excinfo:
        services.contract_revision_create(
            organization=org, contract=foreign, effective_from=datetime.date(2025, 6, 1)
        )
    assert "contract" in errors_of(excinfo)


def test_only_terms_not_yet_in_force_can_be_withdrawn(scoped, org, contract):
    later = services.contract_revision_create(
        organization=org, contract=contract, effective_from=datetime.date(2025, 9, 1)
    )
    with pytest.raises(ValidationError):
        services.contract_revision_delete(revision=later, today=datetime.date(2025, 9, 1))
    services.contract_revision_delete(revision=later, today=datetime.date(2025, 8, 31))
    assert list(contract.revisions.all()) == [contract.revisions.get(effective_from=JAN_1)]


# --- request types --------------------------------------------------------------
def test_a_request_type_is_created_and_its_name_is_unique(scoped, org):
    request_type = services.request_type_create(
        organization=org, name="Troubleshooting", expected_minutes=45
    )
    assert request_type.default_treatment == Treatment.INCLUDED
    with pytest.raises(ValidationError) as excinfo:
        services.request_type_create(organization=org, name="troubleshooting")
    assert "name" in errors_of(excinfo)


def test_a_request_type_expects_at_least_a_minute(scoped, org):
    with pytest.raises(ValidationError) as excinfo:
        services.request_type_create(organization=org, name="Nothing", expected_minutes=0)
    assert "expected_minutes" in errors_of(excinfo)


def test_a_request_type_in_use_cannot_be_deleted_but_can_be_deactivated(scoped, org):
    rule = ScopeRuleFactory(contract__client__organization=org)
    with pytest.raises(ValidationError):
        services.request_type_delete(request_type=rule.request_type)
    services.request_type_update(request_type=rule.request_type, data={"is_active": False})
    assert RequestType.objects.get(pk=rule.request_type_id).is_active is False


# --- scope rules ------------------------------------------------------------------
def test_a_scope_rule_is_created_and_reads_in_plain_words(scoped, org, contract):
    request_type = RequestTypeFactory(organization=org, name="Troubleshooting")
    rule = services.scope_rule_create(
        organization=org,
        contract=contract,
        request_type=request_type,
        treatment=Treatment.INCLUDED,
        expected_minutes=60,
    )
    assert scope_rule_in_plain_words(scope_rule=rule) == "Troubleshooting — included, about 60 min"
    assert rule.effective_from == organization_today(organization=org)  # the contract has started
    applied = applicable_rule(
        client=contract.client, request_type=request_type, on=rule.effective_from
    )
    assert applied.rule == rule and applied.in_plain_words == scope_rule_in_plain_words(
        scope_rule=rule
    )


@pytest.mark.parametrize(("expected", "threshold", "refused"), [(90, 30, True), (90, 90, False)])
def test_an_approval_threshold_before_the_expected_time_is_refused(
    scoped, org, contract, expected, threshold, refused
):
    request_type = RequestTypeFactory(organization=org, name="Troubleshooting")
    create = partial(
        services.scope_rule_create,
        organization=org,
        contract=contract,
        request_type=request_type,
        treatment=Treatment.INCLUDED,
        expected_minutes=expected,
        approval_threshold_minutes=threshold,
    )
    if not refused:
        assert create().approval_threshold_minutes == threshold
        return
    with pytest.raises(ValidationError) as excinfo:
        create()
    message = errors_of(excinfo)["approval_threshold_minutes"][0]
    assert message.startswith("Approval past 30 min comes before the expected 90 min")
    assert not ScopeRule.objects.filter(contract=contract).exists()


def test_a_second_rule_for_the_same_request_type_is_refused(scoped, org, contract):
    rule = ScopeRuleFactory(contract=contract)
    with pytest.raises(ValidationError) as excinfo:
        services.scope_rule_create(
            organization=org,
            contract=contract,
            request_type=rule.request_type,
            treatment=Treatment.BILLABLE,
        )
    assert "already has a rule" in errors_of(excinfo)["request_type"][0]


def test_a_rule_with_a_request_type_of_another_organization_is_refused(
    scoped, org, other_org, contract
):
    foreign = RequestTypeFactory(organization=other_org)
    with pytest.raises(ValidationError) as excinfo:
        services.scope_rule_create(
            organization=org, contract=contract, request_type=foreign, treatment="billable"
        )
    assert errors_of(excinfo)["request_type"] == ["Choose one from this organization."]
    assert not ScopeRule.objects.exists()


def test_included_work_has_no_rate_override(scoped, org, contract):
    with pytest.raises(ValidationError) as excinfo:
        services.scope_rule_create(
            organization=org,
            contract=contract,
            request_type=RequestTypeFactory(organization=org),
            treatment=Treatment.INCLUDED,
            rate_override=Decimal("99"),
        )
    assert "rate_override" in errors_of(excinfo)


def test_updating_a_rule_adds_a_revision_and_keeps_its_contract(scoped, org, contract):
    rule = ScopeRuleFactory(contract=contract)
    revision = services.scope_rule_update(
        scope_rule=rule,
        data={"treatment": Treatment.NEEDS_APPROVAL, "approval_threshold_minutes": 30},
    )
    assert revision.pk != rule.pk
    assert revision.treatment == "needs_approval" and revision.approval_threshold_minutes == 30
    rule.refresh_from_db()
    assert rule.treatment == "included"  # the old revision is as it was
    other = ContractFactory(client=contract.client, name="Other")
    with pytest.raises(ValidationError):
        services.scope_rule_update(scope_rule=rule, data={"contract": other})


def test_deleting_a_rule_in_force_ends_it_from_today(scoped, org, contract):
    rule = ScopeRuleFactory(contract=contract)
    removal = services.scope_rule_delete(scope_rule=rule)
    assert removal.removed and removal.effective_from == organization_today(organization=org)
    assert list(ScopeRule.objects.order_by("effective_from")) == [rule, removal]


# --- SLA targets --------------------------------------------------------------------
def test_an_sla_target_resolves_no_sooner_than_it_responds(scoped, org, contract):
    with pytest.raises(ValidationError) as excinfo:
        services.sla_target_create(
            organization=org,
            contract=contract,
            priority="high",
            first_response_minutes=60,
            resolution_minutes=30,
        )
    assert "resolution_minutes" in errors_of(excinfo)


def test_one_sla_target_per_priority(scoped, org, contract):
    SLATargetFactory(contract=contract, priority="high")
    with pytest.raises(ValidationError) as excinfo:
        services.sla_target_create(
            organization=org,
            contract=contract,
            priority="high",
            first_response_minutes=30,
            resolution_minutes=240,
        )
    assert "priority" in errors_of(excinfo)
    target = SLATarget.objects.get()
    services.sla_target_update(sla_target=target, data={"resolution_minutes": 120})
    target.refresh_from_db()
    assert target.resolution_minutes == 120


# --- pricing --------------------------------------------------------------------------
@pytest.fixture
def per_unit(org):
    return ContractFactory(client__organization=org, kind=Contract.Kind.PER_UNIT)


def test_pricing_tiers_belong_to_per_unit_contracts_and_do_not_overlap(scoped, org, per_unit):
    services.pricing_tier_create(
        organization=org, contract=per_unit, min_units=1, max_units=50, unit_price=Decimal("12")
    )
    services.pricing_tier_create(
        organization=org, contract=per_unit, min_units=51, unit_price=Decimal("10")
    )
    with pytest.raises(ValidationError) as excinfo:
        services.pricing_tier_create(
            organization=org,
            contract=per_unit,
            min_units=40,
            max_units=60,
            unit_price=Decimal("11"),
        )
    assert "overlaps" in errors_of(excinfo)["min_units"][0]
    retainer = ContractFactory(client=per_unit.client, name="Retainer")
    with pytest.raises(ValidationError) as excinfo:
        services.pricing_tier_create(
            organization=org, contract=retainer, min_units=1, unit_price=Decimal("1")
        )
    assert "contract" in errors_of(excinfo)
    assert PricingTier.objects.count() == 2


def test_setting_a_months_unit_count_twice_replaces_it(scoped, org, per_unit):
    services.unit_count_set(
        organization=org, contract=per_unit, month=datetime.date(2025, 3, 17), units=40
    )
    count = services.unit_count_set(
        organization=org, contract=per_unit, month=datetime.date(2025, 3, 1), units=44
    )
    assert count.month == datetime.date(2025, 3, 1)
    assert list(UnitCount.objects.values_list("units", flat=True)) == [44]


def test_a_unit_count_outside_the_contract_is_refused(scoped, org, per_unit):
    with pytest.raises(ValidationError) as excinfo:
        services.unit_count_set(
            organization=org, contract=per_unit, month=datetime.date(2024, 12, 1), units=3
        )
    assert "month" in errors_of(excinfo)


# --- selectors ------------------------------------------------------------------------
def test_the_client_list_shows_the_contract_in_force_today(scoped, org):
    client = ClientFactory(organization=org, name="Acme")
    ContractFactory(client=client, name="Old", starts_on=JAN_1, ends_on=datetime.date(2025, 2, 1))
    ContractFactory(client=client, name="Current", starts_on=datetime.date(2025, 2, 2))
    row = client_list(organization=org).get()
    assert row.contract_count == 2 and row.contract_in_force_name == "Current"


def test_the_client_list_filters_by_status_and_name(scoped, org):
    ClientFactory(organization=org, name="Acme", status="active")
    ClientFactory(organization=org, name="Beta", status="ended")
    assert [c.name for c in client_list(organization=org, status="ended")] == ["Beta"]
    assert [c.name for c in client_list(organization=org, search="acm")] == ["Acme"]


def test_the_client_page_shows_the_same_terms_as_the_rules(scoped, org, contract):
    services.contract_revision_create(
        organization=org,
        contract=contract,
        effective_from=datetime.date(2025, 6, 1),
        terms={"hourly_rate": "130"},
    )
    services.contract_revision_create(
        organization=org,
        contract=contract,
        effective_from=datetime.date(2999, 1, 1),
        terms={"hourly_rate": "999"},
    )
    page = client_page(organization=org, client=contract.client)
    card = page.contracts[0]
    assert card.terms == contract_terms_on(contract=contract, on=page.today)
    assert card.terms.hourly_rate == Decimal("130.00")
    assert len(card.revisions) == 3
