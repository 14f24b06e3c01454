"""Team management: admins invite people by email (a signed link that works
once), change roles, deactivate and reactivate members; the organization
always keeps an active admin; a deactivated member is a stranger at once, in
pages and in the API; only admins see or act; nothing crosses organizations."""

import re
import time

import pytest
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled
from rest_framework.test import APIClient

from msops.tenancy.models import ApiToken, AuthEvent, Invitation, Membership, Role
from msops.tenancy.scoping import activate_organization
from msops.tenancy.team import invitation_create, member_deactivate
from tests.factories import PASSWORD, MembershipFactory, UserFactory, token_for

Kind = AuthEvent.Kind
LINK = re.compile(r"http://testserver/invitations/[^/\s]+/")
NEW_PASSWORD = "a sturdy new passphrase 42"
HTMX = {"HX-Request": "true"}


def team_url(org) -> str:
    return reverse("tenancy:team", kwargs={"org": org.slug})


def member_url(name: str, member) -> str:
    return reverse(
        f"tenancy:team_member_{name}", kwargs={"org": member.organization.slug, "pk": member.pk}
    )


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def reload(obj):
    with scopes_disabled():
        return type(obj).objects.get(pk=obj.pk)


def invite(client, org, email="new.person@example.com", role=Role.FINANCE, capture=None, **extra):
    data = {"email": email, "name": "New Person", "role": role, **extra}
    if capture is None:
        return client.post(team_url(org), data)
    with capture(execute=True):
        return client.post(team_url(org), data)


def sent_link(mailoutbox, index: int = -1) -> str:
    return LINK.search(mailoutbox[index].body).group(0)


def events(**filters) -> list[AuthEvent]:
    with scopes_disabled():
        return list(AuthEvent.objects.filter(**filters).order_by("at", "pk"))


@pytest.fixture
def admin_client(login, admin_member):
    return login(admin_member)


@pytest.fixture
def pending(org, admin_member):
    """A pending invitation and its link, made through the service."""
    links = []
    with activate_organization(org):
        invitation = invitation_create(
            organization=org,
            email="pat@example.com",
            name="Pat Doe",
            role=Role.DEVELOPER,
            invited_by=admin_member,
            link_url=lambda token: links.append(f"/invitations/{token}/") or links[-1],
        )
    return invitation, links[-1]


# --- invite, email, accept, sign in ------------------------------------------------------
def test_an_invitation_is_emailed_and_accepting_it_makes_a_member_who_can_sign_in(
    admin_client, org, mailoutbox, django_capture_on_commit_callbacks
):
    response = invite(admin_client, org, capture=django_capture_on_commit_callbacks)
    assert response.status_code == 302
    (mail,) = mailoutbox
    assert mail.to == ["new.person@example.com"]
    assert org.name in mail.subject and "finance" in mail.body
    link = sent_link(mailoutbox)

    newcomer = Client()
    page = newcomer.get(link)
    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store"
    assert 'value="new.person"' in page.content.decode()  # the username, from the email
    answer = newcomer.post(
        link, {"username": "newperson", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert answer.status_code == 302
    assert answer["Location"] == reverse("tenancy:organization_home", kwargs={"org": org.slug})
    home = newcomer.get(answer["Location"])
    assert home.status_code == 200 and org.name in home.content.decode()

    user = get_user_model().objects.get(username="newperson")
    assert user.email == "new.person@example.com" and user.get_full_name() == "New Person"
    with scopes_disabled():
        membership = Membership.objects.get(user=user, organization=org)
        invitation = Invitation.objects.get(email="new.person@example.com")
    assert membership.role == Role.FINANCE
    assert invitation.status == Invitation.Status.ACCEPTED
    assert invitation.accepted_membership == membership

    # The new person signs in later with the password they chose.
    again = Client()
    signed_in = again.post(reverse("login"), {"username": "newperson", "password": NEW_PASSWORD})
    assert signed_in.status_code == 302
    assert (
        again.get(reverse("tenancy:organization_home", kwargs={"org": org.slug})).status_code == 200
    )
    assert {Kind.INVITATION_SENT, Kind.INVITATION_ACCEPTED} <= {
        e.kind for e in events(organization=org)
    }


def test_a_weak_or_mismatched_password_is_refused_with_the_validators_messages(pending):
    invitation, link = pending
    client = Client()
    weak = client.post(link, {"username": "pat", "password1": "12345678", "password2": "12345678"})
    assert weak.status_code == 400
    body = weak.content.decode()
    assert "too common" in body and "entirely numeric" in body
    mismatch = client.post(
        link, {"username": "pat", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD + "x"}
    )
    assert mismatch.status_code == 400 and "didn’t match" in mismatch.content.decode()
    assert not get_user_model().objects.filter(username="pat").exists()
    assert reload(invitation).status == Invitation.Status.PENDING


def test_a_taken_username_is_a_form_error(pending, developer):
    _, link = pending
    answer = Client().post(
        link,
        {
            "username": developer.user.username.upper(),
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )
    assert answer.status_code == 400
    assert "already exists" in answer.content.decode()


# --- links that no longer work -------------------------------------------------------------
def accept(link: str):
    return Client().post(
        link, {"username": "someone", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )


def test_a_used_link_is_gone_and_says_so(pending):
    _, link = pending
    assert accept(link).status_code == 302
    for answer in (Client().get(link), accept(link)):
        assert answer.status_code == 410
        assert "already accepted" in answer.content.decode()
    with scopes_disabled():
        assert Membership.objects.filter(user__username="someone").count() == 1


def test_an_expired_invitation_is_gone_and_says_to_ask_for_a_new_one(pending):
    invitation, link = pending
    with scopes_disabled():
        Invitation.objects.filter(pk=invitation.pk).update(expires_at="2020-01-01T00:00Z")
    answer = Client().get(link)
    assert answer.status_code == 410
    body = answer.content.decode()
    assert "expired" in body and "new invitation" in body
    assert accept(link).status_code == 410
    assert not get_user_model().objects.filter(username="someone").exists()


def test_a_link_signed_more_than_seven_days_ago_is_expired(org, admin_member, monkeypatch):
    eight_days_ago = int(time.time()) - 8 * 86400
    monkeypatch.setattr(
        signing.TimestampSigner, "timestamp", lambda self: signing.b62_encode(eight_days_ago)
    )
    links = []
    with activate_organization(org):
        invitation_create(
            organization=org, email="late@example.com", role=Role.DEVELOPER,
            invited_by=admin_member, link_url=lambda token: links.append(token) or token,
        )  # fmt: skip
    monkeypatch.undo()
    answer = Client().get(reverse("invitation_accept", kwargs={"token": links[0]}))
    assert answer.status_code == 410 and "expired" in answer.content.decode()


@pytest.mark.parametrize(
    "token",
    ["nonsense", "eyJvIjoxLCJpIjoxLCJuIjoieCJ9:1tXyZ:forged", "a" * 300, "%00%ff"],
)
def test_a_tampered_link_is_not_found_and_names_no_organization(db, org, token):
    answer = Client().get(f"/invitations/{token}/")
    assert answer.status_code == 404
    body = answer.content.decode()
    assert "not valid" in body and org.name not in body


def test_a_link_with_the_right_shape_but_forged_ids_is_not_found(pending, other_org):
    invitation, _ = pending
    forged = signing.dumps(
        {"o": other_org.pk, "i": invitation.pk, "n": invitation.nonce},
        salt="msops.tenancy.invitation.other",
        compress=True,
    )
    assert Client().get(f"/invitations/{forged}/").status_code == 404


def test_revoking_stops_the_link_and_resending_replaces_it(
    admin_client, pending, mailoutbox, django_capture_on_commit_callbacks
):
    invitation, old_link = pending
    with django_capture_on_commit_callbacks(execute=True):
        resent = admin_client.post(
            reverse(
                "tenancy:team_invitation_resend",
                kwargs={"org": invitation.organization.slug, "pk": invitation.pk},
            ),
            headers=HTMX,
        )
    assert resent.status_code == 200 and "sent again" in resent.content.decode()
    new_link = sent_link(mailoutbox)
    assert Client().get(old_link).status_code == 410  # replaced by the newer email
    assert Client().get(new_link).status_code == 200

    revoked = admin_client.post(
        reverse(
            "tenancy:team_invitation_revoke",
            kwargs={"org": invitation.organization.slug, "pk": invitation.pk},
        )
    )
    assert revoked.status_code == 302
    assert reload(invitation).status == Invitation.Status.REVOKED
    answer = Client().get(new_link)
    assert answer.status_code == 410 and "withdrawn" in answer.content.decode()
    assert Kind.INVITATION_REVOKED in {e.kind for e in events(organization=invitation.organization)}


def test_an_accepted_invitation_can_be_neither_resent_nor_revoked(admin_client, pending):
    invitation, link = pending
    assert accept(link).status_code == 302
    url = reverse(
        "tenancy:team_invitation_revoke",
        kwargs={"org": invitation.organization.slug, "pk": invitation.pk},
    )
    answer = admin_client.post(url)
    assert answer.status_code == 400 and "already accepted" in answer.content.decode()
    assert reload(invitation).status == Invitation.Status.ACCEPTED


# --- who may be invited --------------------------------------------------------------------
def test_inviting_an_active_member_or_a_pending_email_is_a_form_error(
    admin_client, org, developer, pending
):
    member = invite(admin_client, org, email=developer.user.email.upper())
    assert member.status_code == 400
    assert "already a member" in member.content.decode()
    again = invite(admin_client, org, email="pat@example.com")
    assert again.status_code == 400 and "pending invitation" in again.content.decode()
    with scopes_disabled():
        assert Invitation.objects.filter(organization=org).count() == 1


def test_the_htmx_invite_answers_the_panel_in_place(admin_client, org, mailoutbox):
    answer = admin_client.post(
        team_url(org), {"email": "not an email", "role": Role.DEVELOPER}, headers=HTMX
    )
    assert answer.status_code == 200
    body = answer.content.decode()
    assert "<html" not in body and 'id="invitation-panel"' in body and "errorlist" in body
    done = admin_client.post(
        team_url(org), {"email": "ok@example.com", "role": Role.DEVELOPER}, headers=HTMX
    )
    assert 'data-testid="invitation-done"' in done.content.decode()
    assert "ok@example.com" in done.content.decode()


# --- an email that already has an account ------------------------------------------------------
def test_an_existing_account_signs_in_first_and_then_joins(pending, other_org):
    invitation, link = pending
    elsewhere = MembershipFactory(
        organization=other_org, user__username="pat-elsewhere", user__email="PAT@example.com"
    )
    anonymous = Client().get(link)
    assert anonymous.status_code == 200
    body = anonymous.content.decode()
    assert 'data-testid="invitation-sign-in"' in body
    assert f"{reverse('login')}?next={link}" in body

    client = Client()
    client.post(reverse("login"), {"username": "pat-elsewhere", "password": PASSWORD})
    assert 'data-testid="join-form"' in client.get(link).content.decode()
    joined = client.post(link)
    assert joined.status_code == 302
    with scopes_disabled():
        membership = Membership.objects.get(
            organization=invitation.organization, user=elsewhere.user
        )
    assert membership.role == Role.DEVELOPER
    assert client.get(joined["Location"]).status_code == 200
    assert client.get(link).status_code == 410  # used


def test_a_different_signed_in_account_is_told_to_sign_out(pending, login, developer):
    invitation, link = pending
    client = login(developer)
    page = client.get(link)
    assert 'data-testid="invitation-wrong-account"' in page.content.decode()
    assert client.post(link).status_code == 200  # the same page: nothing happens
    with scopes_disabled():
        assert Membership.objects.filter(organization=invitation.organization).count() == 2
    assert reload(invitation).status == Invitation.Status.PENDING


# --- roles -------------------------------------------------------------------------------------
def test_an_admin_changes_a_role_in_place(admin_client, developer):
    answer = admin_client.post(
        member_url("role", developer), {"role": Role.ACCOUNT_MANAGER}, headers=HTMX
    )
    assert answer.status_code == 200
    body = answer.content.decode()
    assert body.lstrip().startswith("<tr") and 'data-testid="member-done"' in body
    assert reload(developer).role == Role.ACCOUNT_MANAGER
    (event,) = events(kind=Kind.ROLE_CHANGED)
    assert event.user == developer.user
    assert event.detail["role"] == Role.ACCOUNT_MANAGER
    assert event.detail["previous_role"] == Role.DEVELOPER


def test_the_last_active_admin_can_be_neither_demoted_nor_deactivated_on_the_page(
    admin_client, admin_member
):
    for name, data in (("role", {"role": Role.DEVELOPER}), ("deactivate", {})):
        in_place = admin_client.post(member_url(name, admin_member), data, headers=HTMX)
        assert in_place.status_code == 200
        assert "last active admin" in in_place.content.decode()
        page = admin_client.post(member_url(name, admin_member), data)
        assert page.status_code == 400 and "last active admin" in page.content.decode()
    admin_member = reload(admin_member)
    assert admin_member.role == Role.ADMIN and admin_member.deactivated_at is None
    assert admin_member.user.is_active


def test_a_deactivated_admin_does_not_count_as_the_one_left(admin_client, org, admin_member):
    second = MembershipFactory(organization=org, role=Role.ADMIN)
    assert admin_client.post(member_url("deactivate", second)).status_code == 302
    answer = admin_client.post(member_url("role", admin_member), {"role": Role.FINANCE})
    assert answer.status_code == 400
    assert reload(admin_member).role == Role.ADMIN


def test_an_admin_may_step_down_when_another_admin_remains(admin_client, org, admin_member):
    MembershipFactory(organization=org, role=Role.ADMIN)
    answer = admin_client.post(
        member_url("role", admin_member), {"role": Role.FINANCE}, headers=HTMX
    )
    assert answer.status_code == 204
    assert answer["HX-Redirect"] == reverse("tenancy:organization_home", kwargs={"org": org.slug})
    assert admin_client.get(team_url(org)).status_code == 403


# --- deactivation ------------------------------------------------------------------------------
def test_a_deactivated_member_is_refused_at_once_in_pages_and_the_api(
    admin_client, login, org, developer
):
    raw = token_for(developer)
    member_client = Client()
    member_client.force_login(developer.user)
    home = reverse("tenancy:organization_home", kwargs={"org": org.slug})
    assert member_client.get(home).status_code == 200
    assert bearer(raw).get("/api/v1/organization/").status_code == 200

    answer = admin_client.post(member_url("deactivate", developer), headers=HTMX)
    assert answer.status_code == 200 and "Deactivated" in answer.content.decode()

    # No active membership left: the account is off, so the session is signed out.
    refused = member_client.get(home)
    assert refused.status_code == 302 and refused["Location"].startswith(reverse("login"))
    api = bearer(raw).get("/api/v1/organization/")
    assert api.status_code == 401
    with scopes_disabled():
        assert not ApiToken.objects.filter(membership=developer, revoked_at__isnull=True).exists()
    assert not reload(developer).user.is_active
    assert Kind.MEMBER_DEACTIVATED in {e.kind for e in events(user=developer.user)}


def test_a_member_of_another_organization_keeps_their_account_and_that_organization(
    admin_client, org, other_org, developer
):
    MembershipFactory(organization=other_org, user=developer.user, role=Role.DEVELOPER)
    client = Client()
    client.force_login(developer.user)
    assert admin_client.post(member_url("deactivate", developer)).status_code == 302

    assert reload(developer).user.is_active
    assert (
        client.get(reverse("tenancy:organization_home", kwargs={"org": org.slug})).status_code
        == 404
    )
    assert (
        client.get(reverse("tenancy:organization_home", kwargs={"org": other_org.slug})).status_code
        == 200
    )


def test_reactivating_lets_them_back_in_but_old_tokens_stay_revoked(admin_client, org, developer):
    raw = token_for(developer)
    admin_client.post(member_url("deactivate", developer))
    assert admin_client.post(member_url("reactivate", developer)).status_code == 302
    developer = reload(developer)
    assert developer.deactivated_at is None and developer.user.is_active
    client = Client()
    client.force_login(developer.user)
    assert (
        client.get(reverse("tenancy:organization_home", kwargs={"org": org.slug})).status_code
        == 200
    )
    assert bearer(raw).get("/api/v1/organization/").status_code == 401
    assert bearer(token_for(developer)).get("/api/v1/organization/").status_code == 200
    assert Kind.MEMBER_REACTIVATED in {e.kind for e in events(user=developer.user)}


def test_a_token_of_a_deactivated_member_is_refused_even_if_not_revoked(org, developer):
    raw = token_for(developer)
    with scopes_disabled():
        Membership.objects.filter(pk=developer.pk).update(deactivated_at="2026-01-01T00:00Z")
    assert bearer(raw).get("/api/v1/organization/").status_code == 401


def test_an_admin_who_deactivates_themselves_leaves_for_the_landing_page(
    admin_client, org, admin_member
):
    MembershipFactory(organization=org, role=Role.ADMIN)
    answer = admin_client.post(member_url("deactivate", admin_member))
    assert answer.status_code == 302 and answer["Location"] == reverse("home")
    assert admin_client.get(team_url(org)).status_code in (302, 404)


# --- the page ---------------------------------------------------------------------------------
def test_the_team_page_lists_members_and_invitations_with_their_status(
    admin_client, org, developer, pending
):
    developer.user.first_name = "Dev"
    developer.user.save()
    with activate_organization(org):
        member_deactivate(membership=developer, by=developer)
    body = admin_client.get(team_url(org)).content.decode()
    for text in (developer.user.username, developer.user.email, "Dev", "Deactivated", "never"):
        assert text in body
    assert "pat@example.com" in body and 'data-status="pending"' in body
    assert f'href="{team_url(org)}"' in body  # the menu links it for admins


@pytest.mark.parametrize("role", [Role.DEVELOPER, Role.ACCOUNT_MANAGER, Role.FINANCE])
def test_only_admins_see_or_act(login, members, role, pending):
    invitation, _ = pending
    client = login(members[role])
    org = members[role].organization
    assert client.get(team_url(org)).status_code == 403
    assert invite(client, org).status_code == 403
    assert client.post(member_url("role", members[Role.ADMIN]), {"role": role}).status_code == 403
    assert client.post(member_url("deactivate", members[Role.ADMIN])).status_code == 403
    revoke = reverse(
        "tenancy:team_invitation_revoke", kwargs={"org": org.slug, "pk": invitation.pk}
    )
    assert client.post(revoke).status_code == 403
    assert (
        f'href="{team_url(org)}"'
        not in client.get(
            reverse("tenancy:organization_home", kwargs={"org": org.slug})
        ).content.decode()
    )
    assert reload(invitation).status == Invitation.Status.PENDING


def test_the_page_keeps_its_query_count_whatever_the_team_size(
    admin_client, org, admin_member, django_assert_max_num_queries
):
    def grow(to: int) -> None:
        with activate_organization(org):
            for n in range(to - Membership.objects.filter(organization=org).count()):
                member = MembershipFactory(organization=org)
                invitation_create(
                    organization=org, email=f"grow{member.pk}-{n}@example.com",
                    role=Role.DEVELOPER, invited_by=admin_member, link_url=str,
                )  # fmt: skip

    grow(2)
    admin_client.get(team_url(org))
    with django_assert_max_num_queries(12) as small:
        admin_client.get(team_url(org))
    grow(50)
    with django_assert_max_num_queries(len(small)):
        assert admin_client.get(team_url(org)).status_code == 200


# --- organizations apart ----------------------------------------------------------------------
def test_another_organizations_invitations_and_members_stay_out_of_sight(
    admin_client, api, admin_member, org, other_org, stranger
):
    with activate_organization(other_org):
        theirs = invitation_create(
            organization=other_org, email="secret@example.com", role=Role.ADMIN,
            invited_by=stranger, link_url=str,
        )  # fmt: skip
    assert "secret@example.com" not in admin_client.get(team_url(org)).content.decode()
    listed = api(admin_member).get("/api/v1/invitations/").json()["results"]
    assert theirs.pk not in {row["id"] for row in listed}
    assert api(admin_member).get(f"/api/v1/invitations/{theirs.pk}/").status_code == 404
    assert api(admin_member).post(f"/api/v1/invitations/{theirs.pk}/revoke/").status_code == 404
    assert (
        api(admin_member).post(f"/api/v1/memberships/{stranger.pk}/deactivate/").status_code == 404
    )
    foreign = admin_client.post(
        member_url("deactivate", stranger).replace(other_org.slug, org.slug)
    )
    assert foreign.status_code == 404
    assert reload(stranger).deactivated_at is None
    assert reload(theirs).status == Invitation.Status.PENDING


# --- the API -----------------------------------------------------------------------------------
def test_the_api_invites_lists_resends_and_revokes(
    api, admin_member, org, mailoutbox, django_capture_on_commit_callbacks
):
    client = api(admin_member)
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            "/api/v1/invitations/", {"email": "api@example.com", "role": Role.ACCOUNT_MANAGER}
        )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "pending" and body["invited_by"] == admin_member.pk
    assert mailoutbox[-1].to == ["api@example.com"]
    link = sent_link(mailoutbox)
    assert Client().get(link).status_code == 200

    duplicate = client.post("/api/v1/invitations/", {"email": "api@example.com"})
    assert duplicate.status_code == 400 and "email" in duplicate.json()["fields"]

    pk = body["id"]
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/api/v1/invitations/{pk}/resend/").status_code == 200
    assert Client().get(link).status_code == 410
    revoked = client.post(f"/api/v1/invitations/{pk}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert [
        row["id"] for row in client.get("/api/v1/invitations/?status=revoked").json()["results"]
    ] == [pk]
    assert client.get("/api/v1/invitations/?status=pending").json()["results"] == []
    again = client.post(f"/api/v1/invitations/{pk}/resend/")
    assert again.status_code == 409 and again.json()["code"] == "refused"


def test_the_api_changes_roles_and_deactivates_with_the_same_rules(api, admin_member, developer):
    client = api(admin_member)
    changed = client.post(f"/api/v1/memberships/{developer.pk}/role/", {"role": Role.FINANCE})
    assert changed.status_code == 200 and changed.json()["role"] == Role.FINANCE
    bad = client.post(f"/api/v1/memberships/{developer.pk}/role/", {"role": "owner"})
    assert bad.status_code == 400 and "role" in bad.json()["fields"]

    raw = token_for(developer)
    off = client.post(f"/api/v1/memberships/{developer.pk}/deactivate/")
    assert off.status_code == 200 and off.json()["deactivated_at"] is not None
    assert bearer(raw).get("/api/v1/memberships/").status_code == 401
    on = client.post(f"/api/v1/memberships/{developer.pk}/reactivate/")
    assert on.status_code == 200 and on.json()["deactivated_at"] is None

    for action, data in (("role", {"role": Role.DEVELOPER}), ("deactivate", {})):
        refused = client.post(f"/api/v1/memberships/{admin_member.pk}/{action}/", data)
        assert refused.status_code == 409
        assert refused.json()["code"] == "refused"
        assert "last active admin" in refused.json()["detail"]
    assert reload(admin_member).role == Role.ADMIN


@pytest.mark.parametrize("role", [Role.DEVELOPER, Role.ACCOUNT_MANAGER, Role.FINANCE])
def test_the_api_refuses_non_admins(api, members, role):
    client = api(members[role])
    target = members[Role.DEVELOPER]
    assert client.get("/api/v1/invitations/").status_code == 403
    assert client.post("/api/v1/invitations/", {"email": "x@example.com"}).status_code == 403
    assert (
        client.post(f"/api/v1/memberships/{target.pk}/role/", {"role": "admin"}).status_code == 403
    )
    assert client.post(f"/api/v1/memberships/{target.pk}/deactivate/").status_code == 403
    assert client.get("/api/v1/memberships/").status_code == 200  # everyone reads the members
    assert reload(target).role == Role.DEVELOPER


# --- the Django admin --------------------------------------------------------------------------
def test_the_django_admin_shows_invitations_read_only(client, pending):
    invitation, _ = pending
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(superuser)
    listing = client.get(reverse("admin:tenancy_invitation_changelist"))
    assert listing.status_code == 200 and "pat@example.com" in listing.content.decode()
    change = client.get(reverse("admin:tenancy_invitation_change", args=[invitation.pk]))
    assert change.status_code == 200 and invitation.nonce not in change.content.decode()
    assert client.get(reverse("admin:tenancy_invitation_add")).status_code == 403


def test_a_deactivated_member_leaves_the_assignee_picker_but_their_tickets_still_save(
    login, org, admin_member, developer
):
    from tests.factories import TicketFactory
    from tickets.forms import TicketForm, TicketUpdateForm
    from tickets.services import ticket_update

    other = MembershipFactory(organization=org, role=Role.DEVELOPER)
    with activate_organization(org):
        held = TicketFactory(organization=org, assignee=developer)
        member_deactivate(membership=developer, by=admin_member)
        developer.refresh_from_db()
        assert developer not in TicketForm(organization=org).fields["assignee"].queryset
        form = TicketUpdateForm.for_ticket(held, organization=org)
        assert developer in form.fields["assignee"].queryset  # kept while it waits for a handoff
        # Saving the ticket as it is keeps them; giving another ticket to them is refused.
        saved = ticket_update(
            ticket=held, actor=admin_member, version=held.version, priority="high"
        )
        assert saved.assignee == developer and saved.priority == "high"
        fresh = TicketFactory(organization=org, assignee=other)
        with pytest.raises(ValidationError) as refused:
            ticket_update(
                ticket=fresh, actor=admin_member, version=fresh.version, assignee=developer
            )
    assert "deactivated" in refused.value.message_dict["assignee"][0]
