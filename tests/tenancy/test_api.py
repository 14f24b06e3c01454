from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled
from rest_framework.test import APIClient

from msops.tenancy.api.permissions import HasOrganizationRole
from msops.tenancy.models import ApiToken, Role
from msops.tenancy.roles import ADMINS
from msops.tenancy.services import api_token_create


def test_the_organization_comes_from_the_token(api, developer, org, stranger, other_org):
    assert api(developer).get("/api/v1/organization/").json()["slug"] == org.slug
    assert api(stranger).get("/api/v1/organization/").json()["slug"] == other_org.slug


def test_no_token_is_a_401(db):
    response = APIClient().get("/api/v1/organization/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_wrong_token_is_a_401(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer msops_nothing_here")
    assert client.get("/api/v1/memberships/").status_code == 401


def test_an_expired_token_is_a_401(developer):
    with scopes_disabled():
        issued = api_token_create(membership=developer, name="soon")
        ApiToken.objects.filter(pk=issued.token.pk).update(
            expires_at=timezone.now() - timedelta(minutes=1)
        )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")
    assert client.get("/api/v1/organization/").status_code == 401


def test_memberships_list_only_my_organization(api, developer, account_manager, stranger):
    rows = api(developer).get("/api/v1/memberships/").json()["results"]
    usernames = {row["username"] for row in rows}
    assert developer.user.username in usernames
    assert account_manager.user.username in usernames
    assert stranger.user.username not in usernames


def test_memberships_filter_by_role(api, members):
    rows = api(members[Role.FINANCE]).get("/api/v1/memberships/?role=finance").json()["results"]
    assert [row["role"] for row in rows] == ["finance"]


def test_a_foreign_membership_is_a_404(api, developer, stranger):
    assert api(developer).get(f"/api/v1/memberships/{stranger.pk}/").status_code == 404


def test_a_bad_filter_value_is_a_400_with_the_field(api, developer):
    response = api(developer).get("/api/v1/memberships/?role=pope")
    assert response.status_code == 400
    assert "role" in response.json()["fields"]


@pytest.mark.parametrize("role,allowed", [(Role.DEVELOPER, False), (Role.ADMIN, True)])
def test_the_role_permission_answers_403_for_a_role_that_may_not_act(rf, members, role, allowed):
    from rest_framework.request import Request

    class View:
        action = "approve"
        action_roles = {"approve": ADMINS}

    request = rf.post("/api/v1/x/")
    request.membership = members[role]
    drf_request = Request(request)
    drf_request._authenticator = None
    drf_request._user, drf_request._auth = members[role].user, object()
    assert HasOrganizationRole().has_permission(drf_request, View()) is allowed


def test_the_schema_is_served_and_the_docs_need_no_cdn(client, db):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    docs = client.get("/api/docs/").content.decode()
    assert "cdn" not in docs.lower() and "jsdelivr" not in docs.lower()


def test_the_schema_validates_without_warnings(db):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_the_organization_shows_its_default_hourly_rate_as_a_decimal_string(api, developer):
    body = api(developer).get("/api/v1/organization/").json()
    assert body["default_hourly_rate"] == "150.00"
