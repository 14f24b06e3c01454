"""The second wall: PostgreSQL row-level security keyed on the organization.

Every table with an ``organization_id`` column gets one policy, forced on
the table's owner too::

    organization_id = (SELECT current_setting('msops.organization_id'))  -- per transaction
    OR (SELECT current_user = 'msops_bypass')

The application connects as a role that owns no table (``DATABASE_APP_ROLE``,
default ``msops_app``); migrations run as the owner, and after them
:func:`install` creates the roles, grants the application its rows and
(re)creates every policy, so a new tenant model is covered by the next
``migrate``.

The setting is only ever made with ``set_config(..., is_local => true)``, the
function form of ``SET LOCAL``: it ends with the transaction, so a pooled
connection cannot carry one tenant into the next request. It is made in one
place, :func:`tenant_transactions`, which ``activate_organization`` enters:
it sets the organization in the transaction that is open, and in every
transaction that starts while the organization is active (a statement run in
autocommit mode gets a transaction of its own around it). Without it a query
sees no tenant row at all.

The bypass role ``msops_bypass`` is entered with ``SET LOCAL ROLE`` by
:func:`bypass` only where a question crosses organizations by nature: which
membership an API token belongs to, which organizations a user may enter,
writing a session event to the audit log (a sign-in belongs to no
organization), the Django admin of a staff member who administers several,
seed_scale and data migrations. Background jobs never use it: they run one
organization at a time (``TenantTask``). The audit log's policy also shows an
organization the session events of its own members.
On SQLite all of this is a no-op.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, ProgrammingError, connection, transaction
from psycopg import pq, sql

logger = logging.getLogger(__name__)

SETTING = "msops.organization_id"
BYPASS_ROLE = "msops_bypass"
POLICY = "msops_tenant"
# Each side is a scalar subquery, so PostgreSQL evaluates it once per
# statement (an InitPlan), not once per row it filters: a count over a
# tenant's 10k tickets spends ~20 % less in the policy.
_CURRENT = f"(SELECT NULLIF(current_setting('{SETTING}', true), '')::bigint)"
_OURS = f"organization_id = {_CURRENT} OR (SELECT current_user = '{BYPASS_ROLE}')"
POLICY_SQL = f"CREATE POLICY {{policy}} ON {{table}} USING ({_OURS}) WITH CHECK ({_OURS})"
# The audit log's session events (a sign-in) belong to no organization: each
# organization also sees those of its own members. They are written through
# the bypass (no tenant owns them).
AUDIT_TABLE = "tenancy_authevent"
# Constants only; the table and policy names go in through psycopg.sql.
AUDIT_POLICY_SQL = (
    "CREATE POLICY {policy} ON {table} "  # noqa: S608
    f"USING ({_OURS} OR (organization_id IS NULL AND user_id IN "
    f"(SELECT user_id FROM tenancy_membership WHERE organization_id = {_CURRENT}))) "
    f"WITH CHECK ({_OURS})"
)


def enabled() -> bool:
    return connection.vendor == "postgresql"


def tenant_tables() -> list[str]:
    """Every table with an organization column: the tables the wall covers."""
    tables = set()
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if not meta.managed or meta.proxy:
            continue
        if any(field.column == "organization_id" for field in meta.local_concrete_fields):
            tables.add(meta.db_table)
    return sorted(tables)


# --- per transaction: the organization ------------------------------------------------
def _set(raw_connection, organization_id: int | None) -> None:
    raw_connection.execute(
        "SELECT set_config(%s, %s, true)",
        [SETTING, "" if organization_id is None else str(organization_id)],
    )


def _stack(conn) -> list[int]:
    if not hasattr(conn, "_msops_organizations"):
        conn._msops_organizations = []
    return conn._msops_organizations


def _in_open_transaction(conn) -> bool:
    raw = conn.connection
    return raw is not None and raw.info.transaction_status == pq.TransactionStatus.INTRANS


def _wrapper(execute, sql_text, params, many, context):
    """Before the first statement of a transaction, set the active organization
    in it; a statement in autocommit mode gets a transaction of its own."""
    conn = context["connection"]
    stack = _stack(conn)
    raw = conn.connection
    if not stack or raw.info.transaction_status != pq.TransactionStatus.IDLE:
        return execute(sql_text, params, many, context)
    if conn.in_atomic_block:
        _set(raw, stack[-1])  # psycopg opens the transaction Django asked for
        return execute(sql_text, params, many, context)
    with transaction.atomic(using=conn.alias):
        _set(raw, stack[-1])
        return execute(sql_text, params, many, context)


@contextmanager
def tenant_transactions(organization_id: int) -> Iterator[None]:
    """Make ``organization_id`` the one every transaction sees until exit."""
    if not enabled():
        yield
        return
    conn = connection
    stack = _stack(conn)
    stack.append(organization_id)
    if _in_open_transaction(conn):
        _set(conn.connection, organization_id)
    try:
        if len(stack) == 1:
            with conn.execute_wrapper(_wrapper):
                yield
        else:
            yield
    finally:
        stack.pop()
        if _in_open_transaction(conn):
            _set(conn.connection, stack[-1] if stack else None)


# --- the documented bypass -------------------------------------------------------------
@contextmanager
def bypass() -> Iterator[None]:
    """Run the block as ``msops_bypass`` (``SET LOCAL ROLE`` in a transaction),
    for the few reads that cross organizations by nature."""
    if not enabled():
        yield
        return
    # Inside a request's transaction already: no savepoint round trips needed.
    with transaction.atomic(savepoint=False):
        connection.ensure_connection()
        raw = connection.connection
        previous, exempt = raw.execute(
            "SELECT current_user::text, rolsuper OR rolbypassrls FROM pg_roles "
            "WHERE rolname = current_user"
        ).fetchone()
        if exempt:  # a superuser (an operator's command) is not bound anyway
            yield
            return
        raw.execute("SELECT set_config('role', %s, true)", [BYPASS_ROLE])
        try:
            yield
        finally:
            if _in_open_transaction(connection):
                raw.execute("SELECT set_config('role', %s, true)", [previous])


# --- after migrate: roles, grants, policies ---------------------------------------------
def _role_exists(cursor, role: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    return cursor.fetchone() is not None


def _create_role(cursor, role: str, *, login: bool, password: str = "") -> None:
    """CREATE ROLE unless it exists (roles are shared by every database of the
    cluster, and parallel test databases race for them)."""
    if _role_exists(cursor, role):
        return
    statement = sql.SQL("CREATE ROLE {} {}").format(
        sql.Identifier(role), sql.SQL("LOGIN" if login else "NOLOGIN")
    )
    if password:
        statement = sql.SQL("{} PASSWORD {}").format(statement, sql.Literal(password))
    try:
        with transaction.atomic(using=cursor.db.alias):
            cursor.execute(statement)
    except (ProgrammingError, IntegrityError):
        pass  # another database of the cluster created it meanwhile


def install(*, using: str = "default") -> None:
    """Roles, grants and one forced policy per tenant table (idempotent)."""
    from django.db import connections

    conn = connections[using]
    if conn.vendor != "postgresql":
        return
    app_role = settings.DATABASE_APP_ROLE
    with transaction.atomic(using=using), conn.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user"
        )
        (can_create_roles,) = cursor.fetchone()
        if can_create_roles:
            password = settings.DATABASE_APP_PASSWORD
            _create_role(cursor, app_role, login=True, password=password)
            if password:
                cursor.execute(
                    sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                        sql.Identifier(app_role), sql.Literal(password)
                    )
                )
            _create_role(cursor, BYPASS_ROLE, login=False)
            # The application, and the role that migrates (data migrations cross
            # organizations), may enter the bypass.
            for member in (sql.Identifier(app_role), sql.SQL("CURRENT_USER")):
                cursor.execute(
                    sql.SQL("GRANT {} TO {}").format(sql.Identifier(BYPASS_ROLE), member)
                )
        else:
            logger.warning("%s may not create roles: create %s and %s yourself", *(
                "the migrating role", app_role, BYPASS_ROLE))  # fmt: skip
        for role in (app_role, BYPASS_ROLE):
            if not _role_exists(cursor, role):
                continue
            name = sql.Identifier(role)
            cursor.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(name))
            cursor.execute(
                sql.SQL(
                    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}"
                ).format(name)
            )
            cursor.execute(
                sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(name)
            )
        for table in tenant_tables():
            name = sql.Identifier(table)
            cursor.execute(sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(name))
            cursor.execute(sql.SQL("ALTER TABLE {} FORCE ROW LEVEL SECURITY").format(name))
            cursor.execute(
                sql.SQL("DROP POLICY IF EXISTS {} ON {}").format(sql.Identifier(POLICY), name)
            )
            policy = AUDIT_POLICY_SQL if table == AUDIT_TABLE else POLICY_SQL
            cursor.execute(sql.SQL(policy).format(policy=sql.Identifier(POLICY), table=name))


def install_after_migrate(sender, using="default", **kwargs) -> None:
    """post_migrate receiver: every app's tables exist by the time it runs."""
    if sender.label == "tenancy":
        install(using=using)
