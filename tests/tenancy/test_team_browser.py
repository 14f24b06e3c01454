"""In Chromium, under the real Content-Security-Policy: an admin invites
someone from the team page, the invitee follows the emailed link, chooses a
username and password and lands in the organization; the admin then changes
a role and deactivates a member in place, and the deactivated member's next
page is refused."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from msops.tenancy.models import Role
from msops.tenancy.scoping import activate_organization
from msops.tenancy.services import membership_create, organization_create, user_create

pytest_plugins = ["tests.browser_fixtures"]
pytestmark = pytest.mark.browser

PASSWORD = "a-long-browser-test-password"
NEW_PASSWORD = "the invitee's own passphrase 7"
LINK = re.compile(r"http://[^/\s]+(/invitations/[^/\s]+/)")


@pytest.fixture
def practice(transactional_db):
    organization = organization_create(
        name="Fabrikam Managed IT", slug="fabrikam", timezone="Europe/Amsterdam", currency="EUR"
    )
    ada = user_create(username="ada", password=PASSWORD, email="ada@example.com")
    dana = user_create(username="dana", password=PASSWORD, email="dana@example.com")
    with activate_organization(organization):
        membership_create(organization=organization, user=ada, role=Role.ADMIN)
        membership_create(organization=organization, user=dana, role=Role.DEVELOPER)
    return organization


def log_in(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_an_invited_person_joins_and_an_admin_manages_the_team_in_place(
    http_live_server, practice, browser, page, violations
):
    organization = practice
    page.on("dialog", lambda dialog: dialog.accept())  # hx-confirm
    mail.outbox.clear()

    # Ada invites Sam from the team page; the panel answers in place.
    log_in(page, "ada")
    page.wait_for_url(f"**/o/{organization.slug}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Team").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Team")
    page.evaluate("window.__sameDocument = true")
    form = page.get_by_test_id("invite-form")
    form.get_by_label("Email").fill("sam@example.com")
    form.get_by_label("Name (optional)").fill("Sam Smith")
    form.get_by_label("Role").select_option(Role.FINANCE)
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_test_id("invitation-done")).to_contain_text("sam@example.com")
    expect(page.locator("[data-testid=invitation-row][data-status=pending]")).to_contain_text(
        "sam@example.com"
    )
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"

    # Sam follows the emailed link in a browser of their own.
    (invitation_mail,) = mail.outbox
    link = LINK.search(invitation_mail.body).group(1)
    sam_context = browser.new_context(base_url=http_live_server.url)
    sam = sam_context.new_page()
    try:
        sam.goto(link)
        expect(sam.get_by_role("heading", level=1)).to_have_text("Join Fabrikam Managed IT")
        expect(sam.get_by_label("Username")).to_have_value("sam")
        sam.get_by_label("Password", exact=True).fill("short")
        sam.get_by_label("Password again").fill("short")
        sam.get_by_role("button", name="Join Fabrikam Managed IT").click()
        expect(sam.locator(".errorlist").first).to_contain_text("too short")
        sam.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
        sam.get_by_label("Password again").fill(NEW_PASSWORD)
        sam.get_by_role("button", name="Join Fabrikam Managed IT").click()
        sam.wait_for_url(f"**/o/{organization.slug}/")
        expect(sam.get_by_role("heading", level=1)).to_have_text("Fabrikam Managed IT")
        nav = sam.get_by_role("navigation", name="Main")
        expect(nav.get_by_test_id("nav-finance")).to_be_visible()
        expect(nav.get_by_role("link", name="Team")).to_have_count(0)  # admins only
        sam.goto(link)
        expect(sam.get_by_test_id("invitation-refused")).to_contain_text("already accepted")
    finally:
        sam_context.close()

    # Ada sees Sam as a member, makes them account manager, and deactivates Dana.
    page.reload()
    sam_row = page.locator("[data-testid=member-row][data-username=sam]")
    expect(sam_row).to_contain_text("sam@example.com")
    page.evaluate("window.__sameDocument = true")
    sam_row.get_by_label("Role of sam").select_option(Role.ACCOUNT_MANAGER)
    sam_row.get_by_role("button", name="Change role").click()
    expect(sam_row.get_by_test_id("member-done")).to_contain_text("now account manager")
    dana_row = page.locator("[data-testid=member-row][data-username=dana]")
    dana_row.get_by_role("button", name="Deactivate").click()
    expect(dana_row).to_contain_text("Deactivated")
    # The last admin can't step down: the refusal shows in the row.
    ada_row = page.locator("[data-testid=member-row][data-username=ada]")
    ada_row.get_by_label("Role of ada").select_option(Role.DEVELOPER)
    ada_row.get_by_role("button", name="Change role").click()
    expect(ada_row.get_by_test_id("member-failure")).to_contain_text("last active admin")
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"

    # Dana can no longer sign in.
    page.get_by_role("button", name="Log out").click()
    log_in(page, "dana")
    expect(page.get_by_label("Password")).to_be_visible()
    assert "/o/" not in page.url
    assert violations == []
