"""In Chromium: no page of any role overflows the window sideways — at
390 px (a phone) for every role, at 1366 and 1920 px for an admin. The pages
are every GET route the isolation test classifies (tests/isolation.py), filled
with a world that has a row of every tenant model; a page that answers other
than 200 for a role (403, or a POST-only route) is skipped for that role."""

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from msops.tenancy.models import Role
from msops.tenancy.services import membership_create, organization_create, user_create
from tests.isolation import ROUTES, build_world

pytest_plugins = ["tests.browser_fixtures"]
pytestmark = pytest.mark.browser

PASSWORD = "a-long-browser-test-password"
PAGE_ROUTES = sorted(
    name
    for name, route in ROUTES.items()
    if route.kind != "exempt" and not name.startswith("api:") and name.count(":") == 1
)
OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"
# The innermost elements that stick out, for the failure message.
WIDEST = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.children.length)
  .slice(0, 3).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
    + ' ' + (e.textContent || '').trim().slice(0, 30))"""


@pytest.fixture
def practice(transactional_db):
    organization = organization_create(
        name="Fabrikam Managed IT Services International", slug="fabrikam",
        timezone="Europe/Amsterdam", currency="EUR",
    )  # fmt: skip
    with scopes_disabled():
        world = build_world(organization, "Unbroken" + "W" * 42)  # no place to wrap
    people = {}
    for role in Role:
        user = user_create(username=f"layout-{role}", password=PASSWORD)
        with scopes_disabled():
            people[role] = membership_create(organization=organization, user=user, role=role)
    return organization, world, people


def _urls(organization, world) -> list[str]:
    urls = []
    for name in PAGE_ROUTES:
        route = ROUTES[name]
        kwargs = {key: world[world_key].pk for key, world_key in route.objects.items()}
        urls.append(reverse(name, kwargs={"org": organization.slug, **kwargs}))
    return urls


def _sign_in(page, username: str) -> None:
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def _overflowing(page, urls: list[str]) -> tuple[list[str], int]:
    """Open each page that answers the signed-in member 200 with HTML (asked
    first without navigating: POST-only routes and downloads are skipped)."""
    found, seen = [], 0
    for url in urls:
        answer = page.request.get(url, max_redirects=0)
        if answer.status != 200 or "text/html" not in answer.headers.get("content-type", ""):
            continue
        page.goto(url)
        seen += 1
        extra = page.evaluate(OVERFLOW)
        if extra > 0:
            wide = page.evaluate(WIDEST)
            found.append(f"{url} ({extra} px too wide: {wide})")
    return found, seen


def test_no_page_of_any_role_overflows_a_phone(http_live_server, practice, page):
    organization, world, people = practice
    urls = _urls(organization, world)
    page.set_viewport_size({"width": 390, "height": 844})
    for role, member in people.items():
        _sign_in(page, member.user.username)
        found, seen = _overflowing(page, urls)
        assert seen >= 10, f"only {seen} pages answered {role}"
        assert not found, f"{role} at 390 px: {found}"


@pytest.mark.parametrize("width", [1366, 1920])
def test_no_page_overflows_a_laptop_or_a_wide_screen(http_live_server, practice, page, width):
    organization, world, people = practice
    page.set_viewport_size({"width": width, "height": 900})
    _sign_in(page, people[Role.ADMIN].user.username)
    found, seen = _overflowing(page, _urls(organization, world))
    assert seen >= 30 and not found, f"at {width} px: {found}"
