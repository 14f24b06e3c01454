import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from msops.tenancy.models import ApiToken, Role
from tests.factories import MembershipFactory, OrganizationFactory


def test_it_sends_anonymous_visitors_to_login(client, org):
    response = client.get(reverse("tenancy:organization_home", kwargs={"org": org.slug}))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_anonymous_visitors_learn_nothing_about_which_slugs_exist(client, db):
    response = client.get("/o/no-such-practice/")
    assert response.status_code == 302


def test_it_answers_404_to_a_non_member(login, developer, other_org):
    client = login(developer)
    response = client.get(reverse("tenancy:organization_home", kwargs={"org": other_org.slug}))
    assert response.status_code == 404


def test_it_answers_404_for_an_unknown_slug_the_same_as_a_foreign_one(login, developer):
    assert login(developer).get("/o/nope/").status_code == 404


def test_it_shows_the_organization_home_to_a_member(login, developer, org):
    response = login(developer).get(reverse("tenancy:organization_home", kwargs={"org": org.slug}))
    assert response.status_code == 200
    assert org.name in response.content.decode()


def test_the_landing_page_lists_my_organizations_and_the_switcher(client, db):
    first = OrganizationFactory(name="First Practice", slug="first")
    second = OrganizationFactory(name="Second Practice", slug="second")
    hidden = OrganizationFactory(name="Hidden Practice", slug="hidden")
    membership = MembershipFactory(organization=first, role=Role.ADMIN)
    MembershipFactory(organization=second, user=membership.user, role=Role.DEVELOPER)
    client.force_login(membership.user)
    page = client.get(reverse("home")).content.decode()
    assert "First Practice" in page and "Second Practice" in page
    assert hidden.name not in page
    org_page = client.get(reverse("tenancy:organization_home", kwargs={"org": "second"}))
    assert 'data-testid="org-switcher"' in org_page.content.decode()
    assert "First Practice" in org_page.content.decode()


def test_a_single_membership_goes_straight_to_its_organization(login, developer, org):
    response = login(developer).get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("tenancy:organization_home", kwargs={"org": org.slug})


def test_creating_a_token_shows_it_once_and_stores_only_a_hash(login, developer, org):
    client = login(developer)
    url = reverse("tenancy:api_token_list", kwargs={"org": org.slug})
    response = client.post(url, {"name": "Timer app"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body  # the htmx answer is the partial only
    raw = body.split('class="token-once">')[1].split("<")[0].strip()
    assert raw.startswith("msops_")
    with scopes_disabled():
        token = ApiToken.objects.get(name="Timer app")
    assert raw not in token.token_hash and len(token.token_hash) == 64
    assert raw not in client.get(url).content.decode()


def test_a_token_form_without_a_name_is_an_error_and_saves_nothing(login, developer, org):
    response = login(developer).post(
        reverse("tenancy:api_token_list", kwargs={"org": org.slug}), {"name": ""}
    )
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    with scopes_disabled():
        assert not ApiToken.objects.exists()


def test_a_past_expiry_is_refused(login, developer, org):
    response = login(developer).post(
        reverse("tenancy:api_token_list", kwargs={"org": org.slug}),
        {"name": "old", "expires_on": "2001-01-01"},
    )
    assert "Choose a date after today." in response.content.decode()


@pytest.mark.parametrize("htmx", [False, True])
def test_revoking_a_token_stops_it_working(login, api, developer, org, htmx):
    client = api(developer)
    assert client.get("/api/v1/organization/").status_code == 200
    with scopes_disabled():
        token = ApiToken.objects.get(membership=developer)
    headers = {"HX-Request": "true"} if htmx else {}
    response = login(developer).post(
        reverse("tenancy:api_token_revoke", kwargs={"org": org.slug, "pk": token.pk}),
        headers=headers,
    )
    assert response.status_code == (200 if htmx else 302)
    assert client.get("/api/v1/organization/").status_code == 401


def test_a_member_cannot_revoke_a_colleagues_token(login, api, developer, account_manager, org):
    api(account_manager)
    with scopes_disabled():
        token = ApiToken.objects.get(membership=account_manager)
    response = login(developer).post(
        reverse("tenancy:api_token_revoke", kwargs={"org": org.slug, "pk": token.pk})
    )
    assert response.status_code == 404
    with scopes_disabled():
        token.refresh_from_db()
    assert token.revoked_at is None
