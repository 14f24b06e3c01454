"""In Chromium, with axe-core (static/vendor/axe-*.min.js, injected by the test
only: the app never loads it): no page of any role has a serious or critical
accessibility violation (WCAG 2.x A and AA, and axe's best practices), and every
page has one <main>, the main navigation, and a skip link as its first stop
for the keyboard. The pages are those of the shared walk (tests/page_walk.py)."""

from pathlib import Path

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from msops.tenancy.models import Role
from msops.tenancy.services import membership_create, organization_create, user_create
from tests.page_walk import PASSWORD, open_pages, page_urls, sign_in

pytest_plugins = ["tests.browser_fixtures"]
pytestmark = pytest.mark.browser

AXE = max(Path(__file__).resolve().parent.parent.glob("static/vendor/axe-*.min.js"))
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
FAILING = {"serious", "critical"}
# Violations in templates that are being rebuilt elsewhere right now:
# {(route name, axe rule id): why}. Each is reported to the lead. lead: fix
KNOWN: dict[tuple[str, str], str] = {}
# On a phone, again with the rules that depend on the width (tables that
# scroll sideways, touch targets).
PHONE_RULES = ["scrollable-region-focusable", "target-size"]
# Each violation's rule, impact and the elements it found (their CSS selectors),
# two frames after the last change (a resize) so the page's scripts have caught up.
RUN_AXE = """async ([context, runOnly]) => {
  await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
  const result = await axe.run(context, {runOnly, resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(' ')).slice(0, 5),
  }));
}"""
# How many <main> and main navigations a page has, and its first focusable element.
STRUCTURE = """() => ({
  mains: document.querySelectorAll('main').length,
  navs: document.querySelectorAll('nav[aria-label="Main"]').length,
  first: (e => e && e.outerHTML.slice(0, 60))(document.querySelector(
    'a[href], button, input:not([type=hidden]), select, textarea, summary, '
    + '[tabindex]:not([tabindex="-1"])')),
})"""
SKIP_LINK = '<a class="skip-link" href="#content">Skip to the content</a>'


@pytest.fixture
def page(page):
    """The browser page, with axe in every document it loads (an init script, which the
    app's CSP does not apply to, unlike a script tag added to the page)."""
    page.add_init_script(path=AXE)
    return page


def _violations(page, context: str | dict = "html", rules: list[str] | None = None) -> list[dict]:
    """axe's violations on the page shown (within ``context``; only ``rules``
    if given, else every rule of TAGS)."""
    run_only = {"type": "rule", "values": rules} if rules else {"type": "tag", "values": TAGS}
    return page.evaluate(RUN_AXE, [context, run_only])


@pytest.mark.parametrize("role", list(Role))
def test_no_page_of_a_role_has_a_serious_accessibility_violation(
    http_live_server, practice, page, role
):
    sign_in(page, practice.people[role].user.username)
    found, structure, seen = [], [], 0
    for name, url in open_pages(page, page_urls(practice)):
        seen += 1
        shape = page.evaluate(STRUCTURE)
        if shape != {"mains": 1, "navs": 1, "first": SKIP_LINK}:
            structure.append(f"{url}: {shape}")
        page.set_viewport_size({"width": 1366, "height": 900})
        violations = _violations(page)
        page.set_viewport_size({"width": 390, "height": 844})
        violations += [
            {**v, "help": f"{v['help']}, at 390 px"} for v in _violations(page, rules=PHONE_RULES)
        ]
        found += [
            f"{name} {url}: {v['id']} ({v['impact']}: {v['help']}) at {v['targets']}"
            for v in violations
            if v["impact"] in FAILING and (name, v["id"]) not in KNOWN
        ]
    assert seen >= 10, f"only {seen} pages answered {role}"
    assert not structure, f"{role}: {structure}"
    assert not found, f"{role}:\n" + "\n".join(found)


@pytest.fixture
def admin(transactional_db):
    organization = organization_create(
        name="Fabrikam", slug="fabrikam", timezone="Europe/Amsterdam"
    )
    user = user_create(username="menu-admin", password=PASSWORD)
    with scopes_disabled():
        return membership_create(organization=organization, user=user, role=Role.ADMIN)


def test_the_main_menu_on_a_phone_has_no_accessibility_violation_folded_or_open(
    http_live_server, admin, page
):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, admin.user.username)
    page.goto(reverse("tenancy:organization_home", kwargs={"org": admin.organization.slug}))
    header = {"include": [["body > header"]]}
    closed = _violations(page, header)
    page.get_by_role("button", name="Menu").click()
    opened = _violations(page, header)
    assert not closed and not opened, f"closed: {closed}; open: {opened}"


def test_the_sign_in_page_the_organization_list_and_an_error_page_have_no_serious_violation(
    http_live_server, admin, page
):
    page.set_viewport_size({"width": 1366, "height": 900})
    pages = [reverse("login"), reverse("home"), f"/o/{admin.organization.slug}/no-such-page/"]
    found = {}
    for url in pages:
        if url == reverse("home"):
            sign_in(page, admin.user.username)
        page.goto(url)
        assert page.evaluate(STRUCTURE) == {"mains": 1, "navs": 1, "first": SKIP_LINK}, url
        found[url] = [v for v in _violations(page) if v["impact"] in FAILING]
    assert not any(found.values()), found
