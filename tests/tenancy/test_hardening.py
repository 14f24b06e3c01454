"""Sign-in throttling (django-axes), the Content-Security-Policy and the other
browser headers, and the API's 429s."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.db.models import F
from django.http import HttpRequest
from django.urls import reverse
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
LOGIN = "/accounts/login/"
HOME = "10.0.0.7"
ELSEWHERE = "10.0.0.8"


def sign_in(client, username: str, password: str, *, address: str = HOME, **extra):
    return client.post(
        LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address, **extra
    )


def fail(client, username: str, times: int, *, address: str = HOME, **extra) -> None:
    for _ in range(times):
        response = sign_in(client, username, "not-the-password", address=address, **extra)
        assert response.status_code in (200, 429)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


# --- sign-in throttling --------------------------------------------------------------
def test_five_wrong_passwords_lock_that_username_at_that_address(client, developer):
    username = developer.user.username
    fail(client, username, 4)
    assert sign_in(client, username, "still-wrong").status_code == 429  # the fifth locks

    response = sign_in(client, username, PASSWORD)

    assert response.status_code == 429
    assert not signed_in(client)
    page = response.content.decode()
    assert 'data-testid="locked-out"' in page and "15 minutes" in page
    assert 'name="password"' in page  # the sign-in page itself, not a bare error
    assert f'value="{username}"' in page


def test_four_wrong_passwords_do_not_lock(client, developer):
    fail(client, developer.user.username, 4)
    assert sign_in(client, developer.user.username, PASSWORD).status_code == 302
    assert signed_in(client)


def test_a_lockout_does_not_stop_the_same_person_from_another_address(client, developer):
    fail(client, developer.user.username, 5)
    response = sign_in(client, developer.user.username, PASSWORD, address=ELSEWHERE)
    assert response.status_code == 302 and signed_in(client)


def test_a_lockout_does_not_stop_another_username_from_the_same_address(client, developer, finance):
    fail(client, developer.user.username, 5)
    assert sign_in(client, finance.user.username, PASSWORD).status_code == 302


def test_a_successful_sign_in_clears_the_count(client, developer):
    username = developer.user.username
    fail(client, username, 4)
    assert sign_in(client, username, PASSWORD).status_code == 302
    client.logout()
    fail(client, username, 4)
    assert sign_in(client, username, PASSWORD).status_code == 302


def test_the_lock_lifts_after_fifteen_minutes(client, developer):
    username = developer.user.username
    fail(client, username, 5)
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=14))
    assert sign_in(client, username, PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=2))
    assert sign_in(client, username, PASSWORD).status_code == 302


def test_behind_a_proxy_the_lock_follows_the_address_the_proxy_saw(client, developer, settings):
    settings.TRUSTED_PROXY_HOPS = 1
    username = developer.user.username
    # The client's own claims (left of the proxy's entry) change nothing.
    for claim in ("1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4", "5.5.5.5"):
        sign_in(client, username, "wrong", HTTP_X_FORWARDED_FOR=f"{claim}, 198.51.100.7")

    locked = sign_in(client, username, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7")
    other_client = sign_in(client, username, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.8")

    assert locked.status_code == 429
    assert other_client.status_code == 302  # the same proxy, another client: not locked


def test_the_admin_sign_in_is_throttled_too(client, developer):
    developer.user.is_staff = True
    developer.user.save()
    url = reverse("admin:login")
    for _ in range(5):
        client.post(url, {"username": developer.user.username, "password": "x"}, REMOTE_ADDR=HOME)
    response = client.post(
        url, {"username": developer.user.username, "password": PASSWORD}, REMOTE_ADDR=HOME
    )
    assert response.status_code == 429 and not signed_in(client)


def test_the_test_client_signs_in_with_a_request_and_force_login_needs_none(client, developer):
    # axes counts per address, so authenticate() needs the request (as the
    # login page, the admin and DRF give it); tests pass one, or force_login.
    assert client.login(request=HttpRequest(), username=developer.user.username, password=PASSWORD)
    client.logout()
    client.force_login(developer.user)
    assert signed_in(client)


def test_the_api_is_untouched_by_a_sign_in_lockout(client, api, developer):
    fail(client, developer.user.username, 6)
    assert api(developer).get("/api/v1/organization/", REMOTE_ADDR=HOME).status_code == 200


def test_wrong_api_tokens_are_not_counted_as_sign_in_failures(db, client):
    for _ in range(8):
        client.get("/api/v1/organization/", HTTP_AUTHORIZATION="Bearer msops_nope_x")
    assert not AccessAttempt.objects.exists()


# --- browser headers -----------------------------------------------------------------
def _directives(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";") if part.strip())


EXPECTED_CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


@pytest.mark.parametrize("signed_in_as_developer", [False, True])
def test_pages_carry_a_csp_without_inline_script_and_the_other_browser_headers(
    client, developer, org, signed_in_as_developer
):
    url = LOGIN
    if signed_in_as_developer:
        client.force_login(developer.user)
        url = reverse("tickets:ticket_list", kwargs={"org": org.slug})
    response = client.get(url)
    assert response.status_code == 200
    assert _directives(response) == EXPECTED_CSP
    assert response["Referrer-Policy"] == "same-origin"
    policy = response["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment"):
        assert f"{feature}=()" in policy


def test_api_answers_carry_the_headers_too(db, client):
    response = client.get("/api/v1/organization/")
    assert response.status_code == 401
    assert "Content-Security-Policy" in response
    assert response["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]


def test_the_api_docs_start_swagger_with_a_nonce_and_no_other_inline_code(db, client):
    response = client.get(reverse("api_docs"))
    assert response.status_code == 200
    script_src = _directives(response)["script-src"]
    nonce = re.fullmatch(r"'self' 'nonce-([^']+)'", script_src)
    assert nonce, script_src
    body = response.content.decode()
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", body)
    assert inline == [f' nonce="{nonce[1]}"']
    assert "<style" not in body


def test_the_htmx_indicator_style_is_not_injected(client, developer):
    client.force_login(developer.user)
    page = client.get(reverse("home"), follow=True).content.decode()
    assert '"includeIndicatorStyles": false' in page


TEMPLATE_DIRS = [ROOT / "templates", *ROOT.glob("*/templates")]
INLINE_CODE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an inline event handler"),
    (re.compile(r"\shx-on[:-]", re.I), "hx-on (evaluated code)"),
    (re.compile(r"\sstyle\s*=", re.I), "an inline style attribute"),
    (re.compile(r"<style", re.I), "an inline <style>"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
    (re.compile(r"""hx-(?:vals|vars)\s*=\s*['"]\s*js:""", re.I), "evaluated hx-vals"),
    (re.compile(r"""hx-trigger\s*=\s*["'][^"']*\[""", re.I), "an hx-trigger filter (eval)"),
]
NONCED = {"templates/drf_spectacular/swagger_ui.html"}  # Swagger UI's start-up, with a nonce


def test_no_template_carries_code_or_style_the_csp_would_block():
    offenders = []
    for directory in TEMPLATE_DIRS:
        for path in directory.rglob("*.html"):
            rel = path.relative_to(ROOT).as_posix()
            text = path.read_text()
            for pattern, what in INLINE_CODE:
                if rel in NONCED and what == "an inline <script>":
                    text_without_nonced = re.sub(r"<script nonce=[^>]*>", "", text)
                    if pattern.search(text_without_nonced):
                        offenders.append(f"{rel}: {what}")
                elif pattern.search(text):
                    offenders.append(f"{rel}: {what}")
    assert not offenders, offenders


# --- the API's 429 ---------------------------------------------------------------------
@pytest.fixture
def tiny_throttle(monkeypatch):
    cache.clear()
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "2/minute", "anon": None})
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"user": None, "anon": "2/minute"})
    yield
    cache.clear()


def test_a_throttled_api_answer_says_when_to_retry(api, developer, tiny_throttle):
    client = api(developer)  # its first request (of the two a minute) is behind it
    status = client.get("/api/v1/organization/").status_code
    response = client.get("/api/v1/organization/")
    assert status == 200 and response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
