"""Allowance alerts of the flag sweep, as set-based SQL."""

import datetime

from django.utils import timezone

from clients.rules import covers_sql, terms_in_force_sql
from msops.tenancy.models import Organization

from ..thresholds import (
    ALLOWANCE_KINDS,
    ALLOWANCE_STATUSES,
    ALLOWANCE_THRESHOLDS,
    allowance_crossed_sql,
    block_balance_key_sql,
    block_balance_sql,
    period_bounds,
)
from .sql import FLAG_COLUMNS, concat, pg, sql_list, tables


# --- allowances ---------------------------------------------------------------------
def allowance_sql(
    organization: Organization, now: datetime.datetime, contract_ids: list[int] | None
) -> tuple[str, list]:
    """Allowance alerts (the organization's warning share, and 100 %) in one
    statement. A retainer counts the work of the current period (by the
    contract's period, in the organization's timezone) against the included
    minutes of the terms in force, once per period; a block counts all its
    work against the minutes of all its top-ups added by today
    (``thresholds.block_balance``: expiry is ignored, and a block without a
    top-up raises nothing), once per balance (a top-up starts a new one). All
    work on the contract counts, decided or not
    (``thresholds.ALLOWANCE_STATUSES``), by the contract in force on each work
    date."""
    tb = tables()
    today = timezone.localtime(now, organization.tzinfo).date()
    bounds = period_bounds(today)
    materialized = "MATERIALIZED " if pg() else ""
    period_key = " ".join(f"WHEN '{period}' THEN '{key}'" for period, (_, _, key) in bounds.items())
    since = " ".join(f"WHEN '{period}' THEN %s" for period in bounds)
    until = " ".join(f"WHEN '{period}' THEN %s" for period in bounds)
    window_params = [start for start, _, _ in bounds.values()] + [
        end for _, end, _ in bounds.values()
    ]
    only = f" AND k.id IN ({', '.join(['%s'] * len(contract_ids))})" if contract_ids else ""
    key = concat("'contract:'", "u.id")
    detail = concat(
        "'Allowance at '", "v.pct", "' %%: '", "u.used", "' of '", "u.included", "' min used'"
    ) + (
        # A block of hours also says what is left of it.
        " || CASE WHEN u.kind = 'block' THEN ', ' || CAST(CASE WHEN u.included > u.used"
        " THEN u.included - u.used ELSE 0 END AS TEXT) || ' min left' ELSE '' END"
    )
    thresholds = " UNION ALL ".join("SELECT %s AS kind, %s AS pct" for _ in ALLOWANCE_THRESHOLDS)
    balance_key = block_balance_key_sql("b.latest")
    sql = (
        f"WITH b AS ({block_balance_sql(organization='%s', on='%s')}),"
        f" k AS {materialized}(SELECT k.id, k.organization_id, k.client_id, k.kind,"
        f" CASE WHEN k.kind = 'retainer' THEN CASE k.period {period_key} END"
        f" ELSE {balance_key} END AS period_key,"
        f" CASE k.period {since} END AS since, CASE k.period {until} END AS until,"
        " CASE WHEN k.kind = 'block' THEN b.included ELSE rv.included_minutes END AS included"
        f" FROM {tb['contract']} k"
        f" JOIN {tb['revision']} rv ON rv.id = {terms_in_force_sql(contract='k.id', on='%s')}"
        " LEFT JOIN b ON b.contract_id = k.id"
        f" WHERE k.organization_id = %s AND k.kind IN ({sql_list(ALLOWANCE_KINDS)})"
        f" AND {covers_sql('k', '%s')}{only}),"
        " u AS (SELECT k.id, k.organization_id, k.client_id, k.kind, k.period_key, k.included,"
        " SUM(p.minutes) AS used"
        f" FROM {tb['portion']} p JOIN k ON k.id = p.contract_id"
        f" WHERE p.organization_id = %s AND p.status IN ({sql_list(ALLOWANCE_STATUSES)})"
        " AND (k.kind = 'block' OR (p.work_date >= k.since AND p.work_date < k.until))"
        " GROUP BY k.id, k.organization_id, k.client_id, k.kind, k.period_key, k.included)"
        f" INSERT INTO {tb['flag']} ({FLAG_COLUMNS})"
        f" SELECT u.organization_id, v.kind, {key}, u.period_key, NULL, u.id, u.client_id, {detail},"
        " 'open', c.account_manager_id, %s, ''"
        f" FROM u JOIN {tb['client']} c ON c.id = u.client_id CROSS JOIN ({thresholds}) v"
        f" WHERE {allowance_crossed_sql(used='u.used', allowance='u.included', percent='v.pct')}"
        " ON CONFLICT (organization_id, kind, subject_key, period_key) DO NOTHING"
    )
    params = [organization.pk, today, *window_params, today, organization.pk, today, today]
    params += contract_ids or []
    params += [organization.pk, now]
    for threshold in ALLOWANCE_THRESHOLDS:
        params += [threshold.flag, threshold.percent(organization)]
    return sql, params
