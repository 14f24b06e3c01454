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
from msops.tenancy.models import Organization
from tickets.models import BillingMoment, Ticket, TimeEntry

from .models import ExceptionFlag, ScopeCheck

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
    "moment": lambda: _t(BillingMoment),
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
# The billing moment a threshold flag opens with it.
THRESHOLD_MOMENTS = {
    ExceptionFlag.Kind.OVER_EXPECTED: (
        BillingMoment.Kind.EXPECTED_TIME_PASSED,
        "Logged time passed the expected time.",
    ),
    ExceptionFlag.Kind.OVER_APPROVAL: (
        BillingMoment.Kind.APPROVAL_THRESHOLD_PASSED,
        "Logged time passed the approval threshold.",
    ),
}


def _ticket_ctes(moments: bool = False) -> str:
    """Two CTEs over the batch's tickets (``{where}`` restricts ``t``,
    ``{fwhere}`` the same tickets' flags ``f``):

    - ``h``: per ticket, the bits of the ticket flags it already has, read
      once from the organization's flags (materialized, so a poor row
      estimate can never make it run once per ticket);
    - ``x``: one row per ticket with what every ticket rule looks at, and
      ``have`` from ``h``, so a re-run skips what is flagged already instead
      of building rows only for the unique constraint to drop them.

    The flags' organization id comes first, the tickets' second."""
    tb = _tables()
    moment_columns = (
        "".join(
            f", EXISTS (SELECT 1 FROM {tb['moment']} m WHERE m.ticket_id = t.id"
            f" AND m.kind = '{kind}') AS had_{kind}"
            for kind in (
                BillingMoment.Kind.EXPECTED_TIME_PASSED,
                BillingMoment.Kind.APPROVAL_THRESHOLD_PASSED,
            )
        )
        if moments
        else ""
    )
    bits = " ".join(f"WHEN '{kind}' THEN {bit}" for kind, bit in KIND_BIT.items())
    kinds = ", ".join(f"'{kind}'" for kind in TICKET_KINDS)
    materialized = "MATERIALIZED " if _pg() else ""
    return (
        f"h AS {materialized}(SELECT f.ticket_id, SUM(CASE f.kind {bits} ELSE 0 END) AS have"
        f" FROM {tb['flag']} f WHERE f.organization_id = %s AND f.ticket_id IS NOT NULL"
        f" AND f.period_key = '-' AND f.kind IN ({kinds}) {{fwhere}} GROUP BY f.ticket_id),"
        " x AS (SELECT t.id, t.organization_id, t.contract_id, t.client_id,"
        " c.account_manager_id AS owner_id, t.logged_minutes AS logged,"
        " COALESCE(r.expected_minutes, rt.expected_minutes) AS expected,"
        " r.approval_threshold_minutes AS threshold, rt.is_catch_all AS catch_all,"
        " rt.name AS type_name, t.classification, t.status, t.opened_at,"
        " t.first_response_due, t.first_responded_at, t.resolution_due, t.resolved_at,"
        f" EXISTS (SELECT 1 FROM {tb['check']} sc WHERE sc.ticket_id = t.id"
        "  AND sc.status IN ('approved', 'client_approved')) AS approved,"
        " COALESCE(h.have, 0) AS have"
        f"{moment_columns}"
        f" FROM {tb['ticket']} t"
        f" JOIN {tb['rtype']} rt ON rt.id = t.request_type_id"
        " AND rt.organization_id = t.organization_id"
        f" JOIN {tb['client']} c ON c.id = t.client_id AND c.organization_id = t.organization_id"
        f" LEFT JOIN {tb['rule']} r ON r.contract_id = t.contract_id"
        " AND r.request_type_id = t.request_type_id AND r.organization_id = t.organization_id"
        " LEFT JOIN h ON h.ticket_id = t.id"
        " WHERE t.organization_id = %s {where})"
    )


def _due_text(column: str) -> str:
    """A due time as the practice reads it: minutes, in its timezone (the
    parameter), named. SQLite has no time zones: UTC, named so."""
    if _pg():
        return _concat(
            f"to_char({column} AT TIME ZONE %s, 'YYYY-MM-DD HH24:MI')", "' ('", "%s", "')'"
        )
    return _concat(f"strftime('%%Y-%%m-%%d %%H:%%M', {column})", "' (UTC)'")


def _ticket_rules(now: datetime.datetime, tz: str) -> tuple[str, list]:
    """Every ticket rule in one statement: the batch's ticket facts once, one
    SELECT per kind (skipping kinds the ticket already has), one INSERT … ON
    CONFLICT DO NOTHING. On PostgreSQL the same statement opens the billing
    moment of each new threshold flag (once per ticket and kind, ever) and
    answers the number of new flags."""
    tb = _tables()
    if _pg():
        at_risk = "x.opened_at + (x.{due} - x.opened_at) * %s < %s"
    else:
        at_risk = "julianday(x.opened_at) + (julianday(x.{due}) - julianday(x.opened_at)) * %s < julianday(%s)"
    key = _concat("'ticket:'", "x.id")
    is_open = "x.status IN ('new', 'in_progress', 'waiting')"
    kinds: list[tuple[str, str | tuple[str, list], str, list]] = [
        (
            ExceptionFlag.Kind.OVER_EXPECTED,
            _concat("'Logged '", "x.logged", "' min; expected about '", "x.expected", "' min'"),
            "x.logged > x.expected",
            [],
        ),
        (
            ExceptionFlag.Kind.OVER_APPROVAL,
            _concat(
                "'Logged '", "x.logged", "' min; approval needed past '", "x.threshold",
                "' min and none given'",
            ),
            "x.threshold IS NOT NULL AND x.logged > x.threshold AND NOT x.approved",
            [],
        ),
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
    ]  # fmt: skip
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
    selects, params = [], [FLAGS_ORG, ORG]
    for kind, detail, condition, condition_params in kinds:
        detail, detail_params = detail if isinstance(detail, tuple) else (detail, [])
        selects.append(
            f"SELECT x.organization_id, '{kind}', {key}, '-', x.id, x.contract_id, x.client_id,"
            f" {detail}, 'open', x.owner_id, %s, '' FROM x"
            f" WHERE (x.have & {KIND_BIT[kind]}) = 0 AND {condition}"
        )
        params += [*detail_params, now, *condition_params]
    insert = (
        f"INSERT INTO {tb['flag']} ({FLAG_COLUMNS}) "
        + " UNION ALL ".join(selects)
        + " ON CONFLICT (organization_id, kind, subject_key, period_key) DO NOTHING"
    )
    if not _pg():
        return f"WITH {_ticket_ctes()} {insert}", params
    moment_kind = " ".join(
        f"WHEN '{flag}' THEN '{moment}'" for flag, (moment, _) in THRESHOLD_MOMENTS.items()
    )
    moment_detail = " ".join(
        f"WHEN '{flag}' THEN '{detail}'" for flag, (_, detail) in THRESHOLD_MOMENTS.items()
    )
    thresholds = ", ".join(f"'{flag}'" for flag in THRESHOLD_MOMENTS)
    sql = (
        f"WITH {_ticket_ctes()},"
        f" new AS ({insert} RETURNING organization_id, ticket_id, kind),"
        f" opened AS (INSERT INTO {tb['moment']}"
        " (organization_id, ticket_id, kind, status, detail, created_at)"
        f" SELECT n.organization_id, n.ticket_id, CASE n.kind {moment_kind} END, 'open',"
        f" CASE n.kind {moment_detail} END, %s FROM new n WHERE n.kind IN ({thresholds})"
        f" AND NOT EXISTS (SELECT 1 FROM {tb['moment']} m WHERE m.organization_id = n.organization_id"
        f" AND m.ticket_id = n.ticket_id AND m.kind = CASE n.kind {moment_kind} END)"
        " ON CONFLICT DO NOTHING RETURNING 1)"
        " SELECT (SELECT COUNT(*) FROM new), (SELECT COUNT(*) FROM opened)"
    )
    return sql, [*params, now]


def _moment_rules(now: datetime.datetime) -> tuple[str, list]:
    """(SQLite) Thresholds are billing moments too: open them where the flag
    holds and no moment of that kind was ever raised on the ticket."""
    tb = _tables()
    selects, params = [], [FLAGS_ORG, ORG]
    for kind, condition, detail in (
        (BillingMoment.Kind.EXPECTED_TIME_PASSED, "x.logged > x.expected",
         "Logged time passed the expected time."),
        (BillingMoment.Kind.APPROVAL_THRESHOLD_PASSED,
         "x.threshold IS NOT NULL AND x.logged > x.threshold AND NOT x.approved",
         "Logged time passed the approval threshold."),
    ):  # fmt: skip
        selects.append(
            f"SELECT x.organization_id, x.id, '{kind}', 'open', '{detail}', %s FROM x"
            f" WHERE {condition} AND NOT x.had_{kind}"
        )
        params.append(now)
    sql = (
        f"WITH {_ticket_ctes(moments=True)}"
        f" INSERT INTO {tb['moment']} (organization_id, ticket_id, kind, status, detail, created_at) "
        + " UNION ALL ".join(selects)
        + " ON CONFLICT DO NOTHING"
    )
    return sql, params


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


# --- contract usage -------------------------------------------------------------
def _period_bounds(today: datetime.date) -> dict[str, tuple[datetime.date, datetime.date, str]]:
    month_start = today.replace(day=1)
    next_month = (month_start + datetime.timedelta(days=32)).replace(day=1)
    q = (today.month - 1) // 3
    quarter_start = datetime.date(today.year, q * 3 + 1, 1)
    quarter_end = (
        datetime.date(today.year + 1, 1, 1) if q == 3 else datetime.date(today.year, q * 3 + 4, 1)
    )
    return {
        "monthly": (month_start, next_month, f"{today:%Y-%m}"),
        "quarterly": (quarter_start, quarter_end, f"{today.year}-Q{q + 1}"),
        "annual": (
            datetime.date(today.year, 1, 1),
            datetime.date(today.year + 1, 1, 1),
            f"{today.year}",
        ),
    }


def _contract_sql(
    organization: Organization, now: datetime.datetime, contract_id: int | None
) -> tuple[str, list]:
    """Contract hours at the warning share and at 100 %, in one statement.
    Retainer: included minutes of the current period (by the contract's
    period, in the organization's timezone); block: prepaid minutes over the
    contract's life. Counts time classified as included.

    The organization's contracts in force (``k``) and their tickets (``tk``)
    are small and read once; the included time is then one pass over the
    organization's entries, whatever the row estimates say."""
    tb = _tables()
    today = timezone.localtime(now, organization.tzinfo).date()
    bounds = _period_bounds(today)
    materialized = "MATERIALIZED " if _pg() else ""
    period_key = " ".join(f"WHEN '{period}' THEN '{key}'" for period, (_, _, key) in bounds.items())
    since = " ".join(f"WHEN '{period}' THEN %s" for period in bounds)
    until = " ".join(f"WHEN '{period}' THEN %s" for period in bounds)
    window_params = [start for start, _, _ in bounds.values()] + [
        end for _, end, _ in bounds.values()
    ]
    included = (
        f"(SELECT rv.included_minutes FROM {tb['revision']} rv WHERE rv.contract_id = k.id"
        " AND rv.effective_from <= %s ORDER BY rv.effective_from DESC LIMIT 1)"
    )
    only = " AND k.id = %s" if contract_id else ""
    key = _concat("'contract:'", "u.id")
    detail = _concat(
        "'Included hours at '", "v.pct", "' %%: '", "u.used", "' of '", "u.included", "' min used'"
    ) + (
        # A block of hours also says what is left of it.
        " || CASE WHEN u.kind = 'block' THEN ', ' || CAST(CASE WHEN u.included > u.used"
        " THEN u.included - u.used ELSE 0 END AS TEXT) || ' min left' ELSE '' END"
    )
    sql = (
        f"WITH k AS {materialized}(SELECT k.id, k.organization_id, k.client_id, k.kind,"
        f" CASE WHEN k.kind = 'retainer' THEN CASE k.period {period_key} END ELSE '-' END AS period_key,"
        f" CASE k.period {since} END AS since, CASE k.period {until} END AS until,"
        f" {included} AS included"
        f" FROM {tb['contract']} k WHERE k.organization_id = %s AND k.kind IN ('retainer', 'block')"
        f" AND k.starts_on <= %s AND (k.ends_on IS NULL OR k.ends_on >= %s){only}),"
        f" tk AS {materialized}(SELECT t.id, t.contract_id FROM {tb['ticket']} t"
        " JOIN k ON k.id = t.contract_id WHERE t.organization_id = %s),"
        " u AS (SELECT k.id, k.organization_id, k.client_id, k.kind, k.period_key, k.included,"
        " SUM(e.minutes) AS used"
        f" FROM {tb['entry']} e JOIN tk ON tk.id = e.ticket_id JOIN k ON k.id = tk.contract_id"
        " WHERE e.organization_id = %s AND e.billing_status = 'included'"
        " AND (k.kind = 'block' OR (e.work_date >= k.since AND e.work_date < k.until))"
        " GROUP BY k.id, k.organization_id, k.client_id, k.kind, k.period_key, k.included)"
        f" INSERT INTO {tb['flag']} ({FLAG_COLUMNS})"
        f" SELECT u.organization_id, v.kind, {key}, u.period_key, NULL, u.id, u.client_id, {detail},"
        " 'open', c.account_manager_id, %s, ''"
        f" FROM u JOIN {tb['client']} c ON c.id = u.client_id"
        " CROSS JOIN (SELECT %s AS kind, %s AS pct UNION ALL SELECT %s, %s) v"
        " WHERE u.included > 0 AND u.used * 100 >= u.included * v.pct"
        " ON CONFLICT (organization_id, kind, subject_key, period_key) DO NOTHING"
    )
    params = [*window_params, today, organization.pk, today, today]
    params += [contract_id] if contract_id else []
    params += [organization.pk, organization.pk, now]
    params += [
        ExceptionFlag.Kind.CONTRACT_80, organization.contract_warning_percent,
        ExceptionFlag.Kind.CONTRACT_100, 100,
    ]  # fmt: skip
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
        return max(cursor.rowcount, 0)


def _bind(sql: str, params: list, organization_id: int, where: str, where_params: list):
    """Put the batch restriction and its parameters in: ``{where}`` on the
    tickets ``t`` or the entries ``e``, ``{fwhere}`` the same tickets' flags."""
    bound = []
    for p in params:
        if p is ORG or p is FLAGS_ORG:
            bound += [organization_id, *where_params]
        else:
            bound.append(p)
    fwhere = where.replace("t.id", "f.ticket_id")
    return sql.replace("{fwhere}", fwhere).replace("{where}", where), bound


def _ticket_batch(organization: Organization, now, where: str, where_params: list) -> int:
    """The ticket rules (and the threshold moments) over one batch; returns
    the number of new flags."""
    sql, params = _bind(
        *_ticket_rules(now, organization.timezone), organization.pk, where, where_params
    )
    if _pg():
        with connection.cursor() as cursor:
            cursor.execute(sql, [_adapt(p) for p in params])
            return cursor.fetchone()[0]
    created = _execute(sql, params)
    _execute(*_bind(*_moment_rules(now), organization.pk, where, where_params))
    return created


def flags_check_ticket(*, organization: Organization, ticket_id: int) -> int:
    """Check one ticket at once (after its time or state changed). Returns
    the number of new flags."""
    now = timezone.now()
    ticket = (
        Ticket.objects.filter(organization=organization, pk=ticket_id).only("contract_id").first()
    )
    if ticket is None:
        return 0
    with transaction.atomic():
        created = _ticket_batch(organization, now, "AND t.id = %s", [ticket_id])
        sql, params = _late_entry_sql(now)
        created += _execute(
            *_bind(sql, params, organization.pk, "AND e.ticket_id = %s", [ticket_id])
        )
        if ticket.contract_id:
            created += _execute(*_contract_sql(organization, now, ticket.contract_id))
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
    for where, where_params in _keyset_batches(Ticket, "t", organization, batch):
        with transaction.atomic():
            created += _ticket_batch(organization, now, where, where_params)
            entries = where.replace("t.id", "e.ticket_id")
            created += _execute(
                *_bind(late_sql, late_params, organization.pk, entries, where_params)
            )
        batches += 1
    with transaction.atomic():
        created += _execute(*_contract_sql(organization, now, None))
    batches += 1
    return SweepResult(created=created, batches=batches)
