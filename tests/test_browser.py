"""Browser journeys in Chromium: what people do by hand."""

import pytest
import requests
from playwright.sync_api import expect

from msops.tenancy.models import ApiToken, Role
from msops.tenancy.scoping import activate_organization
from msops.tenancy.services import membership_create, organization_create, user_create

# The browser fixture sets DJANGO_ALLOW_ASYNC_UNSAFE while Playwright's event
# loop runs in this thread (the ORM is still used here and by the live server).
pytest_plugins = ["tests.browser_fixtures"]
pytestmark = pytest.mark.browser

PASSWORD = "a-long-browser-test-password"


@pytest.fixture
def practice(transactional_db):
    """A developer of one practice; a second practice they do not belong to."""
    organization = organization_create(
        name="Fabrikam Managed IT", slug="fabrikam", timezone="Europe/Amsterdam", currency="EUR"
    )
    stranger = organization_create(name="Stranger Practice", slug="stranger")
    user = user_create(username="dana", password=PASSWORD, email="dana@example.com")
    with activate_organization(organization):
        membership = membership_create(organization=organization, user=user, role=Role.DEVELOPER)
    return {"organization": organization, "stranger": stranger, "membership": membership}


def log_in(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_a_developer_logs_in_and_creates_an_api_token_in_place(http_live_server, practice, page):
    organization = practice["organization"]

    log_in(page, "dana", PASSWORD)

    # One membership: the landing page goes straight to the organization.
    page.wait_for_url(f"**/o/{organization.slug}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(organization.name)
    expect(page.get_by_text("Stranger Practice")).to_have_count(0)

    page.get_by_role("link", name="API tokens").click()
    page.wait_for_url(f"**/o/{organization.slug}/tokens/")
    expect(page.get_by_text("No tokens yet.")).to_be_visible()

    # Count top-level navigations from here on: an htmx swap makes none.
    navigations = []
    page.on(
        "framenavigated",
        lambda frame: navigations.append(frame.url) if frame == page.main_frame else None,
    )
    page.evaluate("window.__sameDocument = true")

    page.get_by_label("Name").fill("Timer app")
    page.get_by_role("button", name="Create token").click()

    issued = page.get_by_test_id("issued-token")
    expect(issued).to_be_visible()
    raw = page.locator(".token-once").inner_text().strip()
    assert raw.startswith("msops_")
    expect(page.get_by_role("cell", name="Timer app")).to_be_visible()
    expect(page.get_by_text("No tokens yet.")).to_have_count(0)
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"
    assert navigations == []

    # The token is real: stored for this membership, and it opens the API.
    with activate_organization(organization):
        token = ApiToken.objects.get(organization=organization, name="Timer app")
    assert token.membership_id == practice["membership"].pk
    assert raw.split("_")[1] == token.prefix
    response = requests.get(
        f"{http_live_server.url}/api/v1/organization/",
        headers={"Authorization": f"Bearer {raw}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.json()["slug"] == organization.slug
