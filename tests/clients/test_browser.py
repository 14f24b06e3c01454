"""Browser journey in Chromium: an account manager edits a client's scope
rules in place on the client page."""

import datetime
import os

import pytest
from playwright.sync_api import expect

from clients import services
from clients.models import Contract, ScopeRule, Treatment
from clients.selectors import organization_today, scope_rules_in_force_on
from msops.tenancy.models import Role
from msops.tenancy.scoping import activate_organization
from msops.tenancy.services import membership_create, organization_create, user_create

pytest_plugins = ["tests.browser_fixtures"]
pytestmark = pytest.mark.browser

PASSWORD = "a-long-browser-test-password"
SCREENSHOTS = os.environ.get("MSOPS_SCREENSHOTS")  # a directory, to look at the pages


@pytest.fixture
def acme(transactional_db):
    organization = organization_create(
        name="Fabrikam Managed IT", slug="fabrikam", timezone="Europe/Amsterdam", currency="EUR"
    )
    user = user_create(username="maria", password=PASSWORD)
    with activate_organization(organization):
        manager = membership_create(organization=organization, user=user, role=Role.ACCOUNT_MANAGER)
        client = services.client_create(
            organization=organization,
            name="Acme Dental",
            account_manager=manager,
            billing_notes="Quote the PO number on every invoice.",
        )
        contract = services.contract_create(
            organization=organization,
            client=client,
            name="Managed support",
            kind=Contract.Kind.RETAINER,
            starts_on=datetime.date(2025, 1, 1),
            terms={"fee": "2500.00", "included_minutes": 1200, "hourly_rate": "120.00"},
        )
        troubleshooting = services.request_type_create(
            organization=organization, name="Troubleshooting", expected_minutes=60
        )
        services.request_type_create(
            organization=organization,
            name="New feature",
            default_treatment=Treatment.NEEDS_APPROVAL,
        )
        services.scope_rule_create(
            organization=organization,
            contract=contract,
            request_type=troubleshooting,
            treatment=Treatment.INCLUDED,
            expected_minutes=60,
            explanation="Covered by the retainer.",
            effective_from=contract.starts_on,  # agreed with the contract
        )
        services.sla_target_create(
            organization=organization,
            contract=contract,
            priority="high",
            first_response_minutes=30,
            resolution_minutes=240,
        )
    return {"organization": organization, "client": client, "contract": contract}


def log_in(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def shot(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


def test_an_account_manager_edits_and_adds_scope_rules_in_place(http_live_server, acme, page):
    organization, client = acme["organization"], acme["client"]
    log_in(page, "maria", PASSWORD)
    page.wait_for_url(f"**/o/{organization.slug}/")

    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Clients", exact=True
    ).click()
    shot(page, "client-list")
    # The list filters in place as one types.
    page.get_by_label("Name").fill("zzz")
    expect(page.get_by_text("No client matches.")).to_be_visible()
    page.get_by_label("Name").fill("acme")
    page.get_by_role("link", name="Acme Dental").click()
    page.wait_for_url(f"**/clients/{client.pk}/")
    expect(page.get_by_text("Troubleshooting — included, about 60 min")).to_be_visible()
    expect(page.get_by_text("Quote the PO number on every invoice.")).to_be_visible()
    expect(page.get_by_text("EUR 2,500.00")).to_be_visible()
    shot(page, "client-detail")

    page.evaluate("window.__sameDocument = true")

    # Edit the rule inline: the row becomes a form, saving turns it back.
    page.get_by_role("link", name="Edit the rule for Troubleshooting").click()
    row = page.get_by_test_id("scope-rule-form")
    expect(row).to_be_visible()
    shot(page, "rule-edit")
    row.get_by_label("Treatment").select_option("needs_approval")
    row.get_by_label("Approval past (min)").fill("90")
    row.get_by_role("button", name="Save").click()
    expect(
        page.get_by_text("Troubleshooting — needs approval; approval needed past 90 min")
    ).to_be_visible()
    # The row keeps its history: both revisions, behind a keyboard-friendly <details>.
    history = page.get_by_test_id("rule-history")
    history.get_by_text("History (2 revisions)").click()
    expect(history.get_by_test_id("rule-revision")).to_have_count(2)
    expect(page.get_by_test_id("scope-rule-form")).to_have_count(0)

    # A rule the service refuses stays a form, with the reason beside the field.
    page.get_by_role("link", name="Edit the rule for Troubleshooting").click()
    row = page.get_by_test_id("scope-rule-form")
    row.get_by_label("Treatment").select_option("included")
    row.get_by_label("Rate override").fill("80")
    row.get_by_role("button", name="Save").click()
    expect(row.get_by_text("Included work is not billed")).to_be_visible()
    row.get_by_role("button", name="Cancel").click()
    expect(page.get_by_test_id("scope-rule-form")).to_have_count(0)

    # Add a rule for the request type not yet ruled.
    form = page.get_by_test_id("add-scope-rule")
    form.get_by_label("Request type").select_option(label="New feature")
    form.get_by_label("Treatment").select_option("needs_approval")
    form.get_by_role("button", name="Add rule").click()
    # The new rule's row: its words, and since when it is in force.
    expect(page.get_by_text("New feature — needs approval").first).to_be_visible()
    shot(page, "rule-added")

    assert page.evaluate("window.__sameDocument") is True  # all of it without a reload
    with activate_organization(organization):
        in_force = scope_rules_in_force_on(
            ScopeRule.objects.filter(contract=acme["contract"]),
            on=organization_today(organization=organization),
        )
        treatments = dict(in_force.values_list("request_type__name", "treatment"))
        troubleshooting = ScopeRule.objects.filter(
            contract=acme["contract"], request_type__name="Troubleshooting"
        )
        assert troubleshooting.count() == 2  # the edit was a revision; the first one stays
    assert treatments == {"Troubleshooting": "needs_approval", "New feature": "needs_approval"}
