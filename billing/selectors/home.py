"""What each role's organization home lists beyond its counts: a developer's
open billing questions and tickets waiting on the client, an account
manager's oldest scope checks with their money and the clients near or over
their allowance, finance's blockers of the current month. A fixed number of
queries whatever the number of tickets or clients."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery, Window

from clients.models import BlockTopUp, Contract
from msops.tenancy.models import Membership, Organization
from msops.timezones import organization_today
from tickets.models import BillingMoment, Ticket
from tickets.selectors import ticket_list

from ..models import BillingPeriod, ScopeCheck
from ..pricing import month_blockers, month_bounds, price_month, time_amount
from ..thresholds import ALLOWANCE_USED_UP, ALLOWANCE_WARNING, block_balance
from .finance_pages import ContractUsageRow
from .questions import moment_question
from .scope_checks import scope_check_queue

QUESTIONS_SHOWN = 10
WAITING_SHOWN = 5
SCOPE_CHECKS_SHOWN = 3


def _count_and_first(queryset, limit: int) -> tuple[int, list]:
    """(how many, the first ``limit``) in one query: the count rides on each row."""
    rows = list(queryset.annotate(listed_total=Window(Count("pk")))[:limit])
    return (rows[0].listed_total if rows else 0), rows


# --- developer ------------------------------------------------------------------------------
def my_open_questions(
    *, membership: Membership, limit: int = QUESTIONS_SHOWN
) -> tuple[int, list[BillingMoment]]:
    """What this member's tickets ask: of each ticket assigned to them (or
    opened by them and held by nobody) that waits for a billing decision
    (``ticket_list``'s definition), its newest open moment, with its ticket
    and ``open_on_ticket`` (how many the ticket has open). Newest first: how
    many tickets, and the first ``limit``. One query."""
    organization = membership.organization
    waiting = ticket_list(
        organization=organization, with_open_moments=True, mine_or_opened=membership
    )
    open_moments = BillingMoment.objects.filter(
        organization=organization, status=BillingMoment.Status.OPEN
    )
    # The newest open moment of each ticket: none newer on the same ticket
    # (portable: SQLite, the embedded default, has no DISTINCT ON).
    newer = open_moments.filter(ticket=OuterRef("ticket")).filter(
        Q(created_at__gt=OuterRef("created_at"))
        | Q(created_at=OuterRef("created_at"), pk__gt=OuterRef("pk"))
    )
    on_ticket = (
        open_moments.filter(ticket=OuterRef("ticket"))
        .order_by()
        .values("ticket")
        .annotate(n=Count("pk"))
        .values("n")
    )
    questions = (
        open_moments.filter(ticket__in=waiting.values("pk"))
        .exclude(Exists(newer))
        .select_related("ticket__client", "ticket__request_type")
        .annotate(open_on_ticket=Subquery(on_ticket, output_field=IntegerField()))
        .order_by("-created_at", "-pk")
    )
    count, first = _count_and_first(questions, limit)
    for moment in first:
        moment.question = moment_question(moment, moment.ticket)
    return count, first


def my_tickets_waiting_on_client(
    *, membership: Membership, limit: int = WAITING_SHOWN
) -> tuple[int, list[Ticket]]:
    """Tickets assigned to this member that wait on the client, longest
    waiting (oldest opened) first: how many, and the first ``limit``."""
    tickets = ticket_list(
        organization=membership.organization,
        assignee=membership,
        status=Ticket.Status.WAITING,
        ordering="opened_at",
    )
    return _count_and_first(tickets, limit)


# --- account manager ------------------------------------------------------------------------
@dataclass
class ScopeCheckRow:
    """An open scope check with the ticket's time so far and what that time
    comes to at the rate in force when approval was asked (``ScopeCheck.rate``;
    None: no rate to price it at)."""

    check: ScopeCheck
    logged_minutes: int
    rate: Decimal | None
    currency: str

    @property
    def amount(self) -> Decimal | None:
        return None if self.rate is None else time_amount(self.logged_minutes, self.rate)


def scope_checks_waiting(
    *, membership: Membership, limit: int = SCOPE_CHECKS_SHOWN
) -> list[ScopeCheckRow]:
    """The oldest ``limit`` scope checks of this member's queue
    (``scope_check_queue``) with the ticket's time so far: one query."""
    checks = scope_check_queue(membership=membership)[:limit]
    return [
        ScopeCheckRow(
            check=check,
            logged_minutes=check.ticket.logged_minutes,
            rate=check.rate,
            currency=check.currency,
        )
        for check in checks
    ]


@dataclass
class AllowanceAlert:
    """A contract near (the organization's warning percent) or over its allowance."""

    row: ContractUsageRow
    percent: int
    over: bool  # used up (100 %) or beyond

    @property
    def contract(self):
        return self.row.contract

    @property
    def usage(self):
        return self.row.usage


def allowance_alerts(
    *, organization: Organization, rows: list[ContractUsageRow]
) -> list[AllowanceAlert]:
    """Of ``rows`` (``finance_pages.my_clients_usage``), the contracts whose
    allowance is used to the warning percent or beyond, measured as the
    allowance alerts measure it (``billing.thresholds``): all work on the
    contract counts, decided or not; a retainer against its period's minutes,
    a block against every top-up added so far (``block_balance``). Most used
    first. One query (the blocks' top-ups), none without a block."""
    warning = ALLOWANCE_WARNING.percent(organization)
    used_up = ALLOWANCE_USED_UP.percent(organization)
    today = organization_today(organization)
    blocks = [row.contract.pk for row in rows if row.contract.kind == Contract.Kind.BLOCK]
    top_ups: dict[int, list[tuple[datetime.date, int]]] = {}
    if blocks:
        for contract_id, added_on, minutes in BlockTopUp.objects.filter(
            organization=organization, contract__in=blocks
        ).values_list("contract_id", "added_on", "minutes"):
            top_ups.setdefault(contract_id, []).append((added_on, minutes))
    alerts = []
    for row in rows:
        usage = row.usage
        waiting = usage.pending_minutes + usage.undecided_minutes
        if row.contract.kind == Contract.Kind.BLOCK:
            balance = block_balance(top_ups.get(row.contract.pk, []), today=today)
            total = balance.included if balance else 0
            used = total - (usage.balance or 0) + usage.overage + waiting
        else:
            total = usage.allowance or 0  # time and materials: no allowance
            used = usage.used + waiting
        if not total:
            continue
        percent = min(999, used * 100 // total)  # floored: ``percent >= p`` is the thresholds' rule
        if percent >= min(warning, used_up):
            alerts.append(AllowanceAlert(row=row, percent=percent, over=percent >= used_up))
    return sorted(alerts, key=lambda a: (-a.percent, a.contract.client.name, a.contract.pk))


# --- finance --------------------------------------------------------------------------------
@dataclass(frozen=True)
class CurrentPeriod:
    """The current month as finance closes it: what still blocks it."""

    month: datetime.date  # its first day
    last_day: datetime.date
    today: datetime.date
    blockers: int  # exceptions that block locking, over every client not closed yet
    clients_blocked: int

    @property
    def days_left(self) -> int:
        """Days from today to the month's last day (0: today is the last day)."""
        return (self.last_day - self.today).days


def current_period_blockers(
    *, organization: Organization, today: datetime.date | None = None
) -> CurrentPeriod:
    """The blocking exceptions of the current month (in the organization's
    timezone) as the finance month page counts them: ``pricing.month_blockers``
    of every client whose period is not locked or exported."""
    today = today or organization_today(organization)
    month, next_month = month_bounds(today)
    last_day = next_month - datetime.timedelta(days=1)
    charges = price_month(organization=organization, month=month)
    closed = set(
        BillingPeriod.objects.filter(
            organization=organization, month=month, status__in=BillingPeriod.CLOSED_STATUSES
        ).values_list("client_id", flat=True)
    )
    blockers = month_blockers(
        organization_id=organization.pk,
        month=month,
        charges={cid: ch for cid, ch in charges.items() if cid not in closed},
    )
    return CurrentPeriod(
        month=month,
        last_day=last_day,
        today=today,
        blockers=sum(len(b) for b in blockers.values()),
        clients_blocked=sum(1 for b in blockers.values() if b),
    )
