"""In Chromium, under the real Content-Security-Policy: an account manager
opens the recurring work page from the menu, records a risk through its form
and finds it listed, with no CSP violation on the way."""

import datetime
import re

import pytest
from playwright.sync_api import expect

from clients import services as client_services
from msops.tenancy.models import Role
from msops.tenancy.scoping import activate_organization
from msops.tenancy.services import membership_create, organization_create, user_create
from msops.timezones import organization_today
from tests.transitions.conftest import rows
from transitions.models import Risk
from transitions.services import recurring_task_create

pytest_plugins = ["tests.browser_fixtures"]
pytestmark = pytest.mark.browser

PASSWORD = "a-long-browser-test-password"
SCREENSHOT = "/tmp/work_page.png"


@pytest.fixture
def practice(transactional_db):
    organization = organization_create(
        name="Fabrikam Managed IT", slug="fabrikam", timezone="Europe/Amsterdam", currency="EUR"
    )
    ama = user_create(username="ama", password=PASSWORD, first_name="Ama", last_name="Mensah")
    dan = user_create(username="dan", password=PASSWORD, first_name="Dan", last_name="Berg")
    with activate_organization(organization):
        membership_create(organization=organization, user=ama, role=Role.ACCOUNT_MANAGER)
        developer = membership_create(organization=organization, user=dan, role=Role.DEVELOPER)
        acme = client_services.client_create(organization=organization, name="Acme Dental")
        client_services.client_create(organization=organization, name="Globex")
        patching = client_services.request_type_create(
            organization=organization, name="Patching", expected_minutes=60
        )
        recurring_task_create(
            organization=organization,
            client=acme,
            title="Patch the servers",
            cadence="monthly",
            owner=developer,
            request_type=patching,
            next_due=organization_today(organization) + datetime.timedelta(days=5),
            known_exceptions="Never on the last Friday of the month",
        )
    return {"organization": organization, "client": acme, "developer": developer}


def test_an_account_manager_records_a_risk_and_sees_it_listed(
    http_live_server, practice, page, violations
):
    organization = practice["organization"]
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("ama")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**/o/{organization.slug}/")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Recurring work").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Recurring work and risks")
    expect(page.get_by_test_id("recurring-tasks")).to_contain_text("Patch the servers")

    page.get_by_test_id("new-risk").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New risk")
    page.get_by_label("Client").select_option(label="Acme Dental")
    page.get_by_label("Description").fill("The firewall licence lapses in March")
    page.get_by_label("Severity").select_option("high")
    page.get_by_label("Owner").select_option(label="Dan Berg")
    page.get_by_label("Next action").fill("Ask the vendor for the renewal quote")
    page.get_by_role("button", name="Record risk").click()

    page.wait_for_url(re.compile(r"/transitions/work/$"))
    risks = page.get_by_test_id("risks")
    expect(risks).to_contain_text("The firewall licence lapses in March")
    expect(risks).to_contain_text("Dan Berg")
    expect(page.get_by_role("status")).to_contain_text("Risk for Acme Dental recorded.")

    # The filter swaps the tables in place (htmx) and keeps the new risk.
    page.evaluate("window.__sameDocument = true")
    page.get_by_label("Owner").select_option(label="Dan Berg")
    page.wait_for_url(re.compile(r"owner="))
    expect(page.get_by_test_id("risks")).to_contain_text("The firewall licence lapses in March")
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"

    page.screenshot(path=SCREENSHOT, full_page=True)
    (risk,) = rows(Risk, organization=organization)
    assert risk.owner_id == practice["developer"].pk and risk.client_id == practice["client"].pk
    assert violations == []
