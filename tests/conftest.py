"""Fixture world: two organizations in every test, so cross-tenant cases are
one line. ``org`` is ours, ``other_org`` is the stranger's."""

from functools import partial

import django.test.utils
import pytest
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled
from pytest_django import fixtures as pytest_django_fixtures
from rest_framework.test import APIClient

from msops.tenancy.models import Role
from msops.tenancy.scoping import activate_organization
from tests.factories import MembershipFactory, OrganizationFactory, token_for


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    """Tests don't run collectstatic; serve static files from the finders."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.WHITENOISE_USE_FINDERS = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _eager_celery():
    """In-process tests run tasks eagerly; worker behaviour has its own tests."""
    from msops.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def org(db):
    return OrganizationFactory(name="Our Practice", slug="ours")


@pytest.fixture
def other_org(db):
    return OrganizationFactory(name="Stranger Practice", slug="stranger")


def _member(organization, role, username):
    return MembershipFactory(
        organization=organization, role=role, user__username=f"{username}-{organization.slug}"
    )


@pytest.fixture
def developer(org):
    return _member(org, Role.DEVELOPER, "dev")


@pytest.fixture
def account_manager(org):
    return _member(org, Role.ACCOUNT_MANAGER, "am")


@pytest.fixture
def finance(org):
    return _member(org, Role.FINANCE, "fin")


@pytest.fixture
def admin_member(org):
    return _member(org, Role.ADMIN, "admin")


@pytest.fixture
def stranger(other_org):
    """An admin of the other organization."""
    return _member(other_org, Role.ADMIN, "stranger")


@pytest.fixture
def members(developer, account_manager, finance, admin_member):
    return {
        Role.DEVELOPER: developer,
        Role.ACCOUNT_MANAGER: account_manager,
        Role.FINANCE: finance,
        Role.ADMIN: admin_member,
    }


@pytest.fixture
def login(client):
    """``login(membership)`` → a Django test client logged in as that member."""

    def _login(membership):
        client.force_login(membership.user)
        return client

    return _login


@pytest.fixture
def api():
    """``api(membership)`` → a DRF client authenticated with a fresh token,
    already used once."""

    def _api(membership):
        api_client = APIClient()
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(membership)}")
        # A token in use: its first use (recorded once in the audit log) is behind
        # it, so query budgets measure the request, not that one-off write.
        api_client.get("/api/v1/organization/")
        return api_client

    return _api


@pytest.fixture
def in_scope():
    """``with in_scope(org):`` — run service calls as the org's request would."""
    return activate_organization


@pytest.fixture
def no_scopes():
    return scopes_disabled


_TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


class _QueriesWithoutSavepoints(CaptureQueriesContext):
    """A request runs in one transaction (its organization is set in it for
    row-level security). In production that is BEGIN/COMMIT, which Django does
    not log; under the test's enclosing transaction it becomes a SAVEPOINT,
    which it does. Query budgets count queries, not transaction control."""

    @property
    def captured_queries(self):
        return [
            query
            for query in super().captured_queries
            if not query["sql"].startswith(_TRANSACTION_CONTROL)
        ]

    def __len__(self):
        return len(self.captured_queries)


@pytest.fixture
def django_assert_num_queries(pytestconfig, monkeypatch):
    monkeypatch.setattr(django.test.utils, "CaptureQueriesContext", _QueriesWithoutSavepoints)
    return partial(pytest_django_fixtures._assert_num_queries, pytestconfig)


@pytest.fixture
def django_assert_max_num_queries(pytestconfig, monkeypatch):
    monkeypatch.setattr(django.test.utils, "CaptureQueriesContext", _QueriesWithoutSavepoints)
    return partial(pytest_django_fixtures._assert_num_queries, pytestconfig, exact=False)
