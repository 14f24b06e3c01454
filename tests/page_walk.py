"""The walk over every page of every role, shared by the browser tests that
look at whole pages (layout, accessibility).

The pages are every GET route the isolation test classifies (tests/isolation.py),
filled with a world that has a row of every tenant model, with unbreakable
50-character words in its text. A page that answers a role other than 200 with
HTML (403, a POST-only route, a download) is skipped for that role.

A test asks for the ``practice`` fixture (tests/browser_fixtures.py) and
walks it with ``sign_in``, ``page_urls`` and ``open_pages``.
"""

from collections.abc import Iterator
from dataclasses import dataclass

from django.urls import reverse
from django_scopes import scopes_disabled

from msops.tenancy.models import Membership, Organization, Role
from msops.tenancy.services import membership_create, organization_create, user_create
from tests.isolation import ROUTES, build_world

PASSWORD = "a-long-browser-test-password"
PAGE_ROUTES = sorted(
    name
    for name, route in ROUTES.items()
    if route.kind != "exempt" and not name.startswith("api:") and name.count(":") == 1
)
LONG_WORD = "Unbroken" + "W" * 42  # no place to wrap


@dataclass
class Practice:
    organization: Organization
    world: dict
    people: dict[Role, Membership]


def practice_build() -> Practice:
    """One organization with a row of every tenant model and a member of each
    role (the ``practice`` fixture in tests/browser_fixtures.py)."""
    organization = organization_create(
        name="Fabrikam Managed IT Services International", slug="fabrikam",
        timezone="Europe/Amsterdam", currency="EUR",
    )  # fmt: skip
    with scopes_disabled():
        world = build_world(organization, LONG_WORD)
    people = {}
    for role in Role:
        user = user_create(username=f"walk-{role}", password=PASSWORD)
        with scopes_disabled():
            people[role] = membership_create(organization=organization, user=user, role=role)
    return Practice(organization, world, people)


def page_urls(practice: Practice) -> list[tuple[str, str]]:
    """(route name, URL) of every page, its arguments taken from the world."""
    urls = []
    for name in PAGE_ROUTES:
        route = ROUTES[name]
        kwargs = {
            key: getattr(practice.world[world_key], "number" if key == "number" else "pk")
            for key, world_key in route.objects.items()
        }
        urls.append((name, reverse(name, kwargs={"org": practice.organization.slug, **kwargs})))
    return urls


def sign_in(page, username: str) -> None:
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def open_pages(page, urls: list[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    """Open, one after the other in the same page, each URL that answers the
    signed-in member 200 with HTML (asked first without navigating), and
    yield its (route name, URL) while it is shown."""
    for name, url in urls:
        answer = page.request.get(url, max_redirects=0)
        if answer.status != 200 or "text/html" not in answer.headers.get("content-type", ""):
            continue
        page.goto(url)
        yield name, url
