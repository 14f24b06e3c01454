"""Browser journey in Chromium: an account manager opens Insights from the
menu, sees the charts drawn by the vendored Chart.js (under the CSP, no
violation) with their tables, follows a number to the records behind it, and
goes on to the client's quarterly review pack."""

import re

import pytest
from playwright.sync_api import expect

from billing.services import decision_record, time_entry_log
from clients import services as client_services
from clients.models import Contract, Treatment
from msops.tenancy.models import Role
from msops.tenancy.scoping import activate_organization
from msops.tenancy.services import membership_create, organization_create, user_create
from msops.timezones import organization_today
from tickets.services import ticket_open

pytest_plugins = ["tests.browser_fixtures"]
pytestmark = pytest.mark.browser

PASSWORD = "a-long-browser-test-password"


@pytest.fixture
def practice(transactional_db):
    """Today: Alex's client Acme Dental, 1:00 h of included troubleshooting
    logged by Dana (all of the client's time: 100 % by one person)."""
    organization = organization_create(
        name="Fabrikam Managed IT", slug="fabrikam", timezone="Europe/Amsterdam", currency="EUR"
    )
    dana = user_create(username="dana", password=PASSWORD, first_name="Dana", last_name="Dev")
    alex = user_create(username="alex", password=PASSWORD, first_name="Alex")
    with activate_organization(organization):
        developer = membership_create(organization=organization, user=dana, role=Role.DEVELOPER)
        manager = membership_create(organization=organization, user=alex, role=Role.ACCOUNT_MANAGER)
        client = client_services.client_create(
            organization=organization, name="Acme Dental", account_manager=manager
        )
        contract = client_services.contract_create(
            organization=organization,
            client=client,
            name="Managed support",
            kind=Contract.Kind.RETAINER,
            starts_on=organization_today(organization).replace(day=1, year=2025, month=1),
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
            effective_from=contract.starts_on,
        )
        today = organization_today(organization)
        printer = ticket_open(
            organization=organization, opened_by=developer, client=client,
            request_type=troubleshooting, title="Printer on floor 2 offline", assignee=developer,
        )  # fmt: skip
        time_entry_log(ticket=printer, person=developer, work_date=today, minutes=60)
        printer.refresh_from_db()
        decision_record(
            ticket=printer, actor=developer, classification="included", version=printer.version
        )
    return {"organization": organization, "client": client}


def log_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/o/"))


def test_an_account_manager_reads_a_chart_its_table_and_follows_a_number(
    http_live_server, practice, page, violations
):
    log_in(page, "alex")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Insights").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Insights")

    canvas = page.locator("#chart-concentration")
    expect(canvas).to_be_visible()
    page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.getElementById('chart-concentration'))"
    )
    drawn = page.evaluate(
        "() => { const c = Chart.getChart(document.getElementById('chart-concentration'));"
        " return [c.data.labels, c.data.datasets[0].data]; }"
    )
    assert drawn == [["Acme Dental"], [100]]
    table = page.get_by_test_id("insights-table-concentration")
    row = table.locator("tbody tr").first
    expect(row).to_contain_text("Acme Dental")
    expect(row).to_contain_text("Dana Dev")
    expect(row).to_contain_text("100.0 %")

    row.get_by_role("link", name="1:00").click()
    page.wait_for_url(re.compile(r"/tickets/\?client="))
    expect(page.get_by_role("link", name=re.compile("Printer on floor 2 offline"))).to_be_visible()

    # On to the client's quarterly review pack, prepared on demand.
    page.goto(f"/o/fabrikam/clients/{practice['client'].pk}/")
    page.get_by_test_id("review-packs-link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Review packs: Acme Dental")
    page.get_by_test_id("review-pack-prepare").click()
    page.get_by_test_id("review-pack-prepared").get_by_role("link").click()
    page.wait_for_url(re.compile(r"/transitions/review-packs/\d+/$"))
    pack = page.get_by_test_id("review-pack")
    expect(pack.get_by_role("heading", level=1)).to_contain_text("Acme Dental: review of")
    expect(pack.get_by_role("heading", name="Service levels")).to_be_visible()
    expect(pack).to_contain_text("1:00")  # the hour logged, against the allowance
    assert violations == []
