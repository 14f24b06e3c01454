"""In Chromium: no page of any role overflows the window sideways at 390 px
(a phone), 1366 px (a laptop) or 1920 px (a wide screen), with unbreakable
50-character words in the data (the walk: tests/page_walk.py); and on a phone
the main menu folds behind a "Menu" button that works with the keyboard."""

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from msops.tenancy.models import Role
from msops.tenancy.services import membership_create, organization_create, user_create
from tests.page_walk import PASSWORD, open_pages, page_urls, sign_in

pytest_plugins = ["tests.browser_fixtures"]
pytestmark = pytest.mark.browser

WIDTHS = (390, 1366, 1920)
# Every role sees at least this many pages (an admin sees them all).
MIN_PAGES = {Role.DEVELOPER: 10, Role.ACCOUNT_MANAGER: 10, Role.FINANCE: 10, Role.ADMIN: 30}
OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"
# The innermost elements that stick out, for the failure message.
WIDEST = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.children.length)
  .slice(0, 3).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
    + ' ' + (e.textContent || '').trim().slice(0, 30))"""


@pytest.mark.parametrize("role", list(Role))
def test_no_page_of_a_role_overflows_a_phone_a_laptop_or_a_wide_screen(
    http_live_server, practice, page, role
):
    sign_in(page, practice.people[role].user.username)
    found, seen = [], 0
    for _name, url in open_pages(page, page_urls(practice)):
        seen += 1
        # One load per page, measured at each width (the layout follows the resize).
        for width in WIDTHS if seen % 2 else reversed(WIDTHS):
            page.set_viewport_size({"width": width, "height": 900})
            extra = page.evaluate(OVERFLOW)
            if extra > 0:
                found.append(f"{url} at {width} px ({extra} px too wide: {page.evaluate(WIDEST)})")
    assert seen >= MIN_PAGES[role], f"only {seen} pages answered {role}"
    assert not found, f"{role}: {found}"


@pytest.fixture
def admin(transactional_db):
    organization = organization_create(
        name="Fabrikam Managed IT Services International", slug="fabrikam",
        timezone="Europe/Amsterdam", currency="EUR",
    )  # fmt: skip
    user = user_create(username="menu-admin", password=PASSWORD)
    with scopes_disabled():
        return membership_create(organization=organization, user=user, role=Role.ADMIN)


def test_on_a_phone_the_main_menu_folds_behind_a_menu_button(http_live_server, admin, page):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, admin.user.username)
    page.goto(reverse("tenancy:organization_home", kwargs={"org": admin.organization.slug}))
    nav = page.get_by_role("navigation", name="Main")
    menu = nav.get_by_role("button", name="Menu")
    tickets = nav.get_by_role("link", name="Tickets", exact=True)
    log_out = nav.get_by_role("button", name="Log out")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(tickets).to_be_hidden()
    expect(log_out).to_be_hidden()

    # Keyboard: the skip link, the home link, then the Menu button.
    for _ in range(3):
        page.keyboard.press("Tab")
    expect(menu).to_be_focused()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(tickets).to_be_visible()
    expect(log_out).to_be_in_viewport()
    assert page.evaluate(OVERFLOW) <= 0

    page.keyboard.press("Tab")
    page.keyboard.press("Escape")
    expect(tickets).to_be_hidden()
    expect(menu).to_be_focused()

    page.set_viewport_size({"width": 1366, "height": 900})
    expect(menu).to_be_hidden()
    expect(tickets).to_be_visible()
    expect(log_out).to_be_visible()
