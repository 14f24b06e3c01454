"""What the flag rules share: the tables they read, the columns a flag is
inserted with, and binding a batch restriction into a statement."""

from django.db import connection

from clients.models import Client, Contract, ContractRevision, RequestType, ScopeRule
from msops.sql import adapt, concat, sql_list, table
from msops.tenancy.models import Organization
from tickets.models import Ticket, TimeEntry

from ..models import EntryPortion, ExceptionFlag, ScopeCheck

ORG = object()  # where the organization id (and then the batch bounds) go in params
FLAGS_ORG = object()  # the same, for the batch's existing flags (``{fwhere}``)

FLAG_COLUMNS = (
    "organization_id, kind, subject_key, period_key, ticket_id, contract_id, client_id, "
    "detail, status, owner_id, created_at, resolution_note"
)
MODELS = {
    "flag": ExceptionFlag,
    "ticket": Ticket,
    "entry": TimeEntry,
    "portion": EntryPortion,
    "client": Client,
    "contract": Contract,
    "revision": ContractRevision,
    "rtype": RequestType,
    "rule": ScopeRule,
    "check": ScopeCheck,
    "org": Organization,
}

__all__ = [
    "FLAGS_ORG",
    "FLAG_COLUMNS",
    "ORG",
    "adapt",
    "bind",
    "concat",
    "execute",
    "pg",
    "sql_list",
    "tables",
]


def tables() -> dict[str, str]:
    return {key: table(model) for key, model in MODELS.items()}


def pg() -> bool:
    return connection.vendor == "postgresql"


def execute(sql: str, params: list) -> int:
    with connection.cursor() as cursor:
        if pg() and connection.in_atomic_block:
            # The per-ticket lookups of the rule in force push the planner's cost
            # estimate past jit_above_cost; compiling then takes longer (~140 ms
            # per organization) than running the statement (~40 ms).
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, [adapt(p) for p in params])
        if not pg() and sql.startswith("WITH"):
            # Python's sqlite3 reports no rowcount for a statement opening with WITH.
            cursor.execute("SELECT changes()")
            return cursor.fetchone()[0]
        return max(cursor.rowcount, 0)


def bind(sql: str, params: list, organization_id: int, where: str, where_params: list):
    """Put the batch restriction and its parameters in: ``{where}`` on the
    tickets ``t``, the entries ``e`` or the portions ``p``, ``{fwhere}`` the
    same tickets' flags."""
    bound = []
    for p in params:
        if p is ORG or p is FLAGS_ORG:
            bound += [organization_id, *where_params]
        else:
            bound.append(p)
    fwhere = where.replace("t.id", "f.ticket_id")
    return sql.replace("{fwhere}", fwhere).replace("{where}", where), bound
