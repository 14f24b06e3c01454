"""Each threshold a ticket or contract can pass, written once: its Python
check, its set-based SQL and its message together. The time services raise
billing moments with the Python check; the flag sweep finds the same cases in
SQL; ``tests/billing/test_rule_agreement.py`` shows both agree.

The SQL conditions read the ticket facts of ``billing.flags`` (``x.logged``,
``x.expected``, ``x.threshold``, ``x.approved``), which come from the rule in
force built by ``clients.rules``.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from clients.models import BlockTopUp, Contract
from clients.rules import AppliedRule
from msops.sql import concat, table
from tickets.models import BillingMoment, TimeEntry

from .models import ExceptionFlag


@dataclass(frozen=True)
class TicketThreshold:
    flag: str
    moment: str
    sql: str
    sql_detail: tuple[str, ...]  # parts for SQL concatenation

    def crossed(self, *, logged: int, rule: AppliedRule, approved: bool) -> bool:
        if self.flag == ExceptionFlag.Kind.OVER_EXPECTED:
            return bool(rule.expected_minutes) and logged > rule.expected_minutes
        threshold = rule.approval_threshold_minutes
        return threshold is not None and logged > threshold and not approved

    def detail(self, *, logged: int, rule: AppliedRule) -> str:
        if self.flag == ExceptionFlag.Kind.OVER_EXPECTED:
            return f"Logged {logged} min; expected about {rule.expected_minutes} min"
        return (
            f"Logged {logged} min; approval needed past "
            f"{rule.approval_threshold_minutes} min and none given"
        )


OVER_EXPECTED = TicketThreshold(
    flag=ExceptionFlag.Kind.OVER_EXPECTED,
    moment=BillingMoment.Kind.EXPECTED_TIME_PASSED,
    sql="x.expected > 0 AND x.logged > x.expected",
    sql_detail=("'Logged '", "x.logged", "' min; expected about '", "x.expected", "' min'"),
)
OVER_APPROVAL = TicketThreshold(
    flag=ExceptionFlag.Kind.OVER_APPROVAL,
    moment=BillingMoment.Kind.APPROVAL_THRESHOLD_PASSED,
    sql="x.threshold IS NOT NULL AND x.logged > x.threshold AND NOT x.approved",
    sql_detail=(
        "'Logged '", "x.logged", "' min; approval needed past '", "x.threshold",
        "' min and none given'",
    ),
)  # fmt: skip
TICKET_THRESHOLDS = (OVER_EXPECTED, OVER_APPROVAL)


# --- allowances -------------------------------------------------------------------
# Work that counts against a retainer's allowance or a block's balance: all
# work on the contract, decided or not — except what is billed on top
# (billable) or written off (drawn from no allowance).
ALLOWANCE_STATUSES = (
    TimeEntry.BillingStatus.UNDECIDED,
    TimeEntry.BillingStatus.PENDING_APPROVAL,
    TimeEntry.BillingStatus.UNCLEAR,
    TimeEntry.BillingStatus.INCLUDED,
)
ALLOWANCE_KINDS = (Contract.Kind.RETAINER, Contract.Kind.BLOCK)


def allowance_crossed(*, used: int, allowance: int, percent: int) -> bool:
    """An allowance alert's condition: ``percent`` % of it used."""
    return allowance > 0 and used * 100 >= allowance * percent


def allowance_crossed_sql(*, used: str, allowance: str, percent: str) -> str:
    """:func:`allowance_crossed` over SQL expressions."""
    return f"{allowance} > 0 AND {used} * 100 >= {allowance} * {percent}"


@dataclass(frozen=True)
class AllowanceThreshold:
    flag: str
    percent_setting: str | None  # the organization's setting, or None for 100 %

    def percent(self, organization) -> int:
        return getattr(organization, self.percent_setting) if self.percent_setting else 100

    def crossed(self, *, used: int, allowance: int, organization) -> bool:
        return allowance_crossed(used=used, allowance=allowance, percent=self.percent(organization))


ALLOWANCE_WARNING = AllowanceThreshold(ExceptionFlag.Kind.CONTRACT_80, "contract_warning_percent")
ALLOWANCE_USED_UP = AllowanceThreshold(ExceptionFlag.Kind.CONTRACT_100, None)
ALLOWANCE_THRESHOLDS = (ALLOWANCE_WARNING, ALLOWANCE_USED_UP)


def period_bounds(today: datetime.date) -> dict[str, tuple[datetime.date, datetime.date, str]]:
    """Per contract period: (first day, first day after, key) of the period
    holding ``today``."""
    month_start = today.replace(day=1)
    next_month = (month_start + datetime.timedelta(days=32)).replace(day=1)
    q = (today.month - 1) // 3
    quarter_start = datetime.date(today.year, q * 3 + 1, 1)
    quarter_end = (
        datetime.date(today.year + 1, 1, 1) if q == 3 else datetime.date(today.year, q * 3 + 4, 1)
    )
    return {
        Contract.Period.MONTHLY: (month_start, next_month, f"{today:%Y-%m}"),
        Contract.Period.QUARTERLY: (quarter_start, quarter_end, f"{today.year}-Q{q + 1}"),
        Contract.Period.ANNUAL: (
            datetime.date(today.year, 1, 1),
            datetime.date(today.year + 1, 1, 1),
            f"{today.year}",
        ),
    }


def block_balance_key(added_on: datetime.date) -> str:
    """A block's alerts fire once per balance: a top-up starts a new balance
    (the key names the day of the latest top-up)."""
    return f"from-{added_on:%Y-%m-%d}"


def block_balance_key_sql(added_on: str) -> str:
    """:func:`block_balance_key` over an SQL date expression."""
    return concat("'from-'", added_on)


@dataclass(frozen=True)
class BlockBalance:
    included: int  # minutes of every top-up added so far
    key: str  # the alerts' period: the latest top-up's


def block_balance(
    top_ups: Iterable[tuple[datetime.date, int]], *, today: datetime.date
) -> BlockBalance | None:
    """What a block's allowance alerts measure its work against, from its
    top-ups as ``(added_on, minutes)``: the minutes of every top-up added on
    or before ``today``, carried over from top-up to top-up, and the balance
    key of the latest of them. Expiry is ignored here (an alert about time
    that expired unused would come too late to help); invoicing applies it.
    No top-up yet: no balance, and no alert."""
    added = [(added_on, minutes) for added_on, minutes in top_ups if added_on <= today]
    if not added:
        return None
    return BlockBalance(
        included=sum(minutes for _, minutes in added),
        key=block_balance_key(max(added_on for added_on, _ in added)),
    )


def block_balance_sql(*, organization: str, on: str) -> str:
    """:func:`block_balance` for every block of the organization, as a query
    with the columns ``contract_id``, ``included`` and ``latest`` (the day of
    the latest top-up, for :func:`block_balance_key_sql`). Blocks without a
    top-up on or before ``on`` have no row."""
    return (
        "SELECT b.contract_id, SUM(b.minutes) AS included, MAX(b.added_on) AS latest"  # noqa: S608 - the table from the model, expressions from the caller
        f" FROM {table(BlockTopUp)} b WHERE b.organization_id = {organization}"
        f" AND b.added_on <= {on} GROUP BY b.contract_id"
    )
