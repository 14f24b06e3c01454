"""In Chromium, under the real Content-Security-Policy: an account manager
starts a handoff for a leaving developer, gives every item a new owner, the
receiver takes them, the account manager completes it, and the handoff
document shows the receiver what they need: each client's current state,
the items with their new owners and the recent decisions."""

import datetime
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from billing.models import DecisionLogEntry
from clients import services as client_services
from msops.tenancy.models import Role
from msops.tenancy.scoping import activate_organization
from msops.tenancy.services import membership_create, organization_create, user_create
from msops.timezones import organization_today
from tests.transitions.conftest import rows
from tickets.models import Ticket
from tickets.services import ticket_open
from transitions.briefs import client_brief_update
from transitions.models import Handoff, RecurringTask, Risk
from transitions.services import recurring_task_create, risk_create

pytest_plugins = ["tests.browser_fixtures"]
pytestmark = pytest.mark.browser

PASSWORD = "a-long-browser-test-password"
SCREENSHOTS = "/tmp/handoff-{}.png"


@pytest.fixture
def practice(transactional_db):
    organization = organization_create(
        name="Fabrikam Managed IT", slug="fabrikam", timezone="Europe/Amsterdam", currency="EUR"
    )
    people = {
        name: user_create(username=name, password=PASSWORD, first_name=first, last_name=last)
        for name, first, last in [
            ("ama", "Ama", "Mensah"),
            ("dan", "Dan", "Berg"),
            ("eve", "Eve", "Lind"),
        ]
    }
    with activate_organization(organization):
        ama = membership_create(
            organization=organization, user=people["ama"], role=Role.ACCOUNT_MANAGER
        )
        dan = membership_create(organization=organization, user=people["dan"], role=Role.DEVELOPER)
        membership_create(organization=organization, user=people["eve"], role=Role.DEVELOPER)
        acme = client_services.client_create(
            organization=organization, name="Acme Dental", account_manager=ama
        )
        patching = client_services.request_type_create(
            organization=organization, name="Patching", expected_minutes=60
        )
        client_brief_update(
            client=acme,
            summary="Two clinics, one NAS. Escalate outages to Dana (office manager) by phone.",
            by=ama,
        )
        recurring_task_create(
            organization=organization, client=acme, title="Patch the servers", cadence="monthly",
            owner=dan, request_type=patching,
            next_due=organization_today(organization) + datetime.timedelta(days=5),
            known_exceptions="Never on the last Friday of the month",
        )  # fmt: skip
        ticket = ticket_open(
            organization=organization, opened_by=ama, client=acme, request_type=patching,
            title="X-ray PC will not boot", assignee=dan,
        )  # fmt: skip
        risk_create(
            organization=organization, client=acme, description="The NAS has no offsite copy",
            owner=dan, next_action="Quote a cloud backup", severity="high",
        )  # fmt: skip
        DecisionLogEntry.objects.create(
            organization=organization, kind=DecisionLogEntry.Kind.CLIENT_EXCEPTION, client=acme,
            ticket=ticket, actor=ama, summary="Weekend call-outs included this quarter",
        )  # fmt: skip
    return {"organization": organization, "dan": dan}


def sign_in(page, username: str, slug: str) -> None:
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**/o/{slug}/")


def test_an_account_manager_hands_a_leaving_developers_accounts_to_a_colleague(
    http_live_server, practice, page, violations
):
    organization = practice["organization"]
    slug = organization.slug
    page.set_viewport_size({"width": 1366, "height": 900})

    # The account manager starts the handoff from the menu.
    sign_in(page, "ama", slug)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Handoffs").click()
    page.get_by_test_id("new-handoff").click()
    page.get_by_label("Hand over the items of").select_option(label="Dan Berg")
    page.get_by_label("All clients (and the items of no client)").check()
    page.get_by_label("Note").fill("Dan leaves on Friday.")
    page.get_by_test_id("start-handoff").click()
    page.wait_for_url(re.compile(r"/transitions/handoffs/\d+/$"))
    expect(page.get_by_role("status")).to_have_text("Handoff started: 3 open items to hand over.")
    lines = page.get_by_test_id("handoff-lines")
    for text in ["X-ray PC will not boot", "Patch the servers", "The NAS has no offsite copy"]:
        expect(lines).to_contain_text(text)
    expect(page.get_by_test_id("handoff-summary")).to_contain_text("3 without a new owner")

    # One line by its own select (swapped in place), the rest at once.
    page.evaluate("window.__sameDocument = true")
    page.get_by_label(re.compile(r"New owner of #\d+ X-ray PC")).select_option(
        label="Eve Lind (Developer)"
    )
    expect(page.get_by_test_id("handoff-summary")).to_contain_text("2 without a new owner")
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"
    page.get_by_test_id("assign-all-owner").select_option(label="Eve Lind (Developer)")
    page.get_by_test_id("assign-all").click()
    expect(page.get_by_test_id("handoff-summary")).to_contain_text("0 without a new owner")
    expect(page.get_by_role("status")).to_have_text("2 items assigned.")
    # Not yet: Eve has not taken them.
    page.get_by_test_id("handoff-complete").click()
    expect(page.get_by_role("status")).to_contain_text("Waiting for Eve Lind to acknowledge.")
    page.screenshot(path=SCREENSHOTS.format("1-checklist"), full_page=True)
    handoff_url = page.url

    # The receiver takes what is given to her.
    sign_in(page, "eve", slug)
    page.goto(handoff_url)
    page.get_by_test_id("handoff-acknowledge").click()
    expect(page.get_by_role("status")).to_contain_text("You took 3 items")
    expect(page.get_by_test_id("handoff-summary")).to_contain_text("0 not acknowledged")
    page.screenshot(path=SCREENSHOTS.format("2-received"), full_page=True)

    # The account manager completes it; the document is what Eve reads.
    sign_in(page, "ama", slug)
    page.goto(handoff_url)
    page.get_by_test_id("handoff-complete").click()
    page.wait_for_url(re.compile(r"/document/$"))
    expect(page.get_by_role("status")).to_have_text(
        "Handoff completed: every item has its new owner."
    )
    document = page.locator(".handoff-document")
    expect(document).to_contain_text("Dan leaves on Friday.")
    expect(page.get_by_test_id("handoff-doc-lines")).to_contain_text("Eve Lind")
    expect(document).to_contain_text("Escalate outages to Dana (office manager) by phone.")
    expect(document).to_contain_text("Never on the last Friday of the month")
    expect(document).to_contain_text("Weekend call-outs included this quarter")
    expect(document).to_contain_text("The NAS has no offsite copy")
    with page.expect_download() as download:
        page.get_by_test_id("handoff-markdown").click()
    markdown = Path(download.value.path()).read_text(encoding="utf-8")
    assert "## Acme Dental" in markdown and "→ **Eve Lind**" in markdown
    page.screenshot(path=SCREENSHOTS.format("3-document"), full_page=True)

    dan = practice["dan"]
    assert rows(Handoff, organization=organization)[0].status == Handoff.Status.COMPLETED
    for model, field in [(Ticket, "assignee"), (RecurringTask, "owner"), (Risk, "owner")]:
        (row,) = rows(model, organization=organization)
        owner = getattr(row, f"{field}_id")
        assert owner != dan.pk and owner is not None
    assert violations == []
