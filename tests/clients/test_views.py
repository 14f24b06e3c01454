from decimal import Decimal

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from clients.models import Client, RequestType, ScopeRule, Treatment
from msops.tenancy.models import Role
from tests.factories import (
    ClientFactory,
    ContractFactory,
    ContractRevisionFactory,
    RequestTypeFactory,
    ScopeRuleFactory,
    SLATargetFactory,
)

HTMX = {"HX-Request": "true"}
WRITERS = {Role.DEVELOPER: False, Role.FINANCE: False, Role.ACCOUNT_MANAGER: True, Role.ADMIN: True}


def url(name, org, **kwargs):
    return reverse(f"clients:{name}", kwargs={"org": org.slug, **kwargs})


@pytest.fixture
def acme(org, account_manager):
    client = ClientFactory(
        organization=org,
        name="Acme",
        account_manager=account_manager,
        billing_notes="Always quote the PO number.",
    )
    revision = ContractRevisionFactory(
        contract__client=client,
        contract__name="Acme support",
        fee=Decimal("1234.5"),
        included_minutes=90,
    )
    contract = revision.contract
    troubleshooting = RequestTypeFactory(organization=org, name="Troubleshooting")
    feature = RequestTypeFactory(organization=org, name="New feature")
    ScopeRuleFactory(
        contract=contract,
        request_type=troubleshooting,
        treatment=Treatment.INCLUDED,
        expected_minutes=60,
    )
    ScopeRuleFactory(
        contract=contract,
        request_type=feature,
        treatment=Treatment.NEEDS_APPROVAL,
        expected_minutes=None,
        explanation="Ask the account manager first.",
    )
    SLATargetFactory(contract=contract, priority="high", first_response_minutes=30)
    return client


# --- list ------------------------------------------------------------------------
def test_the_client_list_shows_my_organizations_clients_only(login, developer, org, other_org):
    ClientFactory(organization=org, name="Acme")
    ClientFactory(organization=other_org, name="Foreign Co")
    page = login(developer).get(url("client_list", org)).content.decode()
    assert "Acme" in page and "Foreign Co" not in page


def test_the_client_list_filters_by_status_and_search_and_htmx_gets_the_table_only(
    login, developer, org
):
    ClientFactory(organization=org, name="Acme", status="active")
    ClientFactory(organization=org, name="Bolt", status="ended")
    ClientFactory(organization=org, name="Acorn", status="ended")
    client = login(developer)
    body = client.get(url("client_list", org), {"status": "ended", "q": "bo"}, headers=HTMX)
    text = body.content.decode()
    assert "<html" not in text and 'id="client-table"' in text
    assert "Bolt" in text and "Acme" not in text and "Acorn" not in text


def test_an_unknown_status_filter_is_ignored(login, developer, org):
    ClientFactory(organization=org, name="Acme")
    page = login(developer).get(url("client_list", org), {"status": "pope"})
    assert page.status_code == 200 and "Acme" in page.content.decode()


@pytest.mark.parametrize("role,shown", WRITERS.items())
def test_new_client_is_offered_to_admins_and_account_managers_only(
    login, members, org, role, shown
):
    page = login(members[role]).get(url("client_list", org)).content.decode()
    assert ('data-testid="new-client"' in page) is shown


# --- create and update -------------------------------------------------------------
@pytest.mark.parametrize("role,allowed", WRITERS.items())
def test_creating_a_client_is_for_admins_and_account_managers(login, members, org, role, allowed):
    response = login(members[role]).post(
        url("client_create", org), {"name": "Acme", "status": "onboarding"}
    )
    assert response.status_code == (302 if allowed else 403)
    with scopes_disabled():
        assert Client.objects.filter(name="Acme").exists() is allowed


def test_a_new_client_goes_to_its_page(login, account_manager, org):
    response = login(account_manager).post(
        url("client_create", org),
        {
            "name": "Acme",
            "status": "active",
            "account_manager": account_manager.pk,
            "billing_notes": "PO",
        },
    )
    with scopes_disabled():
        client = Client.objects.get(name="Acme")
    assert response["Location"] == url("client_detail", org, pk=client.pk)
    assert client.account_manager == account_manager and client.organization == org


def test_a_duplicate_client_name_is_a_form_error_and_saves_nothing(login, account_manager, org):
    ClientFactory(organization=org, name="Acme")
    response = login(account_manager).post(
        url("client_create", org), {"name": "acme", "status": "active"}
    )
    assert response.status_code == 200
    assert "There is already a client called" in response.content.decode()
    with scopes_disabled():
        assert Client.objects.count() == 1


def test_an_account_manager_of_another_organization_cannot_be_chosen(
    login, account_manager, org, stranger
):
    response = login(account_manager).post(
        url("client_create", org),
        {"name": "Acme", "status": "active", "account_manager": stranger.pk},
    )
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    with scopes_disabled():
        assert not Client.objects.exists()


def test_the_organization_is_never_taken_from_the_form(login, account_manager, org, other_org):
    login(account_manager).post(
        url("client_create", org),
        {"name": "Acme", "status": "active", "organization": other_org.pk},
    )
    with scopes_disabled():
        assert Client.objects.get(name="Acme").organization == org


@pytest.mark.parametrize("role,allowed", WRITERS.items())
def test_editing_a_client_is_for_admins_and_account_managers(
    login, members, org, acme, role, allowed
):
    response = login(members[role]).post(
        url("client_update", org, pk=acme.pk),
        {"name": "Acme Ltd", "status": "offboarding", "billing_notes": "new notes"},
    )
    assert response.status_code == (302 if allowed else 403)
    with scopes_disabled():
        acme.refresh_from_db()
    assert (acme.name == "Acme Ltd") is allowed


def test_the_edit_form_starts_from_the_clients_values(login, account_manager, org, acme):
    page = login(account_manager).get(url("client_update", org, pk=acme.pk)).content.decode()
    assert 'value="Acme"' in page and "Always quote the PO number." in page


# --- the client page -------------------------------------------------------------------
def test_the_client_page_shows_contracts_rules_in_plain_words_sla_and_billing_notes(
    login, developer, org, acme
):
    page = login(developer).get(url("client_detail", org, pk=acme.pk)).content.decode()
    assert "Always quote the PO number." in page
    assert "Acme support" in page
    assert "Troubleshooting — included, about 60 min" in page
    assert "New feature — needs approval" in page
    assert "Ask the account manager first." in page
    assert "EUR 1,234.50" in page  # money with its currency
    assert "1:30" in page  # included minutes as h:mm
    assert 'data-testid="sla-targets"' in page and "0:30" in page


def test_a_developer_sees_the_rules_but_no_edit_controls(login, developer, org, acme):
    page = login(developer).get(url("client_detail", org, pk=acme.pk)).content.decode()
    assert "scope_rule_edit" not in page and "/rules/" not in page
    assert 'data-testid="add-scope-rule"' not in page


def test_an_account_manager_sees_edit_links_and_the_add_rule_form(
    login, account_manager, org, acme
):
    with scopes_disabled():
        rule = ScopeRule.objects.filter(contract__client=acme).first()
        RequestTypeFactory(organization=org, name="Password reset")
    page = login(account_manager).get(url("client_detail", org, pk=acme.pk)).content.decode()
    assert url("scope_rule_edit", org, pk=rule.pk) in page
    assert 'data-testid="add-scope-rule"' in page and "Password reset" in page


def test_a_client_of_another_organization_is_a_404(login, developer, org, other_org):
    foreign = ClientFactory(organization=other_org)
    assert login(developer).get(url("client_detail", org, pk=foreign.pk)).status_code == 404


# --- inline scope rule editing ----------------------------------------------------------
@pytest.fixture
def rule(acme):
    with scopes_disabled():
        return ScopeRule.objects.select_related("request_type").get(
            contract__client=acme, request_type__name="Troubleshooting"
        )


@pytest.mark.parametrize("role,allowed", WRITERS.items())
def test_the_inline_rule_form_is_for_admins_and_account_managers(
    login, members, org, rule, role, allowed
):
    response = login(members[role]).get(url("scope_rule_edit", org, pk=rule.pk), headers=HTMX)
    assert response.status_code == (200 if allowed else 403)
    if allowed:
        body = response.content.decode()
        assert "<html" not in body and 'data-testid="scope-rule-form"' in body
        assert f'id="scope-rule-{rule.pk}"' in body


@pytest.mark.parametrize("role,allowed", WRITERS.items())
def test_saving_a_rule_inline_returns_its_read_row(login, members, org, rule, role, allowed):
    response = login(members[role]).post(
        url("scope_rule_edit", org, pk=rule.pk),
        {"treatment": "billable", "expected_minutes": "", "explanation": "Billed hourly."},
        headers=HTMX,
    )
    assert response.status_code == (200 if allowed else 403)
    with scopes_disabled():
        revisions = list(
            ScopeRule.objects.filter(contract=rule.contract, request_type=rule.request_type)
        )
    assert [r.treatment for r in revisions if r.pk != rule.pk] == (["billable"] if allowed else [])
    if allowed:
        body = response.content.decode()
        assert "<html" not in body and "Troubleshooting — billable" in body
        assert "Billed hourly." in body and 'data-testid="scope-rule"' in body


def test_a_bad_inline_rule_comes_back_as_the_form_with_the_error(login, account_manager, org, rule):
    response = login(account_manager).post(
        url("scope_rule_edit", org, pk=rule.pk),
        {"treatment": "included", "rate_override": "80"},
        headers=HTMX,
    )
    body = response.content.decode()
    assert response.status_code == 200 and 'data-testid="scope-rule-form"' in body
    assert "Included work is not billed" in body
    with scopes_disabled():
        rule.refresh_from_db()
    assert rule.rate_override is None


def test_cancel_gives_the_read_row_back(login, account_manager, org, rule):
    response = login(account_manager).get(
        url("scope_rule_edit", org, pk=rule.pk), {"cancel": "1"}, headers=HTMX
    )
    assert 'data-testid="scope-rule"' in response.content.decode()


def test_without_javascript_the_rule_form_is_a_page_and_saving_returns_to_the_client(
    login, account_manager, org, rule, acme
):
    client = login(account_manager)
    page = client.get(url("scope_rule_edit", org, pk=rule.pk))
    assert "<html" in page.content.decode()
    response = client.post(url("scope_rule_edit", org, pk=rule.pk), {"treatment": "excluded"})
    assert response.status_code == 302
    assert response["Location"].startswith(url("client_detail", org, pk=acme.pk))


def test_a_rule_of_another_organization_is_a_404(login, admin_member, org, other_org):
    foreign = ScopeRuleFactory(contract__client__organization=other_org)
    response = login(admin_member).post(
        url("scope_rule_edit", org, pk=foreign.pk), {"treatment": "billable"}, headers=HTMX
    )
    assert response.status_code == 404
    with scopes_disabled():
        foreign.refresh_from_db()
    assert foreign.treatment == "included"


# --- adding a rule ----------------------------------------------------------------------
@pytest.fixture
def contract(acme):
    with scopes_disabled():
        return acme.contracts.get()


@pytest.mark.parametrize("role,allowed", WRITERS.items())
def test_adding_a_rule_is_for_admins_and_account_managers(
    login, members, org, contract, role, allowed
):
    reset = RequestTypeFactory(organization=org, name="Password reset")
    response = login(members[role]).post(
        url("scope_rule_create", org, pk=contract.pk),
        {"request_type": reset.pk, "treatment": "included", "expected_minutes": "15"},
        headers=HTMX,
    )
    assert response.status_code == (200 if allowed else 403)
    with scopes_disabled():
        assert ScopeRule.objects.filter(request_type=reset).exists() is allowed
    if allowed:
        body = response.content.decode()
        assert f'id="contract-{contract.pk}-rules"' in body and "<html" not in body
        assert "Password reset — included, about 15 min" in body


def test_a_request_type_already_ruled_cannot_be_added_again(login, account_manager, org, contract):
    with scopes_disabled():
        ruled = RequestType.objects.get(name="Troubleshooting")
    response = login(account_manager).post(
        url("scope_rule_create", org, pk=contract.pk),
        {"request_type": ruled.pk, "treatment": "billable"},
        headers=HTMX,
    )
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    with scopes_disabled():
        assert ScopeRule.objects.filter(contract=contract).count() == 2


def test_a_request_type_of_another_organization_cannot_be_added(
    login, account_manager, org, other_org, contract
):
    foreign = RequestTypeFactory(organization=other_org, name="Foreign type")
    response = login(account_manager).post(
        url("scope_rule_create", org, pk=contract.pk),
        {"request_type": foreign.pk, "treatment": "billable"},
        headers=HTMX,
    )
    assert "errorlist" in response.content.decode()
    with scopes_disabled():
        assert not ScopeRule.objects.filter(request_type=foreign).exists()


def test_without_javascript_adding_a_rule_returns_to_the_client(
    login, account_manager, org, contract
):
    reset = RequestTypeFactory(organization=org, name="Password reset")
    response = login(account_manager).post(
        url("scope_rule_create", org, pk=contract.pk),
        {"request_type": reset.pk, "treatment": "billable"},
    )
    assert response.status_code == 302 and f"#contract-{contract.pk}" in response["Location"]


# --- request types ------------------------------------------------------------------------
def test_every_member_reads_the_request_type_catalogue(login, developer, org, other_org):
    RequestTypeFactory(organization=org, name="Troubleshooting", expected_minutes=75)
    RequestTypeFactory(organization=other_org, name="Foreign type")
    page = login(developer).get(url("request_type_list", org)).content.decode()
    assert "Troubleshooting" in page and "1:15" in page and "Foreign type" not in page
    assert "Add a request type" not in page


@pytest.mark.parametrize(
    "role,allowed",
    {
        Role.DEVELOPER: False,
        Role.FINANCE: False,
        Role.ACCOUNT_MANAGER: False,
        Role.ADMIN: True,
    }.items(),
)
def test_only_admins_add_request_types(login, members, org, role, allowed):
    response = login(members[role]).post(
        url("request_type_list", org),
        {"name": "Password reset", "default_treatment": "included", "expected_minutes": "15"},
        headers=HTMX,
    )
    assert response.status_code == (200 if allowed else 403)
    with scopes_disabled():
        assert RequestType.objects.filter(name="Password reset").exists() is allowed
    if allowed:
        body = response.content.decode()
        assert 'id="request-type-panel"' in body and "<html" not in body


def test_a_duplicate_request_type_is_a_form_error(login, admin_member, org):
    RequestTypeFactory(organization=org, name="Troubleshooting")
    response = login(admin_member).post(
        url("request_type_list", org),
        {"name": "troubleshooting", "default_treatment": "included", "expected_minutes": "15"},
    )
    assert "There is already a request type called" in response.content.decode()
    with scopes_disabled():
        assert RequestType.objects.count() == 1


def test_the_nav_links_to_the_client_list(login, developer, org):
    page = login(developer).get(url("request_type_list", org)).content.decode()
    assert f'href="{url("client_list", org)}"' in page


def test_money_and_duration_filters():
    from clients.templatetags.msops_format import minutes_hm, money

    assert minutes_hm(0) == "0:00" and minutes_hm(75) == "1:15" and minutes_hm(None) == "—"
    assert minutes_hm(-15) == "-0:15" and minutes_hm(600) == "10:00"
    assert money(Decimal("1234.5"), "EUR") == "EUR 1,234.50"
    assert money("0", "USD") == "USD 0.00" and money(None, "EUR") == "—"


def test_a_contract_without_rules_explains_that_defaults_apply(login, developer, org):
    contract = ContractFactory(client__organization=org)
    RequestTypeFactory(organization=org, name="Password reset", expected_minutes=15)
    page = login(developer).get(url("client_detail", org, pk=contract.client_id)).content.decode()
    assert "Password reset — included, about 15 min (default for this request type" in page
