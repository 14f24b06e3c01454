"""The audit log of sessions and API tokens, and who may read it."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from django.urls import reverse
from django_scopes import scopes_disabled

from msops.tenancy.audit import auth_event_list, auth_event_record, client_ip_address
from msops.tenancy.models import ApiToken, AuthEvent, Role
from msops.tenancy.services import api_token_revoke
from tests.factories import PASSWORD, MembershipFactory, token_for

Kind = AuthEvent.Kind
LOGIN = "/accounts/login/"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) msops-test"


def events(**filters) -> list[AuthEvent]:
    with scopes_disabled():
        return list(AuthEvent.objects.filter(**filters).order_by("at", "pk"))


def kinds(**filters) -> list[str]:
    return [event.kind for event in events(**filters)]


def sign_in(client, username, password, address="203.0.113.5"):
    return client.post(
        LOGIN,
        {"username": username, "password": password},
        REMOTE_ADDR=address,
        HTTP_USER_AGENT=BROWSER,
    )


# --- what is recorded ----------------------------------------------------------------
def test_signing_in_and_out_is_recorded_with_the_address_and_browser(client, developer):
    assert sign_in(client, developer.user.username, PASSWORD).status_code == 302
    client.post(reverse("logout"), REMOTE_ADDR="203.0.113.5", HTTP_USER_AGENT=BROWSER)

    signed_in, signed_out = events(user=developer.user)
    assert (signed_in.kind, signed_out.kind) == (Kind.SIGNED_IN, Kind.SIGNED_OUT)
    for event in (signed_in, signed_out):
        assert event.organization is None  # a sign-in belongs to no organization
        assert event.username == developer.user.username
        assert event.ip_address == "203.0.113.5"
        assert event.user_agent == BROWSER


def test_a_wrong_password_is_recorded_against_the_account_tried(client, developer):
    sign_in(client, developer.user.username, "wrong")
    (event,) = events(kind=Kind.SIGN_IN_FAILED)
    assert event.user == developer.user and event.ip_address == "203.0.113.5"
    assert "wrong" not in str(event.detail)


def test_a_failed_sign_in_for_an_unknown_name_keeps_the_name_typed(client, db):
    sign_in(client, "nobody-here", "wrong")
    (event,) = events(kind=Kind.SIGN_IN_FAILED)
    assert event.user is None and event.username == "nobody-here"


def test_a_lockout_is_recorded_once_for_each_refused_try(client, developer):
    for _ in range(5):
        sign_in(client, developer.user.username, "wrong")
    sign_in(client, developer.user.username, PASSWORD)  # refused: locked

    assert kinds(user=developer.user) == [Kind.SIGN_IN_FAILED] * 4 + [Kind.LOCKED_OUT] * 2
    lockout = events(kind=Kind.LOCKED_OUT)[0]
    assert lockout.detail == {"failure_limit": 5, "cool_off_minutes": 15}
    assert lockout.ip_address == "203.0.113.5"


def test_the_recorded_address_is_the_one_the_trusted_proxy_saw(rf, settings):
    settings.TRUSTED_PROXY_HOPS = 1
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7")
    assert client_ip_address(request) == "198.51.100.7"
    settings.TRUSTED_PROXY_HOPS = 0
    assert client_ip_address(request) == "10.0.0.2"


def test_a_long_user_agent_is_cut_and_an_anonymous_user_is_no_user(db):
    request = RequestFactory().get("/", HTTP_USER_AGENT="x" * 1000)
    event = auth_event_record(kind=Kind.SIGNED_OUT, request=request, user=AnonymousUser())
    assert len(event.user_agent) == 255 and event.user is None


def test_an_unknown_kind_is_refused(db):
    with pytest.raises(ValueError):
        auth_event_record(kind="teleported")


def test_creating_and_revoking_a_token_is_recorded_in_its_organization(login, developer, org):
    client = login(developer)
    client.post(
        reverse("tenancy:api_token_list", kwargs={"org": org.slug}),
        {"name": "Timer app"},
        REMOTE_ADDR="198.51.100.20",
    )
    with scopes_disabled():
        token = ApiToken.objects.get(name="Timer app")
    revoke = reverse("tenancy:api_token_revoke", kwargs={"org": org.slug, "pk": token.pk})
    client.post(revoke, REMOTE_ADDR="198.51.100.20")
    client.post(revoke, REMOTE_ADDR="198.51.100.20")  # already revoked: nothing new

    created, revoked = events(organization=org)
    assert (created.kind, revoked.kind) == (Kind.TOKEN_CREATED, Kind.TOKEN_REVOKED)
    for event in (created, revoked):
        assert event.user == developer.user
        assert event.ip_address == "198.51.100.20"
        assert event.detail == {"token": "Timer app", "prefix": token.prefix}


def test_a_token_used_for_the_first_time_is_recorded_once(api, developer, org):
    client = api(developer)
    for _ in range(3):
        assert client.get("/api/v1/organization/").status_code == 200
    assert kinds(organization=org) == [Kind.TOKEN_CREATED, Kind.TOKEN_FIRST_USED]


def test_a_revoked_token_is_not_recorded_as_used(developer, org):
    with scopes_disabled():
        raw = token_for(developer)
        api_token_revoke(token=ApiToken.objects.get(membership=developer))
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/organization/").status_code == 401
    assert Kind.TOKEN_FIRST_USED not in kinds(organization=org)


# --- who reads it ----------------------------------------------------------------------
@pytest.fixture
def history(client, org, other_org, developer, admin_member, stranger):
    """Sign-ins and tokens in both organizations; one person in both."""
    both = MembershipFactory(organization=org, role=Role.DEVELOPER, user__username="both")
    MembershipFactory(organization=other_org, user=both.user, role=Role.DEVELOPER)
    for membership in (developer, stranger, both):
        sign_in(client, membership.user.username, PASSWORD)
        client.logout()
    sign_in(client, stranger.user.username, "wrong")
    token_for(developer, name="ours")
    token_for(stranger, name="theirs")
    return {"both": both}


def test_admins_read_their_members_sign_ins_and_their_tokens_only(
    login, admin_member, org, developer, stranger, history
):
    response = login(admin_member).get(reverse("tenancy:auth_event_list", kwargs={"org": org.slug}))
    assert response.status_code == 200
    page = response.content.decode()
    assert developer.user.username in page and "both" in page
    assert "“ours”" in page
    assert stranger.user.username not in page and "theirs" not in page


def test_the_selector_gives_the_organizations_events_newest_first(org, other_org, history):
    with scopes_disabled():
        ours = list(auth_event_list(organization=org))
        theirs = list(auth_event_list(organization=other_org))
    assert [e.at for e in ours] == sorted((e.at for e in ours), reverse=True)
    both = history["both"].user
    assert any(e.user == both for e in ours) and any(e.user == both for e in theirs)
    assert all(e.organization in (None, org) for e in ours)
    assert {e.detail.get("token") for e in theirs} == {None, "theirs"}


@pytest.mark.parametrize("role", [Role.DEVELOPER, Role.ACCOUNT_MANAGER, Role.FINANCE])
def test_only_admins_may_read_the_audit_log(login, api, members, org, role):
    page = login(members[role]).get(reverse("tenancy:auth_event_list", kwargs={"org": org.slug}))
    assert page.status_code == 403
    assert api(members[role]).get("/api/v1/auth-events/").status_code == 403


def test_the_api_lists_the_organizations_events_for_admins(api, admin_member, stranger, history):
    response = api(admin_member).get("/api/v1/auth-events/")
    assert response.status_code == 200
    rows = response.json()["results"]
    usernames = {row["username"] for row in rows}
    assert stranger.user.username not in usernames and "both" in usernames
    assert rows == sorted(rows, key=lambda row: row["at"], reverse=True)
    tokens = {row["detail"].get("token") for row in rows}
    assert "ours" in tokens and "theirs" not in tokens


def test_the_api_filters_by_kind(api, admin_member, history):
    rows = api(admin_member).get("/api/v1/auth-events/?kind=signed_in").json()["results"]
    assert rows and {row["kind"] for row in rows} == {"signed_in"}


@pytest.mark.parametrize("count", [2, 50])
def test_reading_the_log_costs_the_same_at_2_and_50_rows(
    login, api, admin_member, org, count, django_assert_max_num_queries
):
    for _ in range(count):
        token_for(admin_member)
    client = login(admin_member)
    api_client = api(admin_member)
    with django_assert_max_num_queries(14):
        page = client.get(reverse("tenancy:auth_event_list", kwargs={"org": org.slug}))
        assert page.status_code == 200
    with django_assert_max_num_queries(9):
        assert api_client.get("/api/v1/auth-events/").status_code == 200


def test_the_log_cannot_be_changed_in_the_django_admin(admin_client, developer):
    token_for(developer)
    with scopes_disabled():
        event = AuthEvent.objects.first()
    assert admin_client.get(reverse("admin:tenancy_authevent_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:tenancy_authevent_add")).status_code == 403
    change = admin_client.post(
        reverse("admin:tenancy_authevent_change", args=[event.pk]), {"username": "someone"}
    )
    assert change.status_code == 403
    delete = admin_client.post(reverse("admin:tenancy_authevent_delete", args=[event.pk]))
    assert delete.status_code == 403
    with scopes_disabled():
        event.refresh_from_db()
    assert event.username == developer.user.username
