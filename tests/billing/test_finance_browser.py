"""Browser journey in Chromium: finance opens this month's pre-invoice review,
computes the drafts, opens a client's month, settles the exception that
blocks it in place, locks the month, reads "explain this line" and downloads
the invoice CSV for Xero.

MSOPS_SCREENSHOTS=/some/dir saves each page there as finance_*.png."""

import csv
import io
import os
import re

import pytest
from playwright.sync_api import expect

from billing.models import BillingPeriod, PeriodEvent
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
SCREENSHOTS = os.environ.get("MSOPS_SCREENSHOTS")


def shot(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, f"finance_{name}.png"), full_page=True)


@pytest.fixture
def practice(transactional_db):
    """This month: Acme Dental's retainer (fee 2500.00, 20 h included) with
    1:00 h of included troubleshooting and 0:45 h nobody decided yet."""
    organization = organization_create(
        name="Fabrikam Managed IT", slug="fabrikam", timezone="Europe/Amsterdam", currency="EUR"
    )
    fran = user_create(username="fran", password=PASSWORD, first_name="Fran", last_name="Finance")
    dana = user_create(username="dana", password=PASSWORD, first_name="Dana", last_name="Dev")
    alex = user_create(username="alex", password=PASSWORD, first_name="Alex")
    with activate_organization(organization):
        membership_create(organization=organization, user=fran, role=Role.FINANCE)
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
        time_entry_log(
            ticket=printer, person=developer, work_date=today, minutes=60,
            notes="Replaced the fuser; test page fine.",
        )  # fmt: skip
        printer.refresh_from_db()
        decision_record(
            ticket=printer, actor=developer, classification="included", version=printer.version
        )
        vpn = ticket_open(
            organization=organization, opened_by=developer, client=client,
            request_type=troubleshooting, title="VPN drops every hour", assignee=developer,
        )  # fmt: skip
        time_entry_log(ticket=vpn, person=developer, work_date=today, minutes=45)
    return {"organization": organization, "client": client, "today": today, "vpn": vpn}


def log_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/o/"))


def test_finance_settles_locks_explains_and_exports_a_month(http_live_server, practice, page):
    organization, today = practice["organization"], practice["today"]
    log_in(page, "fran")

    # The month: Acme Dental is blocked by one exception.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Finance").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Pre-invoice review")
    row = page.locator('[data-testid="month-row"][data-client="Acme Dental"]')
    expect(row.get_by_test_id("draft-total")).to_have_text("EUR 2,500.00")
    expect(row.get_by_test_id("exceptions")).to_contain_text("1 blocking")
    page.evaluate("window.__sameDocument = true")
    page.get_by_test_id("compute-drafts").click()
    expect(page.get_by_test_id("draft-run")).to_contain_text("Drafts saved")
    expect(page.get_by_test_id("draft-run")).to_contain_text("1 client")
    assert page.evaluate("window.__sameDocument") is True
    shot(page, "month")

    # The client's month: settle the exception in place.
    row.get_by_role("link", name="Acme Dental").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Acme Dental")
    blocker = page.get_by_test_id("blocker")
    expect(blocker).to_have_count(1)
    expect(blocker).to_contain_text("Time without a decision")
    expect(blocker).to_contain_text("VPN drops every hour")
    shot(page, "period_blocked")
    page.evaluate("window.__sameDocument = true")
    page.get_by_test_id("lock").click()
    expect(page.get_by_test_id("lock-error")).to_contain_text("1 exception still blocks this month")
    blocker.get_by_text("Classify", exact=True).first.click()
    blocker.get_by_label("Included (covered by the contract)").check()
    blocker.get_by_test_id("classify").click()
    expect(page.get_by_test_id("period-done")).to_contain_text("Classified included")
    expect(page.get_by_test_id("blocker")).to_have_count(0)
    expect(page.get_by_test_id("no-exceptions")).to_contain_text("Nothing blocks")
    assert page.evaluate("window.__sameDocument") is True
    shot(page, "period_ready")

    # Lock it: the page says why nothing can change now.
    page.get_by_test_id("lock").click()
    expect(page.get_by_test_id("period-done")).to_contain_text("is locked")
    expect(page.get_by_test_id("locked-note")).to_contain_text("nothing in it can change")
    expect(page.get_by_test_id("period-status").first).to_have_text("Locked")
    with activate_organization(organization):
        period = BillingPeriod.objects.get(client=practice["client"], month=today.replace(day=1))
    assert period.status == BillingPeriod.Status.LOCKED
    shot(page, "period_locked")

    # Explain the VPN line: what was done, by whom, under which rule, who decided.
    vpn_line = page.get_by_test_id("line").filter(has_text="VPN drops every hour")
    vpn_line.get_by_test_id("explain").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Why this is on the invoice")
    expect(page.get_by_test_id("line-entry")).to_contain_text("Dana Dev")
    expect(page.get_by_test_id("line-entry")).to_contain_text("0:45")
    expect(page.get_by_test_id("line-rule")).to_contain_text(
        "Troubleshooting — included, about 60 min"
    )
    expect(page.get_by_test_id("line-decision")).to_contain_text("Fran Finance decided the work on")
    expect(page.get_by_test_id("line-decision")).to_contain_text("is included")
    shot(page, "explain")

    # Download the invoice for Xero: the file holds the month's lines.
    page.get_by_role("link", name=re.compile(r"^← Acme Dental")).click()
    with page.expect_download() as download_info:
        page.get_by_test_id("export-xero").click()
    download = download_info.value
    assert download.suggested_filename == f"acme-dental-{today:%Y-%m}-xero.csv"
    with open(download.path(), encoding="utf-8") as exported_file:
        rows = list(csv.DictReader(io.StringIO(exported_file.read())))
    descriptions = [r["*Description"] for r in rows]
    assert any("Retainer fee" in d for d in descriptions)
    assert any("VPN drops every hour" in d for d in descriptions)
    assert {r["*ContactName"] for r in rows} == {"Acme Dental"}
    fee = next(r for r in rows if "Retainer fee" in r["*Description"])
    assert (fee["*Quantity"], fee["*UnitAmount"]) == ("1", "2500.00")
    with activate_organization(organization):
        period.refresh_from_db()
        exported = PeriodEvent.objects.filter(period=period, action="exported").count()
    assert period.status == BillingPeriod.Status.EXPORTED and exported == 1
    page.reload()
    expect(page.get_by_test_id("history")).to_contain_text("Exported by Fran Finance")
    shot(page, "period_exported")
