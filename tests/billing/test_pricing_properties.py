"""Properties of ``billing.pricing`` on random months: whatever the contract
kind, terms, top-ups, unit counts, scope checks and the meaning of each
minute, every minute with a meaning is on exactly the lines it belongs on,
no minute waiting for one is on any, and the money adds up to the cent —
in memory and in the drafts ``drafts_compute`` saves."""

import datetime
from collections import Counter, defaultdict
from decimal import Decimal

from django.db import transaction
from django_scopes import scopes_disabled
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.models import (
    Adjustment,
    BillingPeriod,
    EntryPortion,
    InvoiceDraft,
    InvoiceLine,
    ScopeCheck,
)
from billing.pricing import cents, month_bounds
from billing.services.periods import drafts_compute
from clients.models import BlockTopUp, Contract, PricingTier, UnitCount
from tests.billing.finance_helpers import (
    MONTH,
    Status,
    approved_check,
    contract_of,
    priced,
    revise,
    ticket_of,
    work,
)
from tests.factories import ClientFactory

D = Decimal
Kind = InvoiceLine.Kind
TIME_KINDS = {Kind.TIME, Kind.CHANGE}
INCLUDED_KINDS = {Kind.INCLUDED, Kind.BLOCK_DRAWDOWN, Kind.OVERAGE}
WAITING = {Status.UNDECIDED, Status.UNCLEAR, Status.PENDING_APPROVAL}
START, END = month_bounds(MONTH)

day = st.integers(-75, 29)  # days after the month's first: some before it
world = st.fixed_dictionaries(
    {
        "kind": st.none() | st.sampled_from(Contract.Kind.values),  # none: no contract
        "period": st.sampled_from(Contract.Period.values),
        "starts": st.sampled_from([-400, -45, 12]),  # long before, last month, mid-month
        "revised": st.none() | st.integers(-30, 29),
        "fee": st.sampled_from(["0.00", "1999.99", "2500.00"]),
        "included": st.integers(0, 900),
        "rate": st.sampled_from(["0.00", "95.50", "120.00", "133.33"]),
        "overage": st.none() | st.sampled_from(["140.00", "99.99"]),
        "increment": st.sampled_from([1, 6, 15, 30]),
        "minimum": st.sampled_from([0, 15, 30]),
        "top_ups": st.lists(
            st.tuples(day, st.integers(1, 600), st.none() | st.integers(1, 60)), max_size=3
        ),
        "units": st.none() | st.integers(0, 80),
        "volume": st.booleans(),
        "check": st.none() | st.sampled_from(ScopeCheck.BillAs.values),
        "adjustment": st.none() | st.sampled_from(["-120.00", "33.35"]),
        "entries": st.lists(
            st.tuples(
                st.integers(0, 2),  # ticket
                day,
                st.integers(1, 600),
                st.sampled_from([s for s in Status.values if s != Status.SPLIT]),  # a portion's
                st.booleans(),  # billable under the approved scope check
            ),
            max_size=10,
        ),
    }
)


def _build(org, developer, finance, data):
    client = ClientFactory(organization=org)
    contract = None
    if data["kind"] is not None:
        contract = contract_of(
            org,
            data["kind"],
            client=client,
            period=data["period"],
            starts_on=START + datetime.timedelta(days=data["starts"]),
            tier_mode=Contract.TierMode.VOLUME if data["volume"] else Contract.TierMode.GRADUATED,
            fee=D(data["fee"]),
            included_minutes=data["included"],
            hourly_rate=D(data["rate"]),
            overage_rate=D(data["overage"]) if data["overage"] else None,
            rounding_increment_minutes=data["increment"],
            minimum_charge_minutes=data["minimum"],
        )
        revised = data["revised"]
        if revised is not None and START + datetime.timedelta(days=revised) > contract.starts_on:
            revise(
                contract,
                START + datetime.timedelta(days=revised),
                fee=D(data["fee"]) + 300,
                included_minutes=data["included"] // 2,
                hourly_rate=D("150.00"),
                rounding_increment_minutes=15,
            )
        for offset, minutes, expires in data["top_ups"]:
            added = max(contract.starts_on, START + datetime.timedelta(days=offset))
            BlockTopUp.objects.create(
                organization=org,
                contract=contract,
                added_on=added,
                minutes=minutes,
                price=D(minutes) * 2,
                expires_on=expires and added + datetime.timedelta(days=expires),
            )
        for low, high, price in [(1, 10, "5.00"), (11, 50, "4.00"), (51, None, "3.00")]:
            PricingTier.objects.create(
                organization=org,
                contract=contract,
                min_units=low,
                max_units=high,
                unit_price=D(price),
            )
        if data["units"] is not None:
            UnitCount.objects.create(
                organization=org, contract=contract, month=MONTH, units=data["units"]
            )
    tickets = [ticket_of(client) for _ in range(3)]
    decision = None
    if data["check"] is not None:
        _, decision = approved_check(tickets[0], developer, estimate=90, bill_as=data["check"])
    for index, offset, minutes, status, under_check in data["entries"]:
        ticket = tickets[0] if under_check and decision is not None else tickets[index]
        work(
            ticket,
            developer,
            START + datetime.timedelta(days=offset),
            minutes,
            status,
            decision=decision if under_check and status == Status.BILLABLE else None,
        )
    if data["adjustment"] is not None:
        period = BillingPeriod.objects.create(organization=org, client=client, month=MONTH)
        Adjustment.objects.create(
            organization=org,
            client=client,
            period=period,
            currency=org.currency,
            amount=D(data["adjustment"]),
            description="Credit",
            reason="Outage",
            created_by=finance,
        )
    return client


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=world)
def test_every_minute_is_on_the_lines_it_belongs_on_and_the_money_adds_up(
    db, org, developer, finance, data
):
    with scopes_disabled(), transaction.atomic():
        client = _build(org, developer, finance, data)
        charges = priced(client)
        portions = list(
            EntryPortion.objects.filter(
                ticket__client=client, work_date__gte=START, work_date__lt=END
            ).values_list("pk", "minutes", "status")
        )
        on_lines: dict[int, Counter] = defaultdict(Counter)  # portion → kinds of its lines
        minutes_by_kind: Counter = Counter()
        for line in charges.lines:
            minutes_by_kind[line.kind] += line.minutes
            for pk in line.sources_json().get("portions", []):
                on_lines[pk][line.kind] += 1
        minutes_of: Counter = Counter()
        for pk, minutes, status in portions:
            minutes_of[status] += minutes
            kinds = on_lines.pop(pk, Counter())
            if status == Status.BILLABLE:  # on exactly one billable-time line
                assert kinds.total() == 1 and set(kinds) <= TIME_KINDS
            elif status == Status.INCLUDED:  # included, drawn or over: split by minutes
                assert kinds and set(kinds) <= INCLUDED_KINDS
                assert all(n == 1 for n in kinds.values())
            elif status == Status.NON_BILLABLE:
                assert kinds == Counter({Kind.WRITE_OFF: 1})
            else:
                assert status in WAITING and not kinds
        assert not on_lines  # no line names a portion of another month or client
        assert sum(minutes_by_kind[k] for k in TIME_KINDS) == minutes_of[Status.BILLABLE]
        assert sum(minutes_by_kind[k] for k in INCLUDED_KINDS) == minutes_of[Status.INCLUDED]
        assert minutes_by_kind[Kind.WRITE_OFF] == minutes_of[Status.NON_BILLABLE]

        totals: dict[str, Decimal] = defaultdict(lambda: D("0.00"))
        for line in charges.lines:
            assert line.amount == cents(line.amount)
            assert line.amount.as_tuple().exponent == -2, line
            totals[line.currency] += line.amount
            if line.kind in (Kind.INCLUDED, Kind.BLOCK_DRAWDOWN, Kind.WRITE_OFF):
                assert line.amount == 0
            if line.kind in TIME_KINDS | {Kind.OVERAGE} and line.minutes and line.unit_price:
                assert line.amount > 0 or line.billed_minutes == 0
        assert charges.totals() == dict(totals)

        drafts_compute(organization=org, month=MONTH, client_ids=[client.pk])
        drafts = InvoiceDraft.objects.filter(period__client=client, period__month=MONTH)
        saved = {d.currency: d.total for d in drafts}
        # a client-month with nothing to price (no contract, work or adjustment) has no draft
        priced_at_all = data["kind"] or portions or data["adjustment"]
        expected = (charges.totals() or {org.currency: D("0.00")}) if priced_at_all else {}
        assert saved == expected
        for draft in drafts:
            amounts = list(InvoiceLine.objects.filter(draft=draft).values_list("amount", flat=True))
            assert sum(amounts, D("0.00")) == draft.total
        assert InvoiceLine.objects.filter(period__client=client).count() == len(charges.lines)
        transaction.set_rollback(True)
