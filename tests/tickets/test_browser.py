"""Browser journey in Chromium: a developer opens a ticket, logs time in
place (with a mistake first) and moves the ticket on, without page reloads."""

import datetime
import re

import pytest
from playwright.sync_api import expect

from clients import services as client_services
from clients.models import Contract, Treatment
from msops.tenancy.models import Role
from msops.tenancy.scoping import activate_organization
from msops.tenancy.services import membership_create, organization_create, user_create
from tickets.models import Ticket
from tickets.services import ticket_open

pytest_plugins = ["tests.browser_fixtures"]
pytestmark = pytest.mark.browser

PASSWORD = "a-long-browser-test-password"


@pytest.fixture
def practice(transactional_db):
    organization = organization_create(
        name="Fabrikam Managed IT", slug="fabrikam", timezone="Europe/Amsterdam", currency="EUR"
    )
    user = user_create(username="dana", password=PASSWORD)
    with activate_organization(organization):
        developer = membership_create(organization=organization, user=user, role=Role.DEVELOPER)
        client = client_services.client_create(
            organization=organization,
            name="Acme Dental",
            billing_notes="Quote the PO number on every invoice.",
        )
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
    return {"organization": organization, "developer": developer}


def test_a_developer_opens_a_ticket_and_logs_time_in_place(http_live_server, practice, page):
    organization = practice["organization"]
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("dana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**/o/{organization.slug}/")

    page.get_by_role("link", name="Tickets", exact=True).click()
    page.get_by_role("button", name="New ticket").or_(
        page.get_by_role("link", name="New ticket")
    ).click()
    page.locator("select[name=client]").select_option(label="Acme Dental")
    page.locator("select[name=request_type]").select_option(label="Troubleshooting")
    page.locator("input[name=title]").fill("Printer on floor 2 offline")
    page.get_by_role("button", name="Open ticket").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("#1 Printer on floor 2 offline")
    expect(page.get_by_test_id("billing-notes")).to_contain_text("Quote the PO number")
    expect(page.get_by_test_id("applicable-rule")).to_contain_text(
        "Troubleshooting — included, about 60 min"
    )

    page.evaluate("window.__sameDocument = true")
    minutes = page.locator("#time-entries input[name=minutes]")
    minutes.fill("0")
    page.get_by_role("button", name="Log time").click()
    expect(page.locator("#time-entries .errorlist")).to_contain_text("Log at least 1 minute.")

    page.locator("#time-entries input[name=minutes]").fill("0:45")
    page.locator("#time-entries textarea[name=notes]").fill("Cleared the spooler")
    page.get_by_role("button", name="Log time").click()
    expect(page.get_by_test_id("logged-total")).to_have_text("0:45 logged")
    expect(page.get_by_test_id("time-entry")).to_contain_text("Cleared the spooler")

    page.locator("#ticket-status select[name=status]").select_option("in_progress")
    page.locator("#ticket-status").get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("ticket-status")).to_have_text("In progress")
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"

    with activate_organization(organization):
        ticket = Ticket.objects.get(organization=organization)
    assert (ticket.logged_minutes, ticket.status, ticket.version) == (45, "in_progress", 2)
    assert ticket.assignee == practice["developer"]

    # The list filters in place too.
    page.get_by_role("link", name="My tickets").click()  # she opened it: it is hers
    expect(page.get_by_test_id("ticket-count")).to_have_text("1 ticket")
    page.goto(f"/o/{organization.slug}/tickets/")
    page.evaluate("window.__sameDocument = true")
    page.locator("#id_q").fill("floor 2")
    expect(page.get_by_test_id("ticket-row")).to_have_count(1)
    page.locator("#id_q").fill("nothing like this")
    expect(page.get_by_test_id("ticket-count")).to_have_text("0 tickets")
    assert page.evaluate("window.__sameDocument === true")

    # Sorting is kept when the filters change afterwards.
    with activate_organization(organization):
        ticket_open(
            organization=organization,
            opened_by=practice["developer"],
            client=ticket.client,
            request_type=ticket.request_type,
            title="Printer toner low",
        )
    page.goto(f"/o/{organization.slug}/tickets/?sort=-number")
    first_cells = page.locator("[data-testid=ticket-row] td:first-child")
    expect(first_cells).to_have_text(["#2", "#1"])
    page.locator("thead th").first.get_by_role("link").click()  # now ascending
    expect(first_cells).to_have_text(["#1", "#2"])
    page.locator("#id_q").fill("Printer")  # the newest-first default would put #2 first
    expect(page).to_have_url(re.compile(r"q=Printer"))
    expect(first_cells).to_have_text(["#1", "#2"])
    assert "sort=number" in page.url
