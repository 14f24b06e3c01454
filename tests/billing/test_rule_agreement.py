"""The rule in force, the thresholds crossed and the allowance alerts are
written once in Python (``clients.rules``, ``billing.thresholds``) and built into set-based SQL for
the flag sweep from the same definitions. These property tests show the two
agree on random contracts, terms revisions, scope rule revisions, tickets,
entries and their billing statuses."""

import datetime

from django.db import transaction
from django_scopes import scopes_disabled
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.flags import flags_sweep, ticket_facts
from billing.models import ExceptionFlag, ScopeCheck
from billing.thresholds import (
    ALLOWANCE_STATUSES,
    ALLOWANCE_THRESHOLDS,
    TICKET_THRESHOLDS,
    block_balance,
    period_bounds,
)
from clients.models import BlockTopUp, Contract, Treatment
from tests.factories import (
    ClientFactory,
    ContractFactory,
    ContractRevisionFactory,
    RequestTypeFactory,
    ScopeRuleFactory,
    TicketFactory,
    TimeEntryFactory,
)
from tickets.models import Ticket, TimeEntry
from tickets.selectors import ticket_rule
from tickets.services import organization_today

BASE = datetime.date(2026, 1, 1)

rule_revision = st.fixed_dictionaries(
    {
        "offset": st.integers(-20, 120),
        "removed": st.booleans(),
        "treatment": st.sampled_from(Treatment.values),
        "expected": st.none() | st.integers(10, 600),
        "threshold": st.none() | st.integers(20, 900),
    }
)
contract = st.fixed_dictionaries(
    {
        "start": st.sampled_from([0, 30, 90]),  # ties between contracts
        "length": st.none() | st.integers(1, 200),
        "terms": st.lists(st.integers(0, 150), min_size=1, max_size=3, unique=True),
        "rules": st.lists(rule_revision, max_size=3, unique_by=lambda r: r["offset"]),
    }
)
world = st.fixed_dictionaries(
    {
        "contracts": st.lists(contract, max_size=3),
        "ticket_contract": st.none() | st.integers(0, 2),
        "expected": st.integers(15, 300),
        "entries": st.lists(st.tuples(st.integers(0, 330), st.integers(1, 600)), max_size=4),
        "approved": st.booleans(),
    }
)


def _build(org, developer, data) -> Ticket:
    client = ClientFactory(organization=org)
    rtype = RequestTypeFactory(organization=org, expected_minutes=data["expected"])
    contracts = []
    for spec in data["contracts"]:
        starts = BASE + datetime.timedelta(days=spec["start"])
        ends = starts + datetime.timedelta(days=spec["length"]) if spec["length"] else None
        made = ContractFactory(client=client, starts_on=starts, ends_on=ends)
        for offset in spec["terms"]:
            ContractRevisionFactory(
                contract=made, effective_from=starts + datetime.timedelta(days=offset)
            )
        for revision in spec["rules"]:
            ScopeRuleFactory(
                contract=made,
                request_type=rtype,
                effective_from=starts + datetime.timedelta(days=revision["offset"]),
                removed=revision["removed"],
                treatment=revision["treatment"],
                expected_minutes=revision["expected"],
                approval_threshold_minutes=revision["threshold"],
            )
        contracts.append(made)
    chosen = data["ticket_contract"]
    ticket = TicketFactory(
        organization=org,
        client=client,
        request_type=rtype,
        contract=contracts[chosen] if chosen is not None and chosen < len(contracts) else None,
        logged_minutes=sum(minutes for _, minutes in data["entries"]),
    )
    for day, minutes in data["entries"]:
        TimeEntryFactory(
            ticket=ticket,
            person=developer,
            work_date=BASE + datetime.timedelta(days=day),
            minutes=minutes,
            portion=False,
        )
    if data["approved"]:
        ScopeCheck.objects.create(
            organization=org,
            ticket=ticket,
            requested_by=developer,
            estimate_minutes=60,
            reason="r",
            client_explanation="e",
            status=ScopeCheck.Status.APPROVED,
        )
    return ticket


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=world)
def test_the_python_selector_and_the_sweep_sql_agree(db, org, developer, data):
    with scopes_disabled(), transaction.atomic():
        ticket = _build(org, developer, data)
        dates = [BASE + datetime.timedelta(days=day) for day, _ in data["entries"]]
        on = max(dates) if dates else organization_today(org)
        applied = ticket_rule(ticket=ticket, on=on)
        approved = data["approved"]
        python = {
            "contract_id": applied.contract.pk if applied.contract else None,
            "expected": applied.expected_minutes,
            "threshold": applied.approval_threshold_minutes,
            "logged": ticket.logged_minutes,
            "crossed": {
                t.flag
                for t in TICKET_THRESHOLDS
                if t.crossed(logged=ticket.logged_minutes, rule=applied, approved=approved)
            },
        }
        assert ticket_facts(organization=org, ticket_id=ticket.pk) == python
        transaction.set_rollback(True)


# --- allowances ----------------------------------------------------------------------
_to_first = (datetime.date.today().replace(day=1) - datetime.date.today()).days
EDGES = [0, _to_first, _to_first - 1, -31, -32]  # today, the 1st, the day before it
allowance_world = st.fixed_dictionaries(
    {
        "kind": st.sampled_from([Contract.Kind.RETAINER, Contract.Kind.BLOCK]),
        "included": st.integers(0, 600),
        # A block's top-ups: (days before today, minutes); some not added yet.
        "top_ups": st.lists(
            st.tuples(st.sampled_from([0, 1, -1]) | st.integers(-400, 30), st.integers(1, 600)),
            max_size=3,
        ),
        "warning": st.integers(50, 99),
        "entries": st.lists(
            st.tuples(
                # Days before today, often on the edges of this month.
                st.sampled_from(EDGES) | st.integers(-70, 0),
                st.integers(1, 300),
                st.sampled_from(TimeEntry.BillingStatus.values),
            ),
            max_size=6,
        ),
    }
)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=allowance_world)
def test_allowance_alerts_in_python_and_in_the_sweep_sql_agree(db, org, developer, data):
    with scopes_disabled(), transaction.atomic():
        org.contract_warning_percent = data["warning"]
        org.save()
        today = organization_today(org)
        client = ClientFactory(organization=org)
        contract = ContractFactory(
            client=client, kind=data["kind"], starts_on=today - datetime.timedelta(days=400)
        )
        ContractRevisionFactory(contract=contract, included_minutes=data["included"])
        top_ups = [
            (today + datetime.timedelta(days=days), minutes) for days, minutes in data["top_ups"]
        ]
        if contract.kind == Contract.Kind.BLOCK:
            for added_on, minutes in top_ups:
                BlockTopUp.objects.create(
                    organization=org, contract=contract, added_on=added_on, minutes=minutes
                )
        ticket = TicketFactory(organization=org, client=client, contract=contract)
        for days, minutes, status in data["entries"]:
            TimeEntryFactory(
                ticket=ticket,
                person=developer,
                work_date=today + datetime.timedelta(days=days),
                minutes=minutes,
                billing_status=status,
            )
        first, after, retainer_key = period_bounds(today)[contract.period]
        used = sum(
            minutes
            for days, minutes, status in data["entries"]
            if status in ALLOWANCE_STATUSES
            and (
                contract.kind == Contract.Kind.BLOCK
                or first <= today + datetime.timedelta(days=days) < after
            )
        )
        if contract.kind == Contract.Kind.RETAINER:
            key, allowance = retainer_key, data["included"]
        else:
            balance = block_balance(top_ups, today=today)
            key, allowance = (balance.key, balance.included) if balance else (None, 0)
        python = {
            (threshold.flag, key)
            for threshold in ALLOWANCE_THRESHOLDS
            if used  # no work on the contract: nothing to alert on
            and threshold.crossed(used=used, allowance=allowance, organization=org)
        }
        flags_sweep(organization=org)
        alerts = ExceptionFlag.objects.filter(
            contract=contract, kind__in=[t.flag for t in ALLOWANCE_THRESHOLDS]
        )
        sql = set(alerts.values_list("kind", "period_key"))
        assert sql == python
        transaction.set_rollback(True)
