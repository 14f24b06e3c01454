"""The client brief: one page per client for the next person.

Writes (services): :func:`client_brief_update` — writing the summary is
reviewing it — and :func:`client_brief_mark_reviewed`. Reads (selectors):
:func:`client_brief_list` for the API and :func:`client_brief_page`, which
assembles every section from live data with a fixed number of queries.

The billing treatment of a recurring task and the billing rules are the scope
rules in force today (:mod:`clients.rules` and the set-based
:func:`clients.selectors.scope_rules_in_force_on`), in the same plain words
the client page uses. Repeating patterns are request types that keep coming
back and tickets reopened: a ticket counts its reopens (``reopen_count``) and
keeps when it was last reopened (``last_reopened_at``, set by
:func:`tickets.services.ticket_update`), so the brief lists the tickets last
reopened within ``RECENT_DAYS`` — one query, newest first.
"""

import datetime
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from billing.models import DecisionLogEntry, ExceptionFlag, ScopeCheck
from billing.selectors.decisions import decision_log_list
from billing.selectors.flags import flag_list
from billing.selectors.scope_checks import scope_check_list
from clients.models import Client, Contract, ContractRevision
from clients.rules import contract_in_force, contract_terms_on
from clients.selectors import (
    request_type_default_in_plain_words,
    request_type_list,
    scope_rule_in_plain_words,
    scope_rule_list,
    scope_rules_in_force_on,
)
from msops.display import member_name
from msops.tenancy.models import Membership, Organization
from msops.timezones import organization_today
from tickets.models import Ticket
from tickets.selectors import ticket_list

from .models import ClientBrief, RecurringTask, Risk
from .selectors import recurring_task_list, risk_list

SUMMARY_MAX = 10_000
# The clients that need a current brief: every client not ended (offboarding
# too: its account still changes hands). The review's stale-brief items and
# the transition health page read the same set.
BRIEFED_CLIENT_STATUSES = tuple(
    status for status in Client.Status.values if status != Client.Status.ENDED
)
RECENT_DAYS = 90  # the window of recent decisions and repeating patterns
RECENT_DECISIONS_MAX = 20
RECENT_REOPENED_MAX = 20
REPEATING_MIN_TICKETS = 3


# --- staleness ------------------------------------------------------------------
def client_brief_is_stale(*, brief: ClientBrief | None, today: datetime.date) -> bool:
    """Never reviewed, or last reviewed more than ``STALE_AFTER_DAYS`` days
    before ``today`` (days in the organization's timezone): reviewed exactly
    30 days ago is still current."""
    if brief is None or brief.reviewed_at is None:
        return True
    reviewed_on = timezone.localtime(brief.reviewed_at, brief.organization.tzinfo).date()
    return (today - reviewed_on).days > ClientBrief.STALE_AFTER_DAYS


# --- services -------------------------------------------------------------------
def _check_reviewer(by, organization_id: int) -> None:
    if not isinstance(by, Membership) or by.organization_id != organization_id:
        raise ValidationError({"reviewed_by": "Choose a member of this organization."})


@transaction.atomic
def client_brief_update(*, client: Client, summary: str, by: Membership) -> ClientBrief:
    """Write the client's summary (the brief is created on its first write).
    Writing it is reviewing it: ``reviewed_by``/``reviewed_at`` become ``by``
    and now."""
    _check_reviewer(by, client.organization_id)
    if not isinstance(summary, str) or not summary.strip():
        raise ValidationError(
            {"summary": "Write the current state: environment, preferences, escalation rules."}
        )
    summary = summary.strip()
    if len(summary) > SUMMARY_MAX:
        raise ValidationError({"summary": f"Keep the summary within {SUMMARY_MAX} characters."})
    brief = (
        ClientBrief.objects.select_for_update()
        .filter(organization=client.organization_id, client=client)
        .first()
    )
    if brief is None:
        brief = ClientBrief(organization_id=client.organization_id, client=client)
    brief.summary = summary
    brief.reviewed_by = by
    brief.reviewed_at = timezone.now()
    brief.save()
    return brief


@transaction.atomic
def client_brief_mark_reviewed(*, brief: ClientBrief, by: Membership) -> ClientBrief:
    """Record that ``by`` read the brief now and it still holds (the summary
    and its ``updated_at`` stay)."""
    _check_reviewer(by, brief.organization_id)
    brief.reviewed_by = by
    brief.reviewed_at = timezone.now()
    brief.save(update_fields=["reviewed_by", "reviewed_at"])
    return brief


# --- selectors ------------------------------------------------------------------
def client_brief_list(*, organization: Organization) -> QuerySet[ClientBrief]:
    return (
        ClientBrief.objects.filter(organization=organization)
        .select_related("organization", "client", "reviewed_by__user")
        .order_by("client__name", "pk")
    )


@dataclass(frozen=True)
class RecurringTaskLine:
    task: RecurringTask
    treatment: str  # the rule in force today for its request type, in plain words


@dataclass(frozen=True)
class RepeatingRequestType:
    name: str
    tickets: int


@dataclass(frozen=True)
class FlagGroup:
    kind: str
    flags: list[ExceptionFlag]
    TICKETS_SHOWN = 5

    @property
    def label(self) -> str:
        return ExceptionFlag.Kind(self.kind).label

    @property
    def ticket_numbers(self) -> list[int]:
        """The tickets of the first few flags (newest first)."""
        numbers = [f.ticket.number for f in self.flags if f.ticket_id is not None]
        return list(dict.fromkeys(numbers))[: self.TICKETS_SHOWN]

    @property
    def more(self) -> int:
        return len(self.flags) - len(self.ticket_numbers)

    @property
    def owners(self) -> list[str]:
        """Who works them (no one: the account manager stands in)."""
        return sorted({member_name(f.owner) for f in self.flags if f.owner_id is not None})


@dataclass(frozen=True)
class ClientBriefPage:
    client: Client
    today: datetime.date
    brief: ClientBrief | None
    stale: bool
    recurring_tasks: list[RecurringTaskLine]
    contract: Contract | None  # in force today
    terms: ContractRevision | None
    rules: list[str]  # the contract's rules in force today, in plain words
    defaults: list[str]  # request types it has no rule for: their default treatment
    decisions: list[DecisionLogEntry]  # newest first, last RECENT_DAYS, at most 20
    open_tickets: list[Ticket]
    open_scope_checks: list[ScopeCheck]
    open_flags: list[ExceptionFlag]
    risks: list[Risk]  # not closed
    repeating: list[RepeatingRequestType] = field(default_factory=list)
    # Last reopened within RECENT_DAYS, newest first, at most RECENT_REOPENED_MAX.
    reopened: list[Ticket] = field(default_factory=list)

    @property
    def open_item_count(self) -> int:
        return len(self.open_tickets) + len(self.open_scope_checks) + len(self.open_flags)

    @property
    def flag_groups(self) -> list["FlagGroup"]:
        """The open flags by kind, most first: a brief says what kind of
        problem is open and how often, the flags page lists each one."""
        groups: dict[str, list[ExceptionFlag]] = {}
        for flag in self.open_flags:
            groups.setdefault(flag.kind, []).append(flag)
        return sorted(
            (FlagGroup(kind, flags) for kind, flags in groups.items()),
            key=lambda g: (-len(g.flags), g.label),
        )


def _no_contract_words(name: str, today: datetime.date) -> str:
    return f"{name} — billable: no contract covers {today:%Y-%m-%d}"


def client_brief_page(*, client: Client, today: datetime.date | None = None) -> ClientBriefPage:
    """Every section of the brief, from live data, in a fixed number of
    queries whatever the number of tickets, tasks, rules or flags."""
    organization = client.organization
    today = today or organization_today(organization)
    since = timezone.now() - datetime.timedelta(days=RECENT_DAYS)
    brief = client_brief_list(organization=organization).filter(client=client).first()

    # Billing rules in force today (clients.rules), one query each.
    contract = contract_in_force(client=client, on=today)
    terms = contract_terms_on(contract=contract, on=today) if contract else None
    in_force = (
        {
            rule.request_type_id: rule
            for rule in scope_rules_in_force_on(
                scope_rule_list(organization=organization, contract=contract), on=today
            )
        }
        if contract
        else {}
    )
    rules = sorted(
        (scope_rule_in_plain_words(scope_rule=rule) for rule in in_force.values()),
        key=str.casefold,
    )
    defaults = (
        [
            request_type_default_in_plain_words(request_type=request_type)
            for request_type in request_type_list(organization=organization, active=True)
            if request_type.pk not in in_force
        ]
        if contract
        else []
    )

    def treatment(task: RecurringTask) -> str:
        if contract is None:
            return _no_contract_words(task.request_type.name, today)
        rule = in_force.get(task.request_type_id)
        if rule is not None:
            return scope_rule_in_plain_words(scope_rule=rule)
        return request_type_default_in_plain_words(request_type=task.request_type)

    tasks = recurring_task_list(organization=organization).filter(client=client, active=True)
    open_flags = flag_list(organization=organization, status=ExceptionFlag.Status.OPEN).filter(
        Q(client=client) | Q(ticket__client=client)
    )
    repeating = (
        Ticket.objects.filter(organization=organization, client=client, opened_at__gte=since)
        .values("request_type__name")
        .annotate(tickets=Count("pk"))
        .filter(tickets__gte=REPEATING_MIN_TICKETS)
        .order_by("-tickets", "request_type__name")
    )
    return ClientBriefPage(
        client=client,
        today=today,
        brief=brief,
        stale=client_brief_is_stale(brief=brief, today=today),
        recurring_tasks=[RecurringTaskLine(task=task, treatment=treatment(task)) for task in tasks],
        contract=contract,
        terms=terms,
        rules=rules,
        defaults=defaults,
        decisions=list(
            decision_log_list(organization=organization, client=client).filter(
                created_at__gte=since
            )[:RECENT_DECISIONS_MAX]
        ),
        open_tickets=list(
            ticket_list(organization=organization, client=client, status="open").order_by(
                "opened_at", "pk"
            )
        ),
        open_scope_checks=list(
            scope_check_list(organization=organization, status=ScopeCheck.OPEN_STATUSES).filter(
                ticket__client=client
            )
        ),
        open_flags=list(open_flags),
        risks=list(
            risk_list(organization=organization)
            .filter(client=client)
            .exclude(status=Risk.Status.CLOSED)
        ),
        repeating=[
            RepeatingRequestType(name=row["request_type__name"], tickets=row["tickets"])
            for row in repeating
        ],
        reopened=list(
            Ticket.objects.filter(
                organization=organization, client=client, last_reopened_at__gte=since
            ).order_by("-last_reopened_at", "-pk")[:RECENT_REOPENED_MAX]
        ),
    )
