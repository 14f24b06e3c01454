"""Excluded work is never silently unbilled: it falls back to billable at the
contract's time-and-materials rate (or the rule's rate override). So on no
day may a scope rule exclude work, without a rate override, while the
contract's terms in force that day have no hourly rate.

Both sides of that rule are checked here, over the days the new (or changed)
row is in force: a scope rule revision from its date until the rule's next
revision, a terms revision from its date until the next terms. Days outside
that span are someone else's row and were checked when that row was saved."""

import datetime
from dataclasses import dataclass

from ..models import ZERO, Contract, ContractRevision, ScopeRule, Treatment


def excludes_without_rate(rule: ScopeRule) -> bool:
    return not rule.removed and rule.treatment == Treatment.EXCLUDED and rule.rate_override is None


def _overlapping(rows: list, start: datetime.date, until: datetime.date | None) -> list:
    """Of rows sorted by ``effective_from``, those in force on some day of
    [start, until): the one in force on ``start`` and every later one before
    ``until``."""
    in_force = [row for row in rows if row.effective_from <= start][-1:]
    later = [
        row
        for row in rows
        if row.effective_from > start and (until is None or row.effective_from < until)
    ]
    return in_force + later


def first_day_without_rate(
    *,
    contract: Contract,
    start: datetime.date,
    until: datetime.date | None,
    exclude_pk: int | None = None,
) -> datetime.date | None:
    """The first day of [start, until) on which the contract's terms have no
    hourly rate (or no terms at all), else None."""
    revisions = list(
        ContractRevision.objects.filter(organization=contract.organization_id, contract=contract)
        .exclude(pk=exclude_pk)
        .order_by("effective_from")
    )
    if not [row for row in revisions if row.effective_from <= start]:
        return start
    for row in _overlapping(revisions, start, until):
        if (row.hourly_rate or ZERO) <= ZERO:
            return max(row.effective_from, start)
    return None


@dataclass(frozen=True)
class ExcludedRule:
    request_type_name: str
    on: datetime.date


def rules_excluding_without_rate(
    *,
    contract: Contract,
    start: datetime.date,
    until: datetime.date | None,
    exclude_pk: int | None = None,
) -> list[ExcludedRule]:
    """The scope rules of the contract that exclude work without a rate
    override on some day of [start, until), with the first such day."""
    by_type: dict[int, list[ScopeRule]] = {}
    rows = (
        ScopeRule.objects.filter(organization=contract.organization_id, contract=contract)
        .exclude(pk=exclude_pk)
        .select_related("request_type")
        .order_by("request_type__name", "effective_from")
    )
    for row in rows:
        by_type.setdefault(row.request_type_id, []).append(row)
    found = []
    for revisions in by_type.values():
        for row in _overlapping(revisions, start, until):
            if excludes_without_rate(row):
                found.append(ExcludedRule(row.request_type.name, max(row.effective_from, start)))
                break
    return found
