"""Exception flags: set-based detection of what people miss.

Each rule is one ``INSERT … SELECT … ON CONFLICT DO NOTHING`` over a keyset
batch of tickets (and their time entries) of one organization, in a short
transaction of its own. The unique constraint (organization, kind, subject,
period) makes every run idempotent: running the sweep twice, or two sweeps at
once, gives the same flags. The per-ticket check is the same SQL restricted to
one ticket.
"""

import datetime
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from clients.models import Client, Contract, ContractRevision, RequestType, ScopeRule
from clients.rules import (
    APPROVAL_THRESHOLD_SQL,
    EXPECTED_MINUTES_SQL,
    contract_in_force_sql,
    covers_sql,
    scope_rule_in_force_sql,
    terms_in_force_sql,
)
from msops.tenancy.models import Organization
from tickets.models import Ticket, TimeEntry

from .models import EntryPortion, ExceptionFlag, ScopeCheck
from .thresholds import (
    ALLOWANCE_KINDS,
    ALLOWANCE_STATUSES,
    ALLOWANCE_THRESHOLDS,
    TICKET_THRESHOLDS,
    period_bounds,
)

BATCH = 20_000
ORG = object()  # where the organization id (and then the batch bounds) go in params
FLAGS_ORG = object()  # the same, for the batch's existing flags (``{fwhere}``)
SLA_RISK_SHARE = 0.75  # a target is at risk once this share of its time has elapsed


def _t(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


T = {
    "flag": lambda: _t(ExceptionFlag),
    "ticket": lambda: _t(Ticket),
    "entry": lambda: _t(TimeEntry),
    "portion": lambda: _t(EntryPortion),
    "client": lambda: _t(Client),
    "contract": lambda: _t(Contract),
    "revision": lambda: _t(ContractRevision),
    "rtype": lambda: _t(RequestType),
    "rule": lambda: _t(ScopeRule),
    "check": lambda: _t(ScopeCheck),
    "org": lambda: _t(Organization),
}


def _tables() -> dict[str, str]:
    return {key: fn() for key, fn in T.items()}


def _pg() -> bool:
    return connection.vendor == "postgresql"


def _concat(*parts: str) -> str:
    """SQL string concatenation of expressions (casts numbers to text)."""
    cast = "CAST({} AS TEXT)"
    return " || ".join(cast.format(p) if not p.startswith("'") else p for p in parts)


FLAG_COLUMNS = (
    "organization_id, kind, subject_key, period_key, ticket_id, contract_id, client_id, "
    "detail, status, owner_id, created_at, resolution_note"
)


@dataclass(frozen=True)
class SweepResult:
    created: int
    batches: int


# --- ticket rules -------------------------------------------------------------
# Kinds flagged per ticket (subject "ticket:<id>", period "-"): each has a bit,
# so the facts carry which of them the ticket already has, and a re-run skips
# them without building rows only for the unique constraint to drop.
TICKET_KINDS = (
    ExceptionFlag.Kind.OVER_EXPECTED,
    ExceptionFlag.Kind.OVER_APPROVAL,
    ExceptionFlag.Kind.NO_DECISION,
    ExceptionFlag.Kind.CATCH_ALL,
    ExceptionFlag.Kind.SLA_RESPONSE_BREACHED,
    ExceptionFlag.Kind.SLA_RESPONSE_AT_RISK,
    ExceptionFlag.Kind.SLA_RESOLUTION_BREACHED,
    ExceptionFlag.Kind.SLA_RESOLUTION_AT_RISK,
)
KIND_BIT = {kind: 1 << i for i, kind in enumerate(TICKET_KINDS)}


def _sql_list(values) -> str:
    return ", ".join(f"'{value}'" for value in values)


def _ticket_ctes() -> str:
    """CTEs over the batch's tickets (``{where}`` restricts ``t``,
    ``{fwhere}`` the same tickets' flags ``f``):

    - ``h``: per ticket, the bits of the ticket flags it already has, read
      once from the organization's flags (materialized, so a poor row
      estimate can never make it run once per ticket);
    - ``x0``…``x``: one row per ticket with what every ticket rule looks at:
      the rule in force on the ticket's latest work date (today without
      work), built from ``clients.rules``' definitions, and ``have`` from
      ``h``, so a re-run skips what is flagged already.

    Parameters: the flags' organization id, today, the tickets' organization id."""
    tb = _tables()
    bits = " ".join(f"WHEN '{kind}' THEN {bit}" for kind, bit in KIND_BIT.items())
    materialized = "MATERIALIZED " if _pg() else ""
    contract = contract_in_force_sql(
        organization="x0.organization_id", client="x0.client_id", contract="x0.contract_id",
        on="x0.d",
    )  # fmt: skip
    rule = scope_rule_in_force_sql(contract="x1.kid", request_type="x1.request_type_id", on="x1.d")
    return (
        f"h AS {materialized}(SELECT f.ticket_id, SUM(CASE f.kind {bits} ELSE 0 END) AS have"
        f" FROM {tb['flag']} f WHERE f.organization_id = %s AND f.ticket_id IS NOT NULL"
        f" AND f.period_key = '-' AND f.kind IN ({_sql_list(TICKET_KINDS)}) {{fwhere}}"
        " GROUP BY f.ticket_id),"
        " x0 AS (SELECT t.id, t.organization_id, t.contract_id, t.client_id, t.request_type_id,"
        " t.logged_minutes, t.classification, t.status, t.opened_at, t.first_response_due,"
        " t.first_responded_at, t.resolution_due, t.resolved_at,"
        f" COALESCE((SELECT MAX(e.work_date) FROM {tb['entry']} e WHERE e.ticket_id = t.id"
        " AND e.organization_id = t.organization_id), %s) AS d"
        f" FROM {tb['ticket']} t WHERE t.organization_id = %s {{where}}),"
        f" x1 AS (SELECT x0.*, {contract} AS kid FROM x0),"
        f" x2 AS (SELECT x1.*, {rule} AS rid FROM x1),"
        " x AS (SELECT x2.id, x2.organization_id, x2.kid AS contract_id, x2.client_id,"
        " c.account_manager_id AS owner_id, x2.logged_minutes AS logged,"
        f" {EXPECTED_MINUTES_SQL} AS expected, {APPROVAL_THRESHOLD_SQL} AS threshold,"
        " rt.is_catch_all AS catch_all, rt.name AS type_name, x2.classification, x2.status,"
        " x2.opened_at, x2.first_response_due, x2.first_responded_at, x2.resolution_due,"
        " x2.resolved_at,"
        f" EXISTS (SELECT 1 FROM {tb['check']} sc WHERE sc.ticket_id = x2.id"
        f"  AND sc.status IN ({_sql_list(ScopeCheck.APPROVED_STATUSES)})) AS approved,"
        " COALESCE(h.have, 0) AS have"
        " FROM x2"
        f" JOIN {tb['rtype']} rt ON rt.id = x2.request_type_id"
        f" JOIN {tb['client']} c ON c.id = x2.client_id"
        f" LEFT JOIN {tb['rule']} r ON r.id = x2.rid AND NOT r.removed"
        " LEFT JOIN h ON h.ticket_id = x2.id)"
    )


def _due_text(column: str) -> str:
    """A due time as the practice reads it: minutes, in its timezone (the
    parameter), named. SQLite has no time zones: UTC, named so."""
    if _pg():
        return _concat(
            f"to_char({column} AT TIME ZONE %s, 'YYYY-MM-DD HH24:MI')", "' ('", "%s", "')'"
        )
    return _concat(f"strftime('%%Y-%%m-%%d %%H:%%M', {column})", "' (UTC)'")


def _ticket_rules(now: datetime.datetime, tz: str, today: datetime.date) -> tuple[str, list]:
    """Every ticket rule in one statement: the batch's ticket facts once, one
    SELECT per kind (skipping kinds the ticket already has), one INSERT … ON
    CONFLICT DO NOTHING. Threshold flags only flag: the billing moments are
    raised by the time services when the time is logged (one place)."""
    tb = _tables()
    if _pg():
        at_risk = "x.opened_at + (x.{due} - x.opened_at) * %s < %s"
    else:
        at_risk = "julianday(x.opened_at) + (julianday(x.{due}) - julianday(x.opened_at)) * %s < julianday(%s)"
    key = _concat("'ticket:'", "x.id")
    is_open = f"x.status IN ({_sql_list(Ticket.OPEN_STATUSES)})"
    kinds: list[tuple[str, str | tuple[str, list], str, list]] = [
        (threshold.flag, _concat(*threshold.sql_detail), threshold.sql, [])
        for threshold in TICKET_THRESHOLDS
    ]
    kinds += [
        (
            ExceptionFlag.Kind.NO_DECISION,
            _concat("x.logged", "' min logged and no billing decision'"),
            "x.logged > 0 AND x.classification = ''",
            [],
        ),
        (
            ExceptionFlag.Kind.CATCH_ALL,
            _concat("'Work logged under the catch-all type '", "x.type_name"),
            "x.catch_all AND x.logged > 0",
            [],
        ),
    ]
    for breached, risk, due, done, label in (
        (ExceptionFlag.Kind.SLA_RESPONSE_BREACHED, ExceptionFlag.Kind.SLA_RESPONSE_AT_RISK,
         "first_response_due", "first_responded_at", "First response due "),
        (ExceptionFlag.Kind.SLA_RESOLUTION_BREACHED, ExceptionFlag.Kind.SLA_RESOLUTION_AT_RISK,
         "resolution_due", "resolved_at", "Resolution due "),
    ):  # fmt: skip
        pending = f"{is_open} AND x.{done} IS NULL AND x.{due} IS NOT NULL"
        detail = (_concat(f"'{label}'", _due_text(f"x.{due}")), [tz, tz] if _pg() else [])
        kinds.append((breached, detail, f"{pending} AND x.{due} < %s", [now]))
        kinds.append(
            (
                risk,
                detail,
                f"{pending} AND x.{due} >= %s AND {at_risk.format(due=due)}",
                [now, SLA_RISK_SHARE, now],
            )
        )
    selects, params = [], [FLAGS_ORG, today, ORG]
    for kind, detail, condition, condition_params in kinds:
        detail, detail_params = detail if isinstance(detail, tuple) else (detail, [])
        selects.append(
            f"SELECT x.organization_id, '{kind}', {key}, '-', x.id, x.contract_id, x.client_id,"
            f" {detail}, 'open', x.owner_id, %s, '' FROM x"
            f" WHERE (x.have & {KIND_BIT[kind]}) = 0 AND {condition}"
        )
        params += [*detail_params, now, *condition_params]
    sql = (
        f"WITH {_ticket_ctes()} INSERT INTO {tb['flag']} ({FLAG_COLUMNS}) "
        + " UNION ALL ".join(selects)
        + " ON CONFLICT (organization_id, kind, subject_key, period_key) DO NOTHING"
    )
    return sql, params


def ticket_facts(*, organization: Organization, ticket_id: int) -> dict:
    """The facts the ticket rules read for one ticket — the contract in force,
    expected minutes, approval threshold, and which thresholds the SQL finds
    crossed — for the rule-agreement property test and for debugging."""
    now = timezone.now()
    today = timezone.localtime(now, organization.tzinfo).date()
    crossed = ", ".join(
        f"CASE WHEN {threshold.sql} THEN 1 ELSE 0 END" for threshold in TICKET_THRESHOLDS
    )
    sql = (
        f"WITH {_ticket_ctes()} SELECT x.contract_id, x.expected, x.threshold, x.logged,"
        f" {crossed} FROM x"
    )
    sql, params = _bind(sql, [FLAGS_ORG, today, ORG], organization.pk, "AND t.id = %s", [ticket_id])
    with connection.cursor() as cursor:
        cursor.execute(sql, [_adapt(p) for p in params])
        contract_id, expected, threshold, logged, *flags = cursor.fetchone()
    return {
        "contract_id": contract_id,
        "expected": expected,
        "threshold": threshold,
        "logged": logged,
        "crossed": {t.flag for t, hit in zip(TICKET_THRESHOLDS, flags, strict=True) if hit},
    }


def _late_entry_sql(now: datetime.datetime) -> tuple[str, list]:
    tb = _tables()
    # The day it was entered, in the organization's timezone (work dates are local).
    if _pg():
        entered_on = "CAST(e.entered_at AT TIME ZONE o.timezone AS DATE)"
        late = f"({entered_on} - e.work_date) > o.late_entry_days"
    else:
        entered_on = "CAST(e.entered_at AS DATE)"
        late = "(julianday(date(e.entered_at)) - julianday(e.work_date)) > o.late_entry_days"
    entry_key = _concat("'entry:'", "e.id")
    detail = _concat("'Work of '", "e.work_date", "' entered on '", entered_on)
    sql = (
        f"INSERT INTO {tb['flag']} ({FLAG_COLUMNS})"
        f" SELECT e.organization_id, 'late_entry', {entry_key}, '-', e.ticket_id,"
        f" t.contract_id, t.client_id, {detail},"
        " 'open', c.account_manager_id, %s, ''"
        f" FROM {tb['entry']} e JOIN {tb['org']} o ON o.id = e.organization_id"
        f" JOIN {tb['ticket']} t ON t.id = e.ticket_id JOIN {tb['client']} c ON c.id = t.client_id"
        f" WHERE e.organization_id = %s {{where}} AND {late}"
        " ON CONFLICT (organization_id, kind, subject_key, period_key) DO NOTHING"
    )
    return sql, [now, ORG]


# --- work outside any contract --------------------------------------------------
def _outside_contract_sql(now: datetime.datetime) -> tuple[str, list]:
    """An entry whose work date no contract covers (its portions have no
    contract): billable at the organization's default rate, and flagged."""
    tb = _tables()
    key = _concat("'entry:'", "p.entry_id")
    detail = _concat(
        "'Work of '", "p.work_date", "' ('", "SUM(p.minutes)",
        "' min): no contract covers this date, billed at the default rate'",
    )  # fmt: skip
    sql = (
        f"INSERT INTO {tb['flag']} ({FLAG_COLUMNS})"
        f" SELECT p.organization_id, '{ExceptionFlag.Kind.OUTSIDE_CONTRACT}', {key}, '-',"
        f" p.ticket_id, NULL, t.client_id, {detail}, 'open', c.account_manager_id, %s, ''"
        f" FROM {tb['portion']} p JOIN {tb['ticket']} t ON t.id = p.ticket_id"
        f" JOIN {tb['client']} c ON c.id = t.client_id"
        " WHERE p.organization_id = %s {where} AND p.contract_id IS NULL"
        " GROUP BY p.organization_id, p.entry_id, p.ticket_id, t.client_id, p.work_date,"
        " c.account_manager_id"
        " ON CONFLICT (organization_id, kind, subject_key, period_key) DO NOTHING"
    )
    return sql, [now, ORG]


# --- allowances ---------------------------------------------------------------------
def _allowance_sql(
    organization: Organization, now: datetime.datetime, contract_ids: list[int] | None
) -> tuple[str, list]:
    """Allowance alerts (the organization's warning share, and 100 %) in one
    statement. A retainer counts the work of the current period (by the
    contract's period, in the organization's timezone) against the included
    minutes of the terms in force, once per period; a block counts all its
    work against the balance of the terms in force, once per balance (a
    top-up is new terms: a new balance). All work on the contract counts,
    decided or not (``thresholds.ALLOWANCE_STATUSES``), by the contract in
    force on each work date."""
    tb = _tables()
    today = timezone.localtime(now, organization.tzinfo).date()
    bounds = period_bounds(today)
    materialized = "MATERIALIZED " if _pg() else ""
    period_key = " ".join(f"WHEN '{period}' THEN '{key}'" for period, (_, _, key) in bounds.items())
    since = " ".join(f"WHEN '{period}' THEN %s" for period in bounds)
    until = " ".join(f"WHEN '{period}' THEN %s" for period in bounds)
    window_params = [start for start, _, _ in bounds.values()] + [
        end for _, end, _ in bounds.values()
    ]
    only = f" AND k.id IN ({', '.join(['%s'] * len(contract_ids))})" if contract_ids else ""
    key = _concat("'contract:'", "u.id")
    detail = _concat(
        "'Allowance at '", "v.pct", "' %%: '", "u.used", "' of '", "u.included", "' min used'"
    ) + (
        # A block of hours also says what is left of it.
        " || CASE WHEN u.kind = 'block' THEN ', ' || CAST(CASE WHEN u.included > u.used"
        " THEN u.included - u.used ELSE 0 END AS TEXT) || ' min left' ELSE '' END"
    )
    thresholds = " UNION ALL ".join("SELECT %s AS kind, %s AS pct" for _ in ALLOWANCE_THRESHOLDS)
    balance_key = _concat("'from-'", "rv.effective_from")  # thresholds.block_balance_key
    sql = (
        f"WITH k AS {materialized}(SELECT k.id, k.organization_id, k.client_id, k.kind,"
        f" CASE WHEN k.kind = 'retainer' THEN CASE k.period {period_key} END"
        f" ELSE {balance_key} END AS period_key,"
        f" CASE k.period {since} END AS since, CASE k.period {until} END AS until,"
        " rv.included_minutes AS included"
        f" FROM {tb['contract']} k"
        f" JOIN {tb['revision']} rv ON rv.id = {terms_in_force_sql(contract='k.id', on='%s')}"
        f" WHERE k.organization_id = %s AND k.kind IN ({_sql_list(ALLOWANCE_KINDS)})"
        f" AND {covers_sql('k', '%s')}{only}),"
        " u AS (SELECT k.id, k.organization_id, k.client_id, k.kind, k.period_key, k.included,"
        " SUM(p.minutes) AS used"
        f" FROM {tb['portion']} p JOIN k ON k.id = p.contract_id"
        f" WHERE p.organization_id = %s AND p.status IN ({_sql_list(ALLOWANCE_STATUSES)})"
        " AND (k.kind = 'block' OR (p.work_date >= k.since AND p.work_date < k.until))"
        " GROUP BY k.id, k.organization_id, k.client_id, k.kind, k.period_key, k.included)"
        f" INSERT INTO {tb['flag']} ({FLAG_COLUMNS})"
        f" SELECT u.organization_id, v.kind, {key}, u.period_key, NULL, u.id, u.client_id, {detail},"
        " 'open', c.account_manager_id, %s, ''"
        f" FROM u JOIN {tb['client']} c ON c.id = u.client_id CROSS JOIN ({thresholds}) v"
        " WHERE u.included > 0 AND u.used * 100 >= u.included * v.pct"
        " ON CONFLICT (organization_id, kind, subject_key, period_key) DO NOTHING"
    )
    params = [*window_params, today, organization.pk, today, today]
    params += contract_ids or []
    params += [organization.pk, now]
    for threshold in ALLOWANCE_THRESHOLDS:
        params += [threshold.flag, threshold.percent(organization)]
    return sql, params


# --- running them ----------------------------------------------------------------
def _adapt(value):
    ops = connection.ops
    if isinstance(value, datetime.datetime):
        return ops.adapt_datetimefield_value(value)
    if isinstance(value, datetime.date):
        return ops.adapt_datefield_value(value)
    return value


def _execute(sql: str, params: list) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, [_adapt(p) for p in params])
        if not _pg() and sql.startswith("WITH"):
            # Python's sqlite3 reports no rowcount for a statement opening with WITH.
            cursor.execute("SELECT changes()")
            return cursor.fetchone()[0]
        return max(cursor.rowcount, 0)


def _bind(sql: str, params: list, organization_id: int, where: str, where_params: list):
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


def _ticket_batch(organization: Organization, now, where: str, where_params: list) -> int:
    """The ticket rules over one batch; returns the number of new flags."""
    today = timezone.localtime(now, organization.tzinfo).date()
    rules = _ticket_rules(now, organization.timezone, today)
    return _execute(*_bind(*rules, organization.pk, where, where_params))


def flags_check_ticket(*, organization: Organization, ticket_id: int) -> int:
    """Check one ticket at once (after its time or state changed): its rules,
    its entries and the allowances of the contracts its work falls under.
    Returns the number of new flags."""
    now = timezone.now()
    if not Ticket.objects.filter(organization=organization, pk=ticket_id).exists():
        return 0
    contracts = sorted(
        set(
            EntryPortion.objects.filter(
                organization=organization, ticket=ticket_id, contract__isnull=False
            ).values_list("contract_id", flat=True)
        )
    )
    with transaction.atomic():
        created = _ticket_batch(organization, now, "AND t.id = %s", [ticket_id])
        sql, params = _late_entry_sql(now)
        created += _execute(
            *_bind(sql, params, organization.pk, "AND e.ticket_id = %s", [ticket_id])
        )
        sql, params = _outside_contract_sql(now)
        created += _execute(
            *_bind(sql, params, organization.pk, "AND p.ticket_id = %s", [ticket_id])
        )
        if contracts:
            created += _execute(*_allowance_sql(organization, now, contracts))
    return created


def _keyset_batches(model, alias: str, organization: Organization, batch: int):
    """``(where, params)`` restrictions covering the organization's rows in
    consecutive (low, high] id ranges of about ``batch`` rows each (ids of one
    tenant are mostly dense). An organization that fits in one batch gets no
    id restriction at all, which also keeps the planner's estimates right."""
    table = _t(model)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT MIN(id), MAX(id), COUNT(*) FROM {table} WHERE organization_id = %s",
            [organization.pk],
        )
        first, last, count = cursor.fetchone()
    if not count:
        return
    if count <= batch:
        yield "", []
        return
    parts = -(-count // batch)
    step = max(1, -(-(last - first + 1) // parts))
    low = first - 1
    while low < last:
        high = min(low + step, last)
        yield f"AND {alias}.id > %s AND {alias}.id <= %s", [low, high]
        low = high


def flags_sweep(*, organization: Organization, batch: int = BATCH) -> SweepResult:
    """Every rule over every ticket and entry of the organization, in keyset
    batches of tickets (with their time entries), one short transaction per
    batch; then the contracts. Idempotent."""
    now = timezone.now()
    created = batches = 0
    late_sql, late_params = _late_entry_sql(now)
    outside_sql, outside_params = _outside_contract_sql(now)
    for where, where_params in _keyset_batches(Ticket, "t", organization, batch):
        with transaction.atomic():
            created += _ticket_batch(organization, now, where, where_params)
            entries = where.replace("t.id", "e.ticket_id")
            created += _execute(
                *_bind(late_sql, late_params, organization.pk, entries, where_params)
            )
            portions = where.replace("t.id", "p.ticket_id")
            created += _execute(
                *_bind(outside_sql, outside_params, organization.pk, portions, where_params)
            )
        batches += 1
    with transaction.atomic():
        created += _execute(*_allowance_sql(organization, now, None))
    batches += 1
    return SweepResult(created=created, batches=batches)
