"""The second wall: PostgreSQL row-level security, as the application's role.

The suite connects as the tables' owner (a superuser, whom row security does
not bind); these tests switch to the application's role, as web, worker and
beat connect in production (``DATABASE_APP_ROLE``).
"""

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django_scopes import scopes_disabled

from clients.models import Client
from msops.tenancy import rls
from msops.tenancy.scoping import activate_organization
from tests.factories import ClientFactory

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row-level security is PostgreSQL's"
)


def _scalar(query: str, params=()):
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchone()[0]


@pytest.fixture
def as_app_role(db):
    """The rest of the test runs as the application's role."""
    with connection.cursor() as cursor:
        cursor.execute(f'SET ROLE "{settings.DATABASE_APP_ROLE}"')
    yield
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")


@pytest.fixture
def two_clients(org, other_org):
    with scopes_disabled():
        return ClientFactory(organization=org), ClientFactory(organization=other_org)


def test_every_tenant_table_has_a_forced_policy(db):
    tables = rls.tenant_tables()
    assert "clients_client" in tables and "tickets_timeentry" in tables
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c WHERE c.relname = ANY(%s) "
            "AND c.relrowsecurity AND c.relforcerowsecurity "
            "AND EXISTS (SELECT 1 FROM pg_policies p WHERE p.tablename = c.relname "
            "AND p.policyname = %s)",
            [tables, rls.POLICY],
        )
        covered = {row[0] for row in cursor.fetchall()}
    assert set(tables) - covered == set()


def test_the_application_role_owns_no_table_and_cannot_bypass(db):
    role = settings.DATABASE_APP_ROLE
    assert _scalar("SELECT count(*) FROM pg_tables WHERE tableowner = %s", [role]) == 0
    assert (
        _scalar("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = %s", [role]) is False
    )


def test_a_raw_select_without_the_setting_returns_no_rows(two_clients, as_app_role):
    assert _scalar("SELECT count(*) FROM clients_client") == 0
    assert _scalar("SELECT count(*) FROM tenancy_membership") == 0


def test_an_active_organization_sees_only_its_own_rows(two_clients, as_app_role, org):
    ours, theirs = two_clients
    with activate_organization(org):
        ids = {row[0] for row in _rows("SELECT id FROM clients_client")}
        with scopes_disabled():  # the first wall off: the second still holds
            assert set(Client.objects.values_list("pk", flat=True)) == {ours.pk}
    assert ids == {ours.pk}
    assert theirs.pk not in ids


def _rows(query: str, params=()):
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def test_a_row_for_another_organization_cannot_be_written(two_clients, as_app_role, org, other_org):
    ours, theirs = two_clients
    with activate_organization(org):
        with (
            pytest.raises(DatabaseError, match="row-level security"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(
                "UPDATE clients_client SET organization_id = %s WHERE id = %s",
                [other_org.pk, ours.pk],
            )
        with connection.cursor() as cursor:
            cursor.execute("UPDATE clients_client SET name = 'x' WHERE id = %s", [theirs.pk])
            assert cursor.rowcount == 0  # invisible, so untouched


def test_nested_organizations_restore_the_outer_one(two_clients, as_app_role, org, other_org):
    ours, theirs = two_clients
    with activate_organization(org):
        with activate_organization(other_org):
            assert [r[0] for r in _rows("SELECT id FROM clients_client")] == [theirs.pk]
        assert [r[0] for r in _rows("SELECT id FROM clients_client")] == [ours.pk]
    assert _rows("SELECT id FROM clients_client") == []


def test_the_bypass_crosses_organizations_and_ends_with_its_block(two_clients, as_app_role):
    with rls.bypass():
        assert _scalar("SELECT count(*) FROM clients_client") == 2
        assert _scalar("SELECT current_user") == rls.BYPASS_ROLE
    assert _scalar("SELECT current_user") == settings.DATABASE_APP_ROLE
    assert _scalar("SELECT count(*) FROM clients_client") == 0


@pytest.fixture
def app_role_session(transactional_db):
    """As the application's role, without the test's enclosing transaction:
    statements commit as they would in production."""
    with connection.cursor() as cursor:
        cursor.execute(f'SET ROLE "{settings.DATABASE_APP_ROLE}"')
    yield
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")


@pytest.mark.django_db(transaction=True)
def test_the_setting_never_outlives_its_transaction(app_role_session):
    from tests.factories import OrganizationFactory

    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")  # seed as the owner
    organization = OrganizationFactory()
    with scopes_disabled():
        ClientFactory(organization=organization)
    with connection.cursor() as cursor:
        cursor.execute(f'SET ROLE "{settings.DATABASE_APP_ROLE}"')
    assert not connection.in_atomic_block
    with activate_organization(organization):
        # Autocommit: each statement gets its own transaction with the setting.
        assert Client.objects.count() == 1
        assert _scalar("SELECT count(*) FROM clients_client") == 1
        with transaction.atomic():
            assert _scalar("SELECT current_setting(%s, true)", [rls.SETTING]) == str(
                organization.pk
            )
    # The connection is reused as a pool would: nothing of the tenant is left on it.
    assert _scalar("SELECT coalesce(current_setting(%s, true), '')", [rls.SETTING]) == ""
    assert _scalar("SELECT count(*) FROM clients_client") == 0
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")


def test_a_tenant_task_runs_inside_its_organization_as_the_application_role(
    org, other_org, as_app_role
):
    import datetime

    from django.utils import timezone

    from msops.tenancy.models import ApiToken
    from msops.tenancy.tasks import api_tokens_expire_task
    from tests.factories import MembershipFactory

    with rls.bypass(), scopes_disabled():
        past = timezone.now() - datetime.timedelta(days=1)
        for organization in (org, other_org):
            member = MembershipFactory(organization=organization)
            ApiToken.objects.create(
                organization=organization,
                membership=member,
                name="old",
                prefix=f"p{organization.pk}",
                token_hash=f"h{organization.pk}",
                expires_at=past,
            )
    assert api_tokens_expire_task.apply(kwargs={"organization_id": org.pk}).get() == 1
    with rls.bypass(), scopes_disabled():
        revoked = dict(ApiToken.objects.values_list("organization_id", "revoked_at"))
    assert revoked[org.pk] is not None
    assert revoked[other_org.pk] is None


def test_the_application_url_swaps_the_owner_for_the_application_role():
    from msops.tenancy.management.commands.app_database_url import app_database_url

    assert (
        app_database_url("postgres://owner:secret@db:5433/msops", role="msops_app", password="p@ss")
        == "postgres://msops_app:p%40ss@db:5433/msops"
    )
    assert (
        app_database_url("postgres://postgres@127.0.0.1/msops", role="msops_app", password="")
        == "postgres://msops_app@127.0.0.1/msops"
    )
    assert app_database_url("sqlite:///var/x.sqlite3", role="a", password="") == (
        "sqlite:///var/x.sqlite3"
    )


def test_drafts_are_saved_as_the_application_role(org, as_app_role):
    """Invoice lines go in with COPY, which PostgreSQL refuses into a table
    under row security: they pass through a temporary table."""
    import datetime
    from decimal import Decimal

    from billing.models import InvoiceLine
    from billing.services.periods import drafts_compute
    from clients.models import Contract
    from tests.factories import ContractFactory, ContractRevisionFactory

    with activate_organization(org):
        client = ClientFactory(organization=org)
        contract = ContractFactory(
            organization=org,
            client=client,
            kind=Contract.Kind.FIXED_FEE,
            starts_on=datetime.date(2026, 1, 1),
        )
        ContractRevisionFactory(organization=org, contract=contract, fee=Decimal("250.00"))
        assert drafts_compute(organization=org, month=datetime.date(2026, 11, 1)) == 1
        assert list(InvoiceLine.objects.values_list("amount", flat=True)) == [Decimal("250.00")]
    assert _scalar("SELECT count(*) FROM billing_invoiceline") == 0  # and only inside it


@pytest.mark.django_db(transaction=True)
def test_requests_as_the_application_role_see_their_organization_and_only_it(
    app_role_session, client
):
    """Over HTTP, committing as production does: the middleware's transaction
    gets the organization at its first statement, the token is found through
    the bypass, and a page and an API list show the organization's rows."""
    from tests.factories import MembershipFactory, OrganizationFactory, token_for

    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")  # seed as the owner
    ours, theirs = OrganizationFactory(slug="ours-rls"), OrganizationFactory(slug="theirs-rls")
    with scopes_disabled():
        ClientFactory(organization=ours, name="Our Client")
        ClientFactory(organization=theirs, name="Their Client")
        member = MembershipFactory(organization=ours, role="admin")
        raw = token_for(member)
    with connection.cursor() as cursor:
        cursor.execute(f'SET ROLE "{settings.DATABASE_APP_ROLE}"')

    answer = client.get("/api/v1/clients/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert answer.status_code == 200
    assert [row["name"] for row in answer.json()["results"]] == ["Our Client"]
    client.force_login(member.user)
    page = client.get(f"/o/{ours.slug}/clients/")
    assert page.status_code == 200
    assert "Our Client" in page.content.decode() and "Their Client" not in page.content.decode()
    assert client.get(f"/o/{theirs.slug}/clients/").status_code == 404
    assert _scalar("SELECT current_user") == settings.DATABASE_APP_ROLE
    assert _scalar("SELECT count(*) FROM clients_client") == 0  # nothing left set


def test_the_audit_log_shows_an_organization_its_members_sign_ins_only(org, other_org, as_app_role):
    from msops.tenancy.audit import auth_event_list, auth_event_record
    from msops.tenancy.models import AuthEvent
    from tests.factories import MembershipFactory

    with rls.bypass(), scopes_disabled():
        ours = MembershipFactory(organization=org).user
        theirs = MembershipFactory(organization=other_org).user
    for user in (ours, theirs):
        auth_event_record(kind=AuthEvent.Kind.SIGNED_IN, user=user)  # no organization
    with activate_organization(org), scopes_disabled():
        seen = {event.user_id for event in auth_event_list(organization=org)}
        everything = set(AuthEvent.objects.values_list("user_id", flat=True))
    assert seen == everything == {ours.pk}  # the policy alone hides the stranger's
