"""The ticket and entry rules of the flag sweep, as set-based SQL: the ticket
facts (the rule in force built from ``clients.rules``, thresholds from
``billing.thresholds``), SLA dues, late entries and work outside any contract."""

import datetime

from django.db import connection
from django.utils import timezone

from clients.rules import (
    APPROVAL_THRESHOLD_SQL,
    EXPECTED_MINUTES_SQL,
    contract_in_force_sql,
    scope_rule_in_force_sql,
)
from msops.display import local_date_sql, local_time_sql
from msops.sql import table
from msops.tenancy.models import Organization
from tickets.models import Ticket, TicketPause
from tickets.services.sla import SLA_RISK_SHARE

from ..models import ExceptionFlag, ScopeCheck
from ..thresholds import TICKET_THRESHOLDS
from .sql import FLAG_COLUMNS, FLAGS_ORG, ORG, adapt, bind, concat, pg, sql_list, tables

# SLA_RISK_SHARE has its one home in tickets.services.sla (the stored risk
# times); the formula below only serves tickets opened before they were stored.


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


def ticket_ctes() -> str:
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
    tb = tables()
    bits = " ".join(f"WHEN '{kind}' THEN {bit}" for kind, bit in KIND_BIT.items())
    materialized = "MATERIALIZED " if pg() else ""
    contract = contract_in_force_sql(
        organization="x0.organization_id", client="x0.client_id", contract="x0.contract_id",
        on="x0.d",
    )  # fmt: skip
    rule = scope_rule_in_force_sql(contract="x1.kid", request_type="x1.request_type_id", on="x1.d")
    return (
        f"h AS {materialized}(SELECT f.ticket_id, SUM(CASE f.kind {bits} ELSE 0 END) AS have"
        f" FROM {tb['flag']} f WHERE f.organization_id = %s AND f.ticket_id IS NOT NULL"
        f" AND f.period_key = '-' AND f.kind IN ({sql_list(TICKET_KINDS)}) {{fwhere}}"
        " GROUP BY f.ticket_id),"
        " x0 AS (SELECT t.id, t.organization_id, t.contract_id, t.client_id, t.request_type_id,"
        " t.logged_minutes, t.classification, t.status, t.opened_at, t.first_response_due,"
        " t.first_responded_at, t.resolution_due, t.resolved_at,"
        " t.first_response_risk_at, t.resolution_risk_at,"
        f" COALESCE((SELECT MAX(e.work_date) FROM {tb['entry']} e WHERE e.ticket_id = t.id"
        " AND e.organization_id = t.organization_id), %s) AS d"
        f" FROM {tb['ticket']} t WHERE t.organization_id = %s {{where}}),"
        f" x1 AS (SELECT x0.*, {contract} AS kid FROM x0),"
        # Materialized: each ticket's latest work date, contract and rule in force
        # are looked up once, not again wherever the outer query reads them.
        f" x2 AS {materialized}(SELECT x1.*, {rule} AS rid FROM x1),"
        " x AS (SELECT x2.id, x2.organization_id, x2.kid AS contract_id, x2.client_id,"
        " c.account_manager_id AS owner_id, x2.logged_minutes AS logged,"
        f" {EXPECTED_MINUTES_SQL} AS expected, {APPROVAL_THRESHOLD_SQL} AS threshold,"
        " rt.is_catch_all AS catch_all, rt.name AS type_name, x2.classification, x2.status,"
        " x2.opened_at, x2.first_response_due, x2.first_responded_at, x2.resolution_due,"
        " x2.resolved_at, x2.first_response_risk_at, x2.resolution_risk_at,"
        # Waiting on the client: the SLA clock stands still since the open
        # pause began (one open pause per ticket).
        f" (SELECT MIN(tp.started_at) FROM {table(TicketPause)} tp WHERE tp.ticket_id = x2.id"
        "  AND tp.organization_id = x2.organization_id AND tp.ended_at IS NULL) AS paused_since,"
        f" EXISTS (SELECT 1 FROM {tb['check']} sc WHERE sc.ticket_id = x2.id"
        f"  AND sc.status IN ({sql_list(ScopeCheck.APPROVED_STATUSES)})) AS approved,"
        " COALESCE(h.have, 0) AS have"
        " FROM x2"
        f" JOIN {tb['rtype']} rt ON rt.id = x2.request_type_id"
        f" JOIN {tb['client']} c ON c.id = x2.client_id"
        f" LEFT JOIN {tb['rule']} r ON r.id = x2.rid AND NOT r.removed"
        " LEFT JOIN h ON h.ticket_id = x2.id)"
    )


def due_text(column: str, organization: Organization) -> tuple[str, list]:
    """A due time as the practice reads it: to the minute, in its timezone,
    named (``msops.display.local_time`` with the zone), on both databases."""
    return local_time_sql(column, organization, with_zone=True)


def ticket_rules_sql(
    now: datetime.datetime, organization: Organization, today: datetime.date
) -> tuple[str, list]:
    """Every ticket rule in one statement: the batch's ticket facts once, one
    SELECT per kind (skipping kinds the ticket already has), one INSERT … ON
    CONFLICT DO NOTHING. Threshold flags only flag: the billing moments are
    raised by the time services when the time is logged (one place)."""
    tb = tables()
    # At risk: the stored risk time passed; rows from before risk times were
    # stored fall back to the share of the wall-clock time to the due.
    if pg():
        old_risk = "x.opened_at + (x.{due} - x.opened_at) * %s < %s"
    else:
        old_risk = "julianday(x.opened_at) + (julianday(x.{due}) - julianday(x.opened_at)) * %s < julianday(%s)"
    at_risk = f"(x.{{risk}} < %s OR (x.{{risk}} IS NULL AND {old_risk}))"
    key = concat("'ticket:'", "x.id")
    is_open = f"x.status IN ({sql_list(Ticket.OPEN_STATUSES)})"
    kinds: list[tuple[str, str | tuple[str, list], str, list]] = [
        (threshold.flag, concat(*threshold.sql_detail), threshold.sql, [])
        for threshold in TICKET_THRESHOLDS
    ]
    kinds += [
        (
            ExceptionFlag.Kind.NO_DECISION,
            concat("x.logged", "' min logged and no billing decision'"),
            "x.logged > 0 AND x.classification = ''",
            [],
        ),
        (
            ExceptionFlag.Kind.CATCH_ALL,
            concat("'Work logged under the catch-all type '", "x.type_name"),
            "x.catch_all AND x.logged > 0",
            [],
        ),
    ]
    for breached, risk, due, done, risk_at, label in (
        (ExceptionFlag.Kind.SLA_RESPONSE_BREACHED, ExceptionFlag.Kind.SLA_RESPONSE_AT_RISK,
         "first_response_due", "first_responded_at", "first_response_risk_at",
         "First response due "),
        (ExceptionFlag.Kind.SLA_RESOLUTION_BREACHED, ExceptionFlag.Kind.SLA_RESOLUTION_AT_RISK,
         "resolution_due", "resolved_at", "resolution_risk_at", "Resolution due "),
    ):  # fmt: skip
        # An open pause hides a target only if it began before the due: a
        # breach that happened before the ticket went waiting stays a breach.
        pending = (
            f"{is_open} AND x.{done} IS NULL AND x.{due} IS NOT NULL"
            f" AND (x.paused_since IS NULL OR x.paused_since >= x.{due})"
        )
        due_sql, due_params = due_text(f"x.{due}", organization)
        detail = (concat(f"'{label}'", due_sql), due_params)
        kinds.append((breached, detail, f"{pending} AND x.{due} < %s", [now]))
        kinds.append(
            (
                risk,
                detail,
                f"{pending} AND x.{due} >= %s AND {at_risk.format(due=due, risk=risk_at)}",
                [now, now, SLA_RISK_SHARE, now],
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
        f"WITH {ticket_ctes()} INSERT INTO {tb['flag']} ({FLAG_COLUMNS}) "
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
        f"WITH {ticket_ctes()} SELECT x.contract_id, x.expected, x.threshold, x.logged,"
        f" {crossed} FROM x"
    )
    sql, params = bind(sql, [FLAGS_ORG, today, ORG], organization.pk, "AND t.id = %s", [ticket_id])
    with connection.cursor() as cursor:
        cursor.execute(sql, [adapt(p) for p in params])
        contract_id, expected, threshold, logged, *flags = cursor.fetchone()
    return {
        "contract_id": contract_id,
        "expected": expected,
        "threshold": threshold,
        "logged": logged,
        "crossed": {t.flag for t, hit in zip(TICKET_THRESHOLDS, flags, strict=True) if hit},
    }


def late_entry_sql(organization: Organization, now: datetime.datetime) -> tuple[str, list]:
    """Time entered more than ``late_entry_days`` days after its work date,
    counting the day it was entered in the organization's timezone (work
    dates are local), on both databases."""
    tb = tables()
    entered_on, entered_params = local_date_sql("e.entered_at", organization)
    if pg():
        late = f"({entered_on} - e.work_date) > o.late_entry_days"
    else:
        late = f"(julianday({entered_on}) - julianday(e.work_date)) > o.late_entry_days"
    entry_key = concat("'entry:'", "e.id")
    detail = concat("'Work of '", "e.work_date", "' entered on '", entered_on)
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
    return sql, [*entered_params, now, ORG, *entered_params]


# --- work outside any contract --------------------------------------------------
def outside_contract_sql(now: datetime.datetime) -> tuple[str, list]:
    """An entry whose work date no contract covers (its portions have no
    contract): billable at the organization's default rate, and flagged."""
    tb = tables()
    key = concat("'entry:'", "p.entry_id")
    detail = concat(
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
