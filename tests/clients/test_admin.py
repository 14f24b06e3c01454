import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse
from django_scopes import scopes_disabled

from clients.models import Contract, ContractRevision, ScopeRule, SLATarget
from msops.tenancy.admin import TenantAdmin
from msops.tenancy.models import Role
from tests.factories import (
    ClientFactory,
    ContractFactory,
    ContractRevisionFactory,
    MembershipFactory,
    RequestTypeFactory,
    ScopeRuleFactory,
    SLATargetFactory,
)


def _staff(*organizations):
    """A staff user (not a superuser) who administers ``organizations``."""
    first = MembershipFactory(
        organization=organizations[0], role=Role.ADMIN, user__username="staffer"
    )
    for organization in organizations[1:]:
        MembershipFactory(organization=organization, role=Role.ADMIN, user=first.user)
    user = first.user
    user.is_staff = True
    user.save()
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=["clients", "tenancy"])
    )
    return user


def test_every_clients_model_is_registered_with_tenant_scoping():
    for model in apps.get_app_config("clients").get_models():
        assert model in admin.site._registry, model
        assert isinstance(admin.site._registry[model], TenantAdmin), model


@pytest.mark.parametrize(
    "model", ["client", "contract", "contractrevision", "requesttype", "scoperule", "slatarget"]
)
def test_a_staff_admin_lists_only_their_organizations_rows(client, org, other_org, model):
    ScopeRuleFactory(
        contract__client__organization=org,
        contract__client__name="Own client",
        request_type__name="Own type",
        explanation="own",
    )
    SLATargetFactory(contract=ContractRevisionFactory(contract__client__organization=org).contract)
    ScopeRuleFactory(
        contract__client__organization=other_org,
        contract__client__name="Foreign client",
        request_type__name="Foreign type",
    )
    SLATargetFactory(
        contract=ContractRevisionFactory(contract__client__organization=other_org).contract
    )
    client.force_login(_staff(org))
    page = client.get(reverse(f"admin:clients_{model}_changelist"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Foreign" not in text and "Stranger Practice" not in text
    assert "Our Practice" in text


def test_a_staff_admin_cannot_open_a_foreign_contract(client, org, other_org):
    foreign = ContractFactory(client__organization=other_org, name="Foreign deal")
    client.force_login(_staff(org))
    response = client.get(reverse("admin:clients_contract_change", args=[foreign.pk]))
    assert response.status_code == 302
    assert "Foreign deal" not in client.get(response["Location"]).content.decode()


def test_the_contract_form_offers_only_own_clients_and_organizations(client, org, other_org):
    ClientFactory(organization=org, name="Own client")
    ClientFactory(organization=other_org, name="Foreign client")
    client.force_login(_staff(org))
    page = client.get(reverse("admin:clients_contract_add")).content.decode()
    assert "Own client" in page and "Foreign client" not in page
    assert "Stranger Practice" not in page


def test_the_rules_inline_shows_only_the_contracts_rules_to_read(client, org, other_org):
    rule = ScopeRuleFactory(
        contract=ContractRevisionFactory(contract__client__organization=org).contract,
        request_type__name="Own type",
    )
    RequestTypeFactory(organization=other_org, name="Foreign type")
    client.force_login(_staff(org, other_org))  # administers both
    page = client.get(reverse("admin:clients_contract_change", args=[rule.contract_id]))
    text = page.content.decode()
    assert "Own type" in text and "Foreign type" not in text
    assert "change them on the client page" in text
    assert 'name="scope_rules-0-treatment"' not in text  # read-only


def test_a_related_object_of_another_organization_is_refused(client, org, other_org):
    target = SLATargetFactory(
        contract=ContractRevisionFactory(contract__client__organization=org).contract
    )
    foreign_contract = ContractFactory(client__organization=other_org)
    client.force_login(_staff(org, other_org))
    response = client.post(
        reverse("admin:clients_slatarget_change", args=[target.pk]),
        {
            "organization": org.pk,
            "contract": foreign_contract.pk,
            "priority": "high",
            "first_response_minutes": "60",
            "resolution_minutes": "120",
        },
    )
    assert response.status_code == 200
    assert "Choose one from the same organization." in response.content.decode()
    with scopes_disabled():
        assert SLATarget.objects.get(pk=target.pk).contract_id != foreign_contract.pk


def test_a_scope_rule_cannot_be_changed_in_the_admin(client, org):
    rule = ScopeRuleFactory(contract__client__organization=org)
    client.force_login(_staff(org))
    response = client.post(
        reverse("admin:clients_scoperule_change", args=[rule.pk]),
        {
            "organization": org.pk,
            "contract": rule.contract_id,
            "request_type": rule.request_type_id,
            "treatment": "billable",
            "effective_from": "2025-01-01",
        },
    )
    assert response.status_code == 403
    assert client.get(reverse("admin:clients_scoperule_add")).status_code == 403
    with scopes_disabled():
        assert ScopeRule.objects.get(pk=rule.pk).treatment == "included"
    assert client.get(reverse("admin:clients_scoperule_change", args=[rule.pk])).status_code == 200


def _management(prefix: str, total: int = 0) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


INLINE_PREFIXES = [
    "revisions",
    "scope_rules",
    "sla_targets",
    "pricing_tiers",
    "unit_counts",
    "top_ups",
]


def _contract_change_data(org, contract) -> dict:
    """The contract change form as the admin posts it, with empty inlines."""
    data = {
        "organization": org.pk,
        "client": contract.client_id,
        "name": contract.name,
        "kind": contract.kind,
        "period": contract.period,
        "starts_on": contract.starts_on.isoformat(),
        "currency": contract.currency,
        "notice_days": "30",
        "offboarding_fee": "0",
        "review_cadence": "quarterly",
        "tier_mode": "graduated",
    }
    for prefix in INLINE_PREFIXES:
        data.update(_management(prefix))
    return data


def test_a_contract_added_in_the_admin_gets_its_first_terms(client, org):
    acme = ClientFactory(organization=org)
    client.force_login(_staff(org))
    data = {
        "organization": org.pk,
        "client": acme.pk,
        "name": "Admin-made",
        "kind": "retainer",
        "period": "monthly",
        "starts_on": "2025-02-01",
        "currency": "EUR",
        "notice_days": "30",
        "offboarding_fee": "0",
        "review_cadence": "quarterly",
        "tier_mode": "graduated",
    }
    for prefix in INLINE_PREFIXES:
        data.update(_management(prefix))
    response = client.post(reverse("admin:clients_contract_add"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    with scopes_disabled():
        contract = Contract.objects.get(name="Admin-made")
        revision = ContractRevision.objects.get(contract=contract)
    assert revision.effective_from.isoformat() == "2025-02-01"
    assert revision.organization_id == org.pk


def test_a_rule_posted_inline_is_not_saved(client, org):
    contract = ContractRevisionFactory(contract__client__organization=org).contract
    request_type = RequestTypeFactory(organization=org)
    client.force_login(_staff(org))
    data = _contract_change_data(org, contract)
    with scopes_disabled():
        revision = ContractRevision.objects.get(contract=contract)
    data.update(
        {
            "revisions-TOTAL_FORMS": "1",
            "revisions-INITIAL_FORMS": "1",
            "revisions-0-id": str(revision.pk),
            "revisions-0-contract": str(contract.pk),
            "scope_rules-TOTAL_FORMS": "1",
            "scope_rules-0-request_type": str(request_type.pk),
            "scope_rules-0-treatment": "billable",
            "scope_rules-0-effective_from": "2025-01-01",
            "scope_rules-0-explanation": "Billed hourly",
        }
    )
    client.post(reverse("admin:clients_contract_change", args=[contract.pk]), data)
    with scopes_disabled():
        assert not ScopeRule.objects.filter(contract=contract).exists()


def test_terms_without_an_hourly_rate_added_in_the_admin_are_refused_while_work_is_excluded(
    client, org
):
    contract = ContractRevisionFactory(contract__client__organization=org).contract
    ScopeRuleFactory(contract=contract, treatment="excluded", request_type__name="Hardware")
    client.force_login(_staff(org))
    data = _contract_change_data(org, contract)
    with scopes_disabled():
        revision = ContractRevision.objects.get(contract=contract)
    data.update(
        {
            "revisions-TOTAL_FORMS": "2",
            "revisions-INITIAL_FORMS": "1",
            "revisions-0-id": str(revision.pk),
            "revisions-0-contract": str(contract.pk),
            "revisions-1-contract": str(contract.pk),
            "revisions-1-effective_from": "2025-07-01",
            "revisions-1-fee": "0",
            "revisions-1-included_minutes": "0",
            "revisions-1-hourly_rate": "0",
            "revisions-1-rounding_increment_minutes": "15",
            "revisions-1-minimum_charge_minutes": "0",
            "revisions-1-reask_factor": "2",
        }
    )
    response = client.post(reverse("admin:clients_contract_change", args=[contract.pk]), data)
    assert response.status_code == 200 and "“Hardware”" in response.content.decode()
    with scopes_disabled():
        assert ContractRevision.objects.filter(contract=contract).count() == 1
