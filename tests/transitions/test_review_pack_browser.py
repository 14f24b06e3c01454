"""In Chromium, under the real Content-Security-Policy: an account manager
opens a client's review packs from the client page, prepares the pack of
the coming review now (htmx, no reload), opens it, downloads its PDF, and
prints the page to PDF with the browser (``page.pdf()``: the way out when
WeasyPrint is not available on a server)."""

import datetime
import re

import pytest
from playwright.sync_api import expect

from clients import services as client_services
from msops.calendar import add_months
from msops.tenancy.models import Role
from msops.tenancy.scoping import activate_organization
from msops.tenancy.services import membership_create, organization_create, user_create
from msops.timezones import organization_today
from tests.factories import (
    ContractFactory,
    ContractRevisionFactory,
    TicketFactory,
    TimeEntryFactory,
)

pytest_plugins = ["tests.browser_fixtures"]
pytestmark = pytest.mark.browser

PASSWORD = "a-long-browser-test-password"
SCREENSHOTS = "/tmp/review-pack-{}.png"


@pytest.fixture
def practice(transactional_db):
    organization = organization_create(
        name="Fabrikam Managed IT", slug="fabrikam", timezone="Europe/Amsterdam", currency="EUR"
    )
    ama = user_create(username="ama", password=PASSWORD, first_name="Ama", last_name="Mensah")
    dan = user_create(username="dan", password=PASSWORD, first_name="Dan", last_name="Berg")
    today = organization_today(organization)
    with activate_organization(organization):
        manager = membership_create(organization=organization, user=ama, role=Role.ACCOUNT_MANAGER)
        developer = membership_create(organization=organization, user=dan, role=Role.DEVELOPER)
        acme = client_services.client_create(
            organization=organization, name="Acme Dental", account_manager=manager
        )
        patching = client_services.request_type_create(
            organization=organization, name="Patching", expected_minutes=60
        )
    # Quarterly reviews; the next one in three days.
    contract = ContractFactory(
        client=acme, organization=organization, name="Acme support",
        starts_on=add_months(today + datetime.timedelta(days=3), -6), review_cadence="quarterly",
    )  # fmt: skip
    ContractRevisionFactory(contract=contract, organization=organization, included_minutes=600)
    for days_ago in (40, 20, 5):
        ticket = TicketFactory(
            organization=organization, client=acme, contract=contract, request_type=patching,
            title=f"Patch the server ({days_ago} days ago)",
            opened_at=datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=days_ago),
        )  # fmt: skip
        TimeEntryFactory(
            organization=organization, ticket=ticket, person=developer, minutes=90,
            work_date=today - datetime.timedelta(days=days_ago), billing_status="included",
        )  # fmt: skip
    return {"organization": organization, "acme": acme}


def sign_in(page, username: str, slug: str) -> None:
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**/o/{slug}/")


def test_an_account_manager_prepares_opens_and_prints_a_review_pack(
    http_live_server, practice, page, violations
):
    slug = practice["organization"].slug
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, "ama", slug)

    # From the client page to the client's review packs: none yet.
    page.goto(f"/o/{slug}/clients/{practice['acme'].pk}/")
    page.get_by_test_id("review-packs-link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Review packs: Acme Dental")
    expect(page.get_by_test_id("no-review-packs")).to_be_visible()

    # Prepare now: swapped in place, no reload.
    page.evaluate("window.__sameDocument = true")
    page.get_by_test_id("review-pack-prepare").click()
    prepared = page.get_by_test_id("review-pack-prepared")
    expect(prepared).to_contain_text("Prepared: the review pack for")
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"

    # The pack, print-ready.
    prepared.get_by_role("link").click()
    page.wait_for_url(re.compile(r"/transitions/review-packs/\d+/$"))
    pack = page.get_by_test_id("review-pack")
    expect(pack.get_by_role("heading", level=1)).to_contain_text("Acme Dental: review of")
    expect(page.get_by_test_id("pack-recurring")).to_contain_text("Patching: 3 tickets")
    expect(page.get_by_test_id("pack-renewal-on")).not_to_be_empty()
    page.screenshot(path=SCREENSHOTS.format("1-page"), full_page=True)

    # The stored PDF (WeasyPrint), when the server could make one.
    link = page.get_by_test_id("review-pack-pdf")
    if link.count():
        with page.expect_download() as download_info:
            link.click()
        download = download_info.value
        assert download.suggested_filename.startswith("review-pack-acme-dental-")
        with open(download.path(), "rb") as stored:
            assert stored.read(4) == b"%PDF"
    else:
        expect(page.get_by_test_id("review-pack-no-pdf")).to_contain_text("Save as PDF")

    # The browser's own print to PDF: the page prints as the pack, without the menu.
    page.emulate_media(media="print")
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    expect(page.get_by_role("navigation", name="Review pack")).to_be_hidden()
    expect(pack).to_be_visible()
    page.screenshot(path=SCREENSHOTS.format("2-print"), full_page=True)
    printed = page.pdf(format="A4", print_background=True)
    assert printed.startswith(b"%PDF")
    assert violations == []
