"""In Chromium, under the real Content-Security-Policy: the ticket page, a
finance page, the audit log and the API docs run without a single violation,
htmx still swaps in place, and a locked-out sign-in says so."""

import datetime
import re

import pytest
from playwright.sync_api import expect

from clients import services as client_services
from clients.models import Contract, Treatment
from msops.tenancy.models import Role
from msops.tenancy.scoping import activate_organization
from msops.tenancy.services import membership_create, organization_create, user_create
from tickets.services import ticket_open

pytest_plugins = ["tests.browser_fixtures"]
pytestmark = pytest.mark.browser

PASSWORD = "a-long-browser-test-password"


@pytest.fixture
def practice(transactional_db):
    organization = organization_create(
        name="Fabrikam Managed IT", slug="fabrikam", timezone="Europe/Amsterdam", currency="EUR"
    )
    dana = user_create(username="dana", password=PASSWORD)
    fran = user_create(username="fran", password=PASSWORD)
    ada = user_create(username="ada", password=PASSWORD)
    with activate_organization(organization):
        developer = membership_create(organization=organization, user=dana, role=Role.DEVELOPER)
        membership_create(organization=organization, user=fran, role=Role.FINANCE)
        membership_create(organization=organization, user=ada, role=Role.ADMIN)
        client = client_services.client_create(organization=organization, name="Acme Dental")
        contract = client_services.contract_create(
            organization=organization,
            client=client,
            name="Managed support",
            kind=Contract.Kind.RETAINER,
            starts_on=datetime.date(2025, 1, 1),
            terms={"fee": "2500.00", "included_minutes": 1200, "hourly_rate": "120.00"},
        )
        troubleshooting = client_services.request_type_create(
            organization=organization, name="Troubleshooting", expected_minutes=60
        )
        client_services.scope_rule_create(
            organization=organization,
            contract=contract,
            request_type=troubleshooting,
            treatment=Treatment.INCLUDED,
            expected_minutes=60,
            explanation="Covered by the retainer.",
        )
        ticket = ticket_open(
            organization=organization,
            opened_by=developer,
            client=client,
            request_type=troubleshooting,
            title="Printer on floor 2 offline",
            assignee=developer,
        )
    return {"organization": organization, "ticket": ticket}


def log_in(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/accounts/login/"))


def test_the_ticket_and_finance_pages_run_under_the_csp_with_htmx_working(
    http_live_server, practice, page, violations
):
    organization, ticket = practice["organization"], practice["ticket"]
    log_in(page, "dana")
    page.wait_for_url(f"**/o/{organization.slug}/")

    # The ticket page: log time in place (an htmx swap, no reload).
    page.goto(f"/o/{organization.slug}/tickets/{ticket.number}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Printer on floor 2 offline")
    page.evaluate("window.__sameDocument = true")
    page.locator("#time-entries input[name=minutes]").fill("0:45")
    page.locator("#time-entries textarea[name=notes]").fill("Cleared the spooler")
    page.get_by_role("button", name="Log time").click()
    expect(page.get_by_test_id("logged-total")).to_have_text("0:45 logged")
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"
    assert page.evaluate("typeof htmx") == "object"
    log_out(page)

    # A finance page: compute the month's drafts in place, polling until done.
    log_in(page, "fran")
    page.wait_for_url(f"**/o/{organization.slug}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Finance").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Pre-invoice review")
    page.evaluate("window.__sameDocument = true")
    page.get_by_test_id("compute-drafts").click()
    expect(page.get_by_test_id("draft-run")).to_contain_text("Drafts saved")
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"
    log_out(page)

    # The audit log the admin reads, and the API docs (Swagger UI, nonce'd start-up).
    log_in(page, "ada")
    page.wait_for_url(f"**/o/{organization.slug}/")
    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    expect(page.locator("tr[data-kind=signed_in]").first).to_be_visible()
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .title").first).to_contain_text("msops API")

    assert violations == []


def test_a_locked_out_sign_in_says_so_on_the_sign_in_page(
    http_live_server, practice, page, violations
):
    for _ in range(5):
        log_in(page, "dana", "not-the-password")
    log_in(page, "dana")
    expect(page.get_by_test_id("locked-out")).to_contain_text("Too many failed sign-ins")
    expect(page.get_by_test_id("locked-out")).to_contain_text("15 minutes")
    expect(page.get_by_label("Password")).to_be_visible()
    assert "/o/" not in page.url
    assert violations == []
