"""Cached template fragments (msops/fragments.py) never cross organizations
or roles, never go stale, and never hold a person's CSRF token."""

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.core.cache import caches
from django.templatetags import cache as cache_tags
from django.urls import reverse

from msops.fragments import fragment_key
from msops.tenancy.models import Role
from tests.factories import (
    ClientFactory,
    MembershipFactory,
    RequestTypeFactory,
    TicketFactory,
    UserFactory,
)

CACHE_TAG = re.compile(r"{%\s*cache\s+(\S+)\s+(\S+)\s+(.*?)%}(.*?){%\s*endcache\s*%}", re.S)


@pytest.fixture(autouse=True)
def _empty_cache():
    caches["template_fragments"].clear()
    yield
    caches["template_fragments"].clear()


@pytest.fixture
def recorded_keys(monkeypatch):
    """Every fragment key the templates ask for, with its vary_on."""
    seen = []
    real = cache_tags.make_template_fragment_key

    def record(fragment_name, vary_on=None):
        seen.append((fragment_name, [str(value) for value in vary_on or ()]))
        return real(fragment_name, vary_on)

    monkeypatch.setattr(cache_tags, "make_template_fragment_key", record)
    return seen


def same_tickets(org):
    """The same-looking ticket in any organization: same number, title,
    client and request type names."""
    return TicketFactory(
        organization=org,
        number=1,
        title="Printer offline",
        client=ClientFactory(organization=org, name="Acme Dental"),
        request_type=RequestTypeFactory(organization=org, name="Troubleshooting"),
    )


def list_page(client, membership):
    client.force_login(membership.user)
    url = reverse("tickets:ticket_list", kwargs={"org": membership.organization.slug})
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_two_organizations_with_the_same_rows_never_share_a_fragment(
    client, org, other_org, recorded_keys
):
    same_tickets(org)
    same_tickets(other_org)
    person = UserFactory()
    ours = MembershipFactory(organization=org, user=person, role=Role.ADMIN)
    theirs = MembershipFactory(organization=other_org, user=person, role=Role.ADMIN)
    first = list_page(client, ours)
    second = list_page(client, theirs)
    assert f"/o/{org.slug}/tickets/1/" in first
    assert f"/o/{other_org.slug}/tickets/1/" in second
    assert f"/o/{org.slug}/tickets/1/" not in second
    (_, ours_vary), (_, theirs_vary) = recorded_keys
    assert ours_vary != theirs_vary


def test_the_same_content_never_has_the_same_key_in_two_organizations_or_roles(org, other_org):
    content = ((1, "Printer offline", "Acme Dental"),)

    def key(organization, role):
        request = SimpleNamespace(organization=organization, membership=SimpleNamespace(role=role))
        return fragment_key(request, content)

    keys = {
        key(organization, role)
        for organization in (org, other_org)
        for role in (Role.ADMIN, Role.DEVELOPER)
    }
    assert len(keys) == 4
    assert key(org, Role.ADMIN) == key(org, Role.ADMIN)
    org.slug = "renamed"
    assert key(org, Role.ADMIN) not in keys  # links carry the slug


def test_two_roles_with_the_same_rows_never_share_a_fragment(client, org, recorded_keys):
    same_tickets(org)
    list_page(client, MembershipFactory(organization=org, role=Role.ADMIN))
    list_page(client, MembershipFactory(organization=org, role=Role.DEVELOPER))
    (_, admin_vary), (_, developer_vary) = recorded_keys
    assert admin_vary != developer_vary
    assert Role.ADMIN in admin_vary[0] and Role.DEVELOPER in developer_vary[0]


def test_the_rows_are_cached_in_their_own_cache(client, org):
    same_tickets(org)
    list_page(client, MembershipFactory(organization=org, role=Role.ADMIN))
    assert len(caches["template_fragments"]._cache) == 1


def test_a_changed_row_is_shown_changed_never_from_the_cache(client, org):
    ticket = same_tickets(org)
    admin = MembershipFactory(organization=org, role=Role.ADMIN)
    assert "Acme Dental" in list_page(client, admin)
    ticket.client.name = "Acme Orthodontics"
    ticket.client.save()
    ticket.logged_minutes = 95
    ticket.save()
    again = list_page(client, admin)
    assert "Acme Orthodontics" in again and "Acme Dental" not in again
    assert "1:35" in again


def cached_blocks():
    for path in Path(settings.BASE_DIR, "templates").rglob("*.html"):
        for match in CACHE_TAG.finditer(path.read_text()):
            yield path, match


def test_every_cached_fragment_is_keyed_by_its_content_and_holds_no_csrf_token():
    blocks = list(cached_blocks())
    assert blocks, "no cached fragment left: drop this test with the last one"
    for path, match in blocks:
        _, _, vary_on, body = match.groups()
        assert re.fullmatch(r"\w+_key\s*", vary_on), (path, vary_on)
        assert "csrf_token" not in body, path
