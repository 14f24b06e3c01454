"""Browser journey in Chromium: a developer fills their week in the
timesheet (a new row for a ticket, a cell typed as 1:30, another as 90, a
mistake), and the row and the week's totals change in place, without a page
reload and without breaking the CSP. The running timer's clock counts on
under the same CSP."""

import datetime
import re

import pytest
from playwright.sync_api import expect

from billing.services import decision_record
from clients import services as client_services
from clients.models import Contract, Treatment
from msops.tenancy.models import Role
from msops.tenancy.scoping import activate_organization
from msops.tenancy.services import membership_create, organization_create, user_create
from tickets.models import Ticket, TimeEntry
from tickets.services import ticket_open

pytest_plugins = ["tests.browser_fixtures"]
pytestmark = pytest.mark.browser

PASSWORD = "a-long-browser-test-password"
# 2025-W10: Monday 3 to Sunday 9 March 2025, in the past whatever day the suite runs.
WEEK = "2025-W10"
MONDAY = datetime.date(2025, 3, 3)


@pytest.fixture
def practice(transactional_db):
    organization = organization_create(
        name="Fabrikam Managed IT", slug="fabrikam", timezone="Europe/Amsterdam", currency="EUR"
    )
    user = user_create(username="dana", password=PASSWORD)
    with activate_organization(organization):
        developer = membership_create(organization=organization, user=user, role=Role.DEVELOPER)
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
            organization=organization, name="Troubleshooting", expected_minutes=240
        )
        client_services.scope_rule_create(
            organization=organization,
            contract=contract,
            request_type=troubleshooting,
            treatment=Treatment.INCLUDED,
            expected_minutes=240,
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
        decision_record(
            ticket=ticket, actor=developer, classification="included", version=ticket.version
        )
        # Opened before the week the journey fills in.
        Ticket.objects.filter(pk=ticket.pk).update(
            opened_at=datetime.datetime(2025, 3, 1, tzinfo=datetime.UTC)
        )
    return {"organization": organization, "developer": developer, "ticket": ticket}


def log_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/o/"))


def test_a_developer_fills_the_week_in_place(http_live_server, practice, page, violations):
    ticket = practice["ticket"]
    log_in(page, "dana")
    page.get_by_test_id("nav-timesheet").click()
    expect(page.get_by_role("heading", name="Timesheet")).to_be_visible()
    page.goto(f"/o/fabrikam/billing/timesheet/?week={WEEK}")
    expect(page.get_by_test_id("timesheet-empty")).to_be_visible()

    # A row for one of my open tickets.
    page.get_by_label("Add one of your open tickets").select_option(
        label=f"#{ticket.number} Printer on floor 2 offline"
    )
    page.get_by_role("button", name="Add a row").click()
    row = page.locator(f"#ts-row-{ticket.pk}")
    expect(row).to_be_visible()
    page.evaluate("window.__sameDocument = true")

    monday = page.get_by_label(f"#{ticket.number} on Monday 3 March")
    monday.fill("1:30")
    monday.press("Tab")
    expect(row.get_by_test_id("row-total")).to_have_text("1:30")
    expect(page.get_by_test_id("week-total")).to_have_text("1:30")
    expect(page.get_by_test_id("day-total").first).to_have_text("1:30")
    # Tab moved on to Tuesday: it still has the focus after Monday's answer.
    tuesday = page.get_by_label(f"#{ticket.number} on Tuesday 4 March")
    expect(tuesday).to_be_focused()
    tuesday.fill("90")
    tuesday.press("Tab")
    expect(row.get_by_test_id("row-total")).to_have_text("3:00")
    expect(page.get_by_test_id("week-total")).to_have_text("3:00")
    expect(page.get_by_test_id("status-included").get_by_test_id("status-total")).to_have_text(
        "3:00"
    )
    expect(page.get_by_label(f"#{ticket.number} on Tuesday 4 March")).to_have_value("1:30")

    # A mistake: the message beside the cell, nothing saved, the totals as they were.
    wednesday = page.get_by_label(f"#{ticket.number} on Wednesday 5 March")
    wednesday.fill("lots")
    wednesday.press("Enter")
    expect(page.get_by_test_id("cell-error")).to_have_text(
        "Enter minutes (45) or hours:minutes (1:30)."
    )
    expect(page.get_by_test_id("week-total")).to_have_text("3:00")

    # Correcting Monday down to 0:45 changes the one entry.
    monday = page.get_by_label(f"#{ticket.number} on Monday 3 March")
    monday.fill("45")
    monday.press("Enter")
    expect(page.get_by_test_id("week-total")).to_have_text("2:15")
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"
    assert violations == []

    with activate_organization(practice["organization"]):
        assert sorted(
            TimeEntry.objects.filter(ticket=ticket).values_list("work_date", "minutes")
        ) == [(MONDAY, 45), (MONDAY + datetime.timedelta(days=1), 90)]


def test_the_timers_clock_counts_on_under_the_csp(http_live_server, practice, page, violations):
    log_in(page, "dana")
    page.goto("/o/fabrikam/billing/timesheet/")
    page.evaluate(
        """() => {
          const clock = document.createElement('strong');
          clock.dataset.timerElapsed = '3595';
          clock.dataset.testid = 'clock';
          clock.textContent = '0:59';
          document.querySelector('main').append(clock);
        }"""
    )
    page.add_script_tag(url="/static/js/timer.js")
    expect(page.get_by_test_id("clock")).to_have_text("1:00", timeout=10_000)
    assert violations == []
