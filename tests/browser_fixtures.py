"""Playwright fixtures: Debian's Chromium, headless.

Load with ``pytest_plugins = ["tests.browser_fixtures"]`` in a browser test
module and ask for ``http_live_server`` and ``transactional_db`` before
``page``::

    def test_it_logs_in(http_live_server, transactional_db, page): ...

Playwright's sync API runs an event loop in the test thread, so Django's ORM
needs DJANGO_ALLOW_ASYNC_UNSAFE there. It is set for exactly as long as the
browser (one module) lives, so it leaks neither into unrelated tests nor into
the environment of processes they start (``check --deploy`` refuses it).
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.test import override_settings

CHROMIUM = Path(os.environ.get("MSOPS_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install chromium (see .ci/run)"
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def http_live_server(request):
    """pytest-django's ``live_server``, answering plain http.

    Tests run production-like (DEBUG=0), where SECURE_SSL_REDIRECT is on.
    SecurityMiddleware reads it once, when the live server builds its handler,
    so it is off while the server starts; the rest of the session is untouched.
    """
    with override_settings(SECURE_SSL_REDIRECT=False):
        server = request.getfixturevalue("live_server")
    # Anonymous "/" sends to the login page; with the redirect on, to https.
    response = requests.get(f"{server.url}/", allow_redirects=False, timeout=10)
    assert response.headers.get("Location", "").startswith("/accounts/login/"), (
        f"the live server answers {response.status_code} "
        f"{response.headers.get('Location', '')} over http: it was started before "
        "http_live_server with SECURE_SSL_REDIRECT on (turn it off for the test run)"
    )
    return server


@pytest.fixture
def page(browser, http_live_server, settings) -> Iterator:
    """A fresh browser context (no cookies) and page. Cookies are not marked
    Secure for the duration of the test (the live server speaks http), and the
    live server's host is allowed whatever ALLOWED_HOSTS the run was given."""
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, http_live_server.thread.host]
    context = browser.new_context(base_url=http_live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def violations(page) -> list[str]:
    """Every console message or page error that mentions the CSP (a test
    asserts the list stays empty)."""
    found: list[str] = []
    page.on(
        "console",
        lambda message: (
            found.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.on("pageerror", lambda error: found.append(str(error)))
    return found


@pytest.fixture
def practice(transactional_db):
    """The world of the page walk (tests/page_walk.py): one organization with a
    row of every tenant model and a member of each role."""
    from tests.page_walk import practice_build

    return practice_build()
