"""Hand-computed examples of ``billing.pricing``: one per contract kind and
rule, with the arithmetic written beside the exact amounts. The month is
September 2025 (30 days) unless a test says otherwise."""

import datetime
from decimal import Decimal

import pytest
from django_scopes import scopes_disabled

from billing.models import Adjustment, BillingPeriod, ExceptionFlag, InvoiceLine, ScopeCheck
from billing.pricing import BlockerKind, billed_minutes, cents, client_usage, time_amount
from billing.services import ScopeCheckRequest, scope_check_approve, time_entry_log
from clients.models import BlockTopUp, Contract, PricingTier, Treatment, UnitCount
from tests.billing.finance_helpers import (
    MONTH,
    Status,
    amounts,
    approved_check,
    blockers_of,
    contract_of,
    lines,
    on,
    priced,
    revise,
    ticket_of,
    work,
)
from tests.billing.helpers import decide
from tests.factories import ClientFactory, ScopeRuleFactory

D = Decimal
Kind = InvoiceLine.Kind
AUGUST = datetime.date(2025, 8, 1)
JULY = datetime.date(2025, 7, 1)
OCTOBER = datetime.date(2025, 10, 1)


@pytest.fixture(autouse=True)
def _no_scopes(db):
    with scopes_disabled():
        yield


def _sources(line, key="entries"):
    return sorted(line.sources_json().get(key, []))


# --- the rounding points -------------------------------------------------------------------
def test_time_rounds_up_to_the_increment_and_never_below_the_minimum():
    assert billed_minutes(7, increment=15, minimum=30) == 30
    assert billed_minutes(38, increment=15, minimum=0) == 45
    assert billed_minutes(45, increment=15, minimum=30) == 45
    assert billed_minutes(0, increment=15, minimum=30) == 0


def test_money_rounds_half_up_to_the_cent():
    assert cents(D("0.005")) == D("0.01")  # banker's rounding would give 0.00
    assert cents(D("2.675")) == D("2.68")
    # 3 min at 100.10/h = 300.30 / 60 = 5.005 → 5.01
    assert time_amount(3, D("100.10")) == D("5.01")


# --- time and materials --------------------------------------------------------------------
def _tm(org, **fields):
    return contract_of(org, Contract.Kind.TIME_AND_MATERIALS, **fields)


def test_a_short_entry_is_charged_the_minimum(org, developer):
    contract = _tm(
        org, hourly_rate=D("120.00"), rounding_increment_minutes=15, minimum_charge_minutes=30
    )
    ticket = ticket_of(contract.client)
    entry = work(ticket, developer, on(4), 7, Status.BILLABLE)
    charges = priced(contract.client)
    [line] = lines(charges)
    # 7 min → rounded up to 15 → raised to the 30-min minimum; 30/60 h × 120.00 = 60.00
    assert (line.kind, line.minutes, line.billed_minutes) == (Kind.TIME, 7, 30)
    assert line.quantity == D("0.5000")
    assert line.unit_price == D("120.00")
    assert line.amount == D("60.00")
    assert _sources(line) == [entry.pk]
    assert charges.totals() == {"EUR": D("60.00")}


def test_an_entry_rounds_up_to_the_next_increment(org, developer):
    contract = _tm(org, hourly_rate=D("120.00"), rounding_increment_minutes=15)
    work(ticket_of(contract.client), developer, on(4), 38, Status.BILLABLE)
    [line] = lines(priced(contract.client))
    # 38 min → 45 min (the next multiple of 15); 45/60 h × 120.00 = 90.00
    assert (line.minutes, line.billed_minutes, line.amount) == (38, 45, D("90.00"))
    assert line.quantity == D("0.7500")


def test_each_entry_on_a_ticket_is_rounded_then_summed(org, developer):
    contract = _tm(
        org, hourly_rate=D("120.00"), rounding_increment_minutes=15, minimum_charge_minutes=30
    )
    ticket = ticket_of(contract.client)
    entries = [
        work(ticket, developer, on(d), m, Status.BILLABLE) for d, m in [(2, 7), (3, 38), (9, 45)]
    ]
    [line] = lines(priced(contract.client))
    # 7 → 30 (minimum), 38 → 45, 45 → 45: 120 min charged for 90 logged
    # (rounding the sum instead, 90 min, would charge 180.00);
    # 120/60 h × 120.00 = 240.00, one line for the ticket
    assert (line.minutes, line.billed_minutes) == (90, 120)
    assert line.quantity == D("2.0000")
    assert line.amount == D("240.00")
    assert _sources(line) == sorted(e.pk for e in entries)
    assert "per entry rounded up to 15 min, at least 30 min" in line.computation


def test_a_line_is_rate_times_hours_half_up_to_the_cent(org, developer):
    contract = _tm(org, hourly_rate=D("125.00"))
    work(ticket_of(contract.client), developer, on(4), 50, Status.BILLABLE)
    [line] = lines(priced(contract.client))
    # 50 min × 125.00 / 60 = 104.1666… → 104.17
    assert (line.billed_minutes, line.amount) == (50, D("104.17"))
    assert line.quantity == D("0.8333")


def test_half_a_cent_rounds_up(org, developer):
    contract = _tm(org, hourly_rate=D("100.10"))
    work(ticket_of(contract.client), developer, on(4), 3, Status.BILLABLE)
    # 3 min × 100.10 / 60 = 5.005 → 5.01 (half-up, not half-even)
    assert amounts(priced(contract.client)) == [D("5.01")]


def test_tickets_get_a_line_each(org, developer):
    contract = _tm(org, hourly_rate=D("90.00"), rounding_increment_minutes=15)
    first, second = ticket_of(contract.client), ticket_of(contract.client)
    work(first, developer, on(1), 20, Status.BILLABLE)
    work(second, developer, on(2), 60, Status.BILLABLE)
    charges = priced(contract.client)
    # #1: 20 → 30 min × 90.00/60 = 45.00; #2: 60 min = 90.00; total 135.00
    assert {line.ticket_id: line.amount for line in lines(charges)} == {
        first.pk: D("45.00"),
        second.pk: D("90.00"),
    }
    assert charges.totals() == {"EUR": D("135.00")}


def test_terms_changing_rounding_mid_month_round_each_entry_by_its_own_terms(org, developer):
    contract = _tm(org, hourly_rate=D("120.00"), rounding_increment_minutes=30)
    revise(contract, on(16), hourly_rate=D("120.00"), rounding_increment_minutes=1)
    ticket = ticket_of(contract.client)
    work(ticket, developer, on(5), 10, Status.BILLABLE)
    work(ticket, developer, on(20), 10, Status.BILLABLE)
    charges = priced(contract.client)
    # the 5th: 10 → 30 min (30-min increments) = 60.00;
    # the 20th: 10 min as logged = 20.00; 80.00 in all
    assert sorted(line.billed_minutes for line in lines(charges)) == [10, 30]
    assert charges.totals() == {"EUR": D("80.00")}


# --- retainer ----------------------------------------------------------------------------
def _retainer(org, **fields):
    values = {
        "fee": D("2000.00"),
        "included_minutes": 1200,
        "hourly_rate": D("120.00"),
        "overage_rate": D("140.00"),
    }
    values.update(fields)
    return contract_of(org, Contract.Kind.RETAINER, **values)


def test_a_retainer_month_without_work_is_its_fee(org):
    contract = _retainer(org)
    charges = priced(contract.client)
    [fee] = lines(charges)
    assert (fee.kind, fee.amount, fee.quantity) == (Kind.FEE, D("2000.00"), D("1"))
    assert fee.computation == "2000.00 for the period"
    assert charges.totals() == {"EUR": D("2000.00")}
    usage = charges.usage[contract.pk]
    # the allowance is there even before any work is logged
    assert (usage.allowance, usage.used, usage.left, usage.overage) == (1200, 0, 1200, 0)


def test_included_work_within_the_allowance_is_on_zero_lines(org, developer):
    contract = _retainer(org)
    ticket = ticket_of(contract.client)
    work(ticket, developer, on(3), 300)
    work(ticket, developer, on(8), 200)
    charges = priced(contract.client)
    [included] = lines(charges, Kind.INCLUDED)
    # 300 + 200 = 500 of 1200 min, not charged
    assert (included.minutes, included.amount, included.quantity) == (500, D("0.00"), D("8.3333"))
    assert not lines(charges, Kind.OVERAGE)
    assert charges.totals() == {"EUR": D("2000.00")}
    usage = charges.usage[contract.pk]
    assert (usage.allowance, usage.used, usage.left, usage.percent_used) == (1200, 500, 700, 41)


def test_the_entry_that_crosses_the_allowance_is_split(org, developer):
    contract = _retainer(org, included_minutes=600)
    ticket = ticket_of(contract.client)
    first = work(ticket, developer, on(3), 500)
    crossing = work(ticket, developer, on(10), 200)
    charges = priced(contract.client)
    [included] = lines(charges, Kind.INCLUDED)
    [overage] = lines(charges, Kind.OVERAGE)
    # allowance 600: 500 + 100 of the second entry included, its other 100 min
    # are overage at 140.00: 100 × 140.00 / 60 = 233.333… → 233.33
    assert (included.minutes, included.amount) == (600, D("0.00"))
    assert (overage.minutes, overage.billed_minutes) == (100, 100)
    assert (overage.unit_price, overage.amount) == (D("140.00"), D("233.33"))
    assert _sources(included) == sorted([first.pk, crossing.pk])
    assert _sources(overage) == [crossing.pk]
    # fee 2000.00 + overage 233.33
    assert charges.totals() == {"EUR": D("2233.33")}
    usage = charges.usage[contract.pk]
    assert (usage.used, usage.overage, usage.left) == (700, 100, 0)
    assert usage.billable_amount == D("233.33")


def test_overage_falls_back_to_the_hourly_rate(org, developer):
    contract = _retainer(org, included_minutes=600, overage_rate=None)
    work(ticket_of(contract.client), developer, on(3), 700)
    [overage] = lines(priced(contract.client), Kind.OVERAGE)
    # 700 - 600 = 100 min at the hourly 120.00: 100 × 120.00 / 60 = 200.00
    assert (overage.minutes, overage.unit_price, overage.amount) == (100, D("120.00"), D("200.00"))


def test_terms_changing_mid_month_pro_rate_fee_and_allowance_by_days(org, developer):
    contract = _retainer(org, fee=D("2000.00"), included_minutes=1200, overage_rate=D("140.00"))
    later = revise(
        contract,
        on(16),
        fee=D("3000.00"),
        included_minutes=1800,
        hourly_rate=D("120.00"),
        overage_rate=D("150.00"),
    )
    ticket = ticket_of(contract.client)
    work(ticket, developer, on(5), 700)
    work(ticket, developer, on(20), 900)
    charges = priced(contract.client)
    # 1–15 Sep: 2000.00 × 15/30 = 1000.00; 16–30 Sep: 3000.00 × 15/30 = 1500.00
    fees = lines(charges, Kind.FEE)
    assert [f.amount for f in fees] == [D("1000.00"), D("1500.00")]
    assert "2000.00 × 15/30 days = 1000.00" in fees[0].computation
    assert _sources(fees[1], "revisions") == [later.pk]
    # allowance 1200 × 15/30 + 1800 × 15/30 = 600 + 900 = 1500 min;
    # 700 + 900 = 1600 min used: 100 min over, on the 20th, at that day's 150.00:
    # 100 × 150.00 / 60 = 250.00
    usage = charges.usage[contract.pk]
    assert (usage.allowance, usage.used, usage.overage) == (1500, 1600, 100)
    [overage] = lines(charges, Kind.OVERAGE)
    assert (overage.minutes, overage.unit_price, overage.amount) == (100, D("150.00"), D("250.00"))
    assert charges.totals() == {"EUR": D("2750.00")}


def test_a_contract_starting_mid_month_pays_its_share(org):
    contract = _retainer(org, starts_on=on(21), fee=D("3000.00"), included_minutes=1800)
    charges = priced(contract.client)
    # 21–30 Sep: 10 of 30 days: 3000.00 × 10/30 = 1000.00, 1800 × 10/30 = 600 min
    assert amounts(charges, Kind.FEE) == [D("1000.00")]
    assert charges.usage[contract.pk].allowance == 600


def _quarterly(org, starts_on=datetime.date(2025, 1, 1)):
    contract = _retainer(
        org,
        starts_on=starts_on,
        period=Contract.Period.QUARTERLY,
        fee=D("6000.00"),
        included_minutes=1800,
    )
    return contract, ticket_of(contract.client)


def test_a_quarterly_retainer_bills_its_fee_in_the_quarters_first_month(org, developer):
    contract, ticket = _quarterly(org)
    work(ticket, developer, on(10, JULY), 1000)
    work(ticket, developer, on(12, AUGUST), 600)
    work(ticket, developer, on(3), 500)
    july, august, september = (priced(contract.client, m) for m in (JULY, AUGUST, MONTH))
    # Q3 (July–September): the 6000.00 fee in July only
    assert amounts(july, Kind.FEE) == [D("6000.00")]
    assert not lines(august, Kind.FEE) and not lines(september, Kind.FEE)
    assert august.totals() == {"EUR": D("0.00")}  # included work only
    # 1800 min for the quarter: July 1000, August 600 (1600 used), September
    # 500 of which 200 are still included and 300 are overage:
    # 300 × 140.00 / 60 = 700.00
    assert august.usage[contract.pk].used == 1600
    [included] = lines(september, Kind.INCLUDED)
    [overage] = lines(september, Kind.OVERAGE)
    assert (included.minutes, overage.minutes, overage.amount) == (200, 300, D("700.00"))
    assert september.totals() == {"EUR": D("700.00")}
    usage = september.usage[contract.pk]
    assert (usage.allowance, usage.used, usage.overage, usage.left) == (1800, 2100, 300, 0)
    assert (usage.period_start, usage.period_end) == (JULY, OCTOBER)


def test_a_new_quarter_starts_a_new_allowance_and_fee(org, developer):
    contract, ticket = _quarterly(org)
    work(ticket, developer, on(10, JULY), 900)
    work(ticket, developer, on(11, JULY), 900)
    work(ticket, developer, on(2, OCTOBER), 100)
    october = priced(contract.client, OCTOBER)
    assert amounts(october, Kind.FEE) == [D("6000.00")]
    assert not lines(october, Kind.OVERAGE)
    assert october.usage[contract.pk].used == 100


def test_a_quarterly_retainer_starting_mid_quarter_bills_its_share_in_its_first_month(
    org, developer
):
    contract, _ = _quarterly(org, starts_on=AUGUST)
    revise(contract, on(1, OCTOBER), fee=D("9200.00"), included_minutes=1840)
    october = priced(contract.client, OCTOBER)
    assert amounts(october, Kind.FEE) == [D("9200.00")]
    # Q3 is 92 days (1 Jul – 30 Sep); the contract runs 61 of them (1 Aug – 30 Sep):
    # 6000.00 × 61/92 = 3978.26 (3978.2608…), billed in August, its first month
    august = priced(contract.client, AUGUST)
    assert amounts(august, Kind.FEE) == [D("3978.26")]
    # 1800 × 61/92 = 1193.47… → 1193 min for the part-quarter
    assert august.usage[contract.pk].allowance == 1193
    assert not lines(priced(contract.client, MONTH), Kind.FEE)


# --- block of hours ------------------------------------------------------------------------
def _block(org, **fields):
    values = {"hourly_rate": D("120.00"), "overage_rate": D("150.00")}
    values.update(fields)
    return contract_of(org, Contract.Kind.BLOCK, **values)


def _top_up(contract, added_on, minutes, price, expires_on=None):
    return BlockTopUp.objects.create(
        organization=contract.organization,
        contract=contract,
        added_on=added_on,
        minutes=minutes,
        price=price,
        expires_on=expires_on,
    )


def test_a_block_charges_top_ups_when_added_and_draws_oldest_first(org, developer):
    contract = _block(org)
    first = _top_up(contract, on(5, AUGUST), 600, D("1000.00"))
    second = _top_up(contract, on(10), 600, D("1100.00"))
    ticket = ticket_of(contract.client)
    work(ticket, developer, on(12, AUGUST), 400)
    work(ticket, developer, on(3), 100)
    crossing = work(ticket, developer, on(15), 300)
    august = priced(contract.client, AUGUST)
    # August: the 10 h top-up is charged (1000.00); 400 of its 600 min drawn
    [top_up] = lines(august, Kind.BLOCK_TOP_UP)
    assert (top_up.amount, _sources(top_up, "top_ups")) == (D("1000.00"), [first.pk])
    assert top_up.description.startswith("Support agreement: 10 h added 2025-08-05")
    assert amounts(august, Kind.BLOCK_DRAWDOWN) == [D("0.00")]
    assert august.totals() == {"EUR": D("1000.00")}
    assert august.usage[contract.pk].balance == 200
    # September: only the new top-up is charged (1100.00). 200 min carried over:
    # the 3rd draws 100 from the first top-up, the 15th its last 100 and 200 of
    # the second (oldest first); 400 min of the second are left
    september = priced(contract.client)
    [top_up] = lines(september, Kind.BLOCK_TOP_UP)
    assert (top_up.amount, _sources(top_up, "top_ups")) == (D("1100.00"), [second.pk])
    [drawn] = lines(september, Kind.BLOCK_DRAWDOWN)
    assert (drawn.minutes, drawn.amount) == (400, D("0.00"))
    assert crossing.pk in _sources(drawn)
    assert not lines(september, Kind.OVERAGE)
    assert september.totals() == {"EUR": D("1100.00")}
    usage = september.usage[contract.pk]
    # available in September: 200 carried + 600 added = 800; 400 used, 400 left
    assert (usage.allowance, usage.used, usage.balance, usage.left) == (800, 400, 400, 400)
    assert (usage.period_start, usage.period_end) == (MONTH, OCTOBER)


def test_a_top_up_that_expires_loses_its_unused_minutes_then_work_is_overage(org, developer):
    contract = _block(org)
    _top_up(contract, on(5, AUGUST), 600, D("1000.00"), expires_on=on(20))
    ticket = ticket_of(contract.client)
    work(ticket, developer, on(12, AUGUST), 400)
    work(ticket, developer, on(3), 100)
    late = work(ticket, developer, on(25), 60)
    charges = priced(contract.client)
    # 600 - 400 (August) - 100 (the 3rd) = 100 min expire on the 20th, unused;
    # the 25th finds no balance: 60 min overage at 150.00 = 150.00
    usage = charges.usage[contract.pk]
    assert (usage.expired, usage.balance, usage.used, usage.overage) == (100, 0, 160, 60)
    assert amounts(charges, Kind.BLOCK_DRAWDOWN) == [D("0.00")]
    assert lines(charges, Kind.BLOCK_DRAWDOWN)[0].minutes == 100
    [overage] = lines(charges, Kind.OVERAGE)
    assert (overage.minutes, overage.unit_price, overage.amount) == (60, D("150.00"), D("150.00"))
    assert _sources(overage) == [late.pk]
    assert not lines(charges, Kind.BLOCK_TOP_UP)
    assert charges.totals() == {"EUR": D("150.00")}
    # the expired minutes are gone for good: October starts at 0
    assert priced(contract.client, OCTOBER).usage[contract.pk].balance == 0


def test_a_spent_block_bills_overage_within_one_entry(org, developer):
    contract = _block(org, overage_rate=None)
    _top_up(contract, on(1), 120, D("240.00"))
    entry = work(ticket_of(contract.client), developer, on(2), 150)
    charges = priced(contract.client)
    # 120 min drawn, 30 min past the balance at the hourly 120.00 = 60.00
    [drawn] = lines(charges, Kind.BLOCK_DRAWDOWN)
    [overage] = lines(charges, Kind.OVERAGE)
    assert (drawn.minutes, overage.minutes, overage.amount) == (120, 30, D("60.00"))
    assert _sources(drawn) == _sources(overage) == [entry.pk]
    assert charges.totals() == {"EUR": D("300.00")}  # 240.00 + 60.00


# --- fixed fee -----------------------------------------------------------------------------
def test_a_fixed_fee_bills_out_of_scope_work_on_its_own_lines(org, developer):
    contract = contract_of(
        org,
        Contract.Kind.FIXED_FEE,
        fee=D("5000.00"),
        hourly_rate=D("120.00"),
        rounding_increment_minutes=15,
    )
    in_scope, extra = ticket_of(contract.client), ticket_of(contract.client)
    work(in_scope, developer, on(4), 300)
    work(extra, developer, on(6), 50, Status.BILLABLE)
    charges = priced(contract.client)
    assert amounts(charges, Kind.FEE) == [D("5000.00")]
    assert "Fixed fee" in lines(charges, Kind.FEE)[0].description
    [included] = lines(charges, Kind.INCLUDED)
    assert (included.ticket_id, included.minutes, included.amount) == (in_scope.pk, 300, D("0"))
    # 50 min → 60 min; 1 h × 120.00 = 120.00
    [time] = lines(charges, Kind.TIME)
    assert (time.ticket_id, time.billed_minutes, time.amount) == (extra.pk, 60, D("120.00"))
    assert charges.totals() == {"EUR": D("5120.00")}


# --- per unit ------------------------------------------------------------------------------
def _per_unit(org, mode, units):
    contract = contract_of(org, Contract.Kind.PER_UNIT, tier_mode=mode)
    for low, high, price in [(1, 10, "5.00"), (11, 50, "4.00"), (51, None, "3.00")]:
        PricingTier.objects.create(
            organization=org, contract=contract, min_units=low, max_units=high, unit_price=D(price)
        )
    if units is not None:
        UnitCount.objects.create(organization=org, contract=contract, month=MONTH, units=units)
    return contract


def test_graduated_tiers_price_each_band_at_its_own_price(org):
    contract = _per_unit(org, Contract.TierMode.GRADUATED, 60)
    charges = priced(contract.client)
    units = lines(charges, Kind.UNITS)
    # 1–10: 10 × 5.00 = 50.00; 11–50: 40 × 4.00 = 160.00; 51–60: 10 × 3.00 = 30.00
    assert [(u.quantity, u.unit_price, u.amount) for u in units] == [
        (D("10"), D("5.00"), D("50.00")),
        (D("40"), D("4.00"), D("160.00")),
        (D("10"), D("3.00"), D("30.00")),
    ]
    assert all(u.unit == InvoiceLine.Unit.UNITS for u in units)
    assert charges.totals() == {"EUR": D("240.00")}
    assert not blockers_of(contract.client)


def test_volume_tiers_price_every_unit_at_the_band_the_count_falls_in(org):
    contract = _per_unit(org, Contract.TierMode.VOLUME, 60)
    charges = priced(contract.client)
    [units] = lines(charges, Kind.UNITS)
    # 60 units fall in 51+: 60 × 3.00 = 180.00
    assert (units.quantity, units.unit_price, units.amount) == (D("60"), D("3.00"), D("180.00"))
    assert charges.totals() == {"EUR": D("180.00")}


def test_a_per_unit_month_without_a_count_blocks(org):
    contract = _per_unit(org, Contract.TierMode.GRADUATED, None)
    charges = priced(contract.client)
    assert not lines(charges, Kind.UNITS)
    assert charges.missing_counts == [contract.pk]
    [blocker] = blockers_of(contract.client)
    assert (blocker.kind, blocker.contract_id) == (BlockerKind.MISSING_UNITS, contract.pk)


# --- approved scope checks -----------------------------------------------------------------
def test_a_change_billed_at_actual_time_has_its_own_line(org, developer):
    contract = _retainer(org, rounding_increment_minutes=15)
    ticket = ticket_of(contract.client)
    check, decision = approved_check(ticket, developer, estimate=240)
    work(ticket, developer, on(3), 100, Status.BILLABLE, decision=decision)
    work(ticket, developer, on(4), 50, Status.BILLABLE, decision=decision)
    work(ticket, developer, on(5), 20, Status.BILLABLE)
    charges = priced(contract.client)
    [change] = lines(charges, Kind.CHANGE)
    # 100 → 105, 50 → 60: 165 min × 120.00 / 60 = 330.00
    assert (change.scope_check_id, change.ticket_id) == (check.pk, ticket.pk)
    assert (change.minutes, change.billed_minutes, change.amount) == (150, 165, D("330.00"))
    assert _sources(change, "scope_checks") == [check.pk]
    assert _sources(change, "decisions") == [decision.pk]
    # the ticket's other billable time is a line of its own: 20 → 30 min = 60.00
    [time] = lines(charges, Kind.TIME)
    assert (time.billed_minutes, time.amount) == (30, D("60.00"))
    assert charges.totals() == {"EUR": D("2390.00")}  # 2000.00 + 330.00 + 60.00


def test_a_change_at_actual_time_takes_the_rate_in_force_on_each_work_date(org, developer):
    contract = _tm(org, hourly_rate=D("120.00"), rounding_increment_minutes=15)
    revise(contract, on(16), hourly_rate=D("150.00"), rounding_increment_minutes=30)
    ticket = ticket_of(contract.client)
    check, decision = approved_check(ticket, developer, estimate=240)
    work(ticket, developer, on(5), 50, Status.BILLABLE, decision=decision)
    work(ticket, developer, on(20), 50, Status.BILLABLE, decision=decision)
    charges = priced(contract.client)
    changes = lines(charges, Kind.CHANGE)
    # the 5th: 50 → 60 min (15-min increments) × 120.00 = 120.00;
    # the 20th: 50 → 60 min (30-min increments) × 150.00 = 150.00
    assert [(c.unit_price, c.billed_minutes, c.amount) for c in changes] == [
        (D("120.00"), 60, D("120.00")),
        (D("150.00"), 60, D("150.00")),
    ]
    assert {c.scope_check_id for c in changes} == {check.pk}
    assert charges.totals() == {"EUR": D("270.00")}


def test_a_change_approved_through_the_services_is_billed_on_its_line(
    scoped, terms, open_ticket, developer, account_manager
):
    opened = datetime.datetime(2025, 9, 1, 9, tzinfo=datetime.UTC)  # before its work
    ticket = open_ticket("feature", title="Sales report", opened_at=opened)
    decide(
        ticket,
        developer,
        "needs_approval",
        reason="A new report",
        scope_check=ScopeCheckRequest(estimate_minutes=120),
    )
    check = ScopeCheck.objects.get(ticket=ticket)
    scope_check_approve(check=check, actor=account_manager)
    entry = time_entry_log(ticket=ticket, person=developer, work_date=on(8), minutes=50).entry
    charges = priced(terms["client"])
    [change] = lines(charges, Kind.CHANGE)
    # 50 min → 60 (15-min increments); 1 h × 120.00 = 120.00
    assert (change.scope_check_id, change.billed_minutes, change.amount) == (
        check.pk,
        60,
        D("120.00"),
    )
    assert _sources(change) == [entry.pk]
    assert charges.totals() == {"EUR": D("2120.00")}


def test_a_change_billed_at_its_estimate_is_charged_once_in_the_month_of_first_work(org, developer):
    contract = _tm(org, hourly_rate=D("120.00"), rounding_increment_minutes=15)
    ticket = ticket_of(contract.client)
    _, decision = approved_check(
        ticket, developer, estimate=120, bill_as=ScopeCheck.BillAs.ESTIMATE
    )
    work(ticket, developer, on(20, AUGUST), 90, Status.BILLABLE, decision=decision)
    work(ticket, developer, on(21, AUGUST), 60, Status.BILLABLE, decision=decision)
    work(ticket, developer, on(2), 40, Status.BILLABLE, decision=decision)
    august = priced(contract.client, AUGUST)
    [change] = lines(august, Kind.CHANGE)
    # the estimate: 120 min × 120.00 / 60 = 240.00, whatever the time logged
    assert (change.minutes, change.billed_minutes, change.amount) == (150, 120, D("240.00"))
    assert change.quantity == D("2.0000")
    # 90 + 60 = 150 min logged: 30 past the estimate, shown, not charged
    assert "150 min logged this month, 30 min past the estimate" in change.computation
    september = priced(contract.client)
    [later] = lines(september, Kind.CHANGE)
    assert (later.minutes, later.billed_minutes, later.amount) == (40, 0, D("0.00"))
    assert "already charged at its estimate in 2025-08" in later.computation
    assert september.totals() == {"EUR": D("0.00")}


# --- write-offs, no contract, adjustments --------------------------------------------------
def test_a_write_off_is_a_zero_line_of_its_own(org, developer):
    contract = _retainer(org)
    ticket = ticket_of(contract.client)
    entry = work(ticket, developer, on(9), 45, Status.NON_BILLABLE)
    charges = priced(contract.client)
    [written_off] = lines(charges, Kind.WRITE_OFF)
    assert (written_off.minutes, written_off.quantity, written_off.amount) == (
        45,
        D("0.7500"),
        D("0.00"),
    )
    assert _sources(written_off) == [entry.pk]
    assert not lines(charges, Kind.INCLUDED, Kind.TIME, Kind.OVERAGE)
    assert charges.usage[contract.pk].used == 0  # drawn from no allowance
    assert charges.totals() == {"EUR": D("2000.00")}


def test_work_no_contract_covers_is_billed_at_the_default_rate(org, developer):
    org.default_hourly_rate = D("150.00")
    org.save()
    client = ClientFactory(organization=org)
    ticket = ticket_of(client)
    work(ticket, developer, on(4), 50, Status.BILLABLE)
    charges = priced(client)
    [time] = lines(charges)
    # 50 min as logged × 150.00 / 60 = 125.00, in the organization's currency
    assert (time.kind, time.contract_id, time.unit_price) == (Kind.TIME, None, D("150.00"))
    assert (time.billed_minutes, time.amount, time.currency) == (50, D("125.00"), "EUR")
    assert "no contract covers the work date" in time.description
    assert charges.totals() == {"EUR": D("125.00")}


def test_an_adjustment_is_a_line_of_its_own(org, finance):
    contract = _retainer(org)
    client = contract.client
    period = BillingPeriod.objects.create(organization=org, client=client, month=MONTH)
    adjustment = Adjustment.objects.create(
        organization=org,
        client=client,
        period=period,
        currency="EUR",
        amount=D("-120.00"),
        description="Credit for the outage",
        reason="SLA breach in August",
        created_by=finance,
    )
    charges = priced(client)
    [line] = lines(charges, Kind.ADJUSTMENT)
    assert (line.amount, line.quantity, line.unit_price) == (D("-120.00"), D("1"), D("-120.00"))
    assert line.description == "Adjustment: Credit for the outage"
    assert _sources(line, "adjustments") == [adjustment.pk]
    assert charges.totals() == {"EUR": D("1880.00")}  # 2000.00 - 120.00


def test_a_contract_in_another_currency_is_totalled_apart(org):
    dollars = _retainer(org, currency="USD", fee=D("1000.00"))
    _retainer(org, client=dollars.client, starts_on=on(16), fee=D("600.00"))
    # USD: 1000.00; EUR: 600.00 × 15/30 days = 300.00
    assert priced(dollars.client).totals() == {"USD": D("1000.00"), "EUR": D("300.00")}


# --- what blocks the month -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (Status.UNDECIDED, BlockerKind.UNDECIDED),
        (Status.UNCLEAR, BlockerKind.UNCLEAR),
        (Status.PENDING_APPROVAL, BlockerKind.PENDING_APPROVAL),
    ],
)
def test_time_without_a_clear_meaning_blocks_and_is_on_no_line(org, developer, status, kind):
    contract = _retainer(org)
    ticket = ticket_of(contract.client)
    entry = work(ticket, developer, on(4), 35, status)
    charges = priced(contract.client)
    assert [line.kind for line in lines(charges)] == [Kind.FEE]
    [blocker] = blockers_of(contract.client)
    assert (blocker.kind, blocker.ticket_id, blocker.minutes) == (kind, ticket.pk, 35)
    assert blocker.ticket_number == ticket.number
    assert blocker.portion_ids == list(entry.portions.values_list("pk", flat=True))
    usage = charges.usage[contract.pk]
    waiting = (
        usage.pending_minutes if status == Status.PENDING_APPROVAL else usage.undecided_minutes
    )
    assert waiting == 35


def test_time_waiting_for_approval_goes_back_to_the_account_manager(
    org, developer, account_manager
):
    client = ClientFactory(organization=org, account_manager=account_manager)
    _retainer(org, client=client)
    work(ticket_of(client), developer, on(4), 35, Status.PENDING_APPROVAL)
    [blocker] = blockers_of(client)
    assert blocker.owner_id == account_manager.pk
    assert blocker.actions == ("send_back",)


def test_excluded_work_without_a_decision_blocks_as_excluded(org, developer):
    contract = _retainer(org)
    ticket = ticket_of(contract.client)
    ScopeRuleFactory(
        contract=contract, request_type=ticket.request_type, treatment=Treatment.EXCLUDED
    )
    work(ticket, developer, on(4), 25, Status.UNDECIDED)
    [blocker] = blockers_of(contract.client)
    assert (blocker.kind, blocker.minutes) == (BlockerKind.EXCLUDED, 25)
    assert blocker.actions == ("classify", "write_off", "send_back")


def test_an_open_scope_check_blocks(org, developer, account_manager):
    contract = _retainer(org)
    ticket = ticket_of(contract.client)
    work(ticket, developer, on(4), 30)
    check = ScopeCheck.objects.create(
        organization=org,
        ticket=ticket,
        requested_by=developer,
        account_manager=account_manager,
        estimate_minutes=90,
        reason="More",
        client_explanation="More work",
    )
    [blocker] = blockers_of(contract.client)
    assert (blocker.kind, blocker.scope_check_id, blocker.owner_id) == (
        BlockerKind.SCOPE_CHECK,
        check.pk,
        account_manager.pk,
    )
    assert "90 min asked" in blocker.detail
    check.status = ScopeCheck.Status.APPROVED
    check.save()
    assert blockers_of(contract.client) == []


def test_an_open_threshold_flag_blocks_until_resolved(org, developer):
    contract = _retainer(org)
    ticket = ticket_of(contract.client)
    work(ticket, developer, on(4), 90)
    flag = ExceptionFlag.objects.create(
        organization=org,
        kind=ExceptionFlag.Kind.OVER_EXPECTED,
        subject_key=f"ticket:{ticket.pk}",
        ticket=ticket,
        client=contract.client,
        owner=developer,
        detail="90 of 60 min",
    )
    [blocker] = blockers_of(contract.client)
    assert (blocker.kind, blocker.flag_id, blocker.owner_id) == (
        BlockerKind.FLAG,
        flag.pk,
        developer.pk,
    )
    assert blocker.key == f"flag:{flag.pk}"
    flag.status = ExceptionFlag.Status.RESOLVED
    flag.save()
    assert blockers_of(contract.client) == []


def test_billable_time_without_a_rate_blocks(org, developer):
    contract = _tm(org, hourly_rate=D("0.00"))
    ticket = ticket_of(contract.client)
    work(ticket, developer, on(4), 45, Status.BILLABLE)
    charges = priced(contract.client)
    assert [line.minutes for line in charges.missing_rates] == [45]
    [blocker] = blockers_of(contract.client)
    assert (blocker.kind, blocker.minutes, blocker.contract_id) == (
        BlockerKind.MISSING_RATE,
        45,
        contract.pk,
    )
    assert blocker.actions == ("fix_terms",)


def test_a_month_of_settled_work_has_no_blockers(org, developer):
    contract = _retainer(org)
    ticket = ticket_of(contract.client)
    work(ticket, developer, on(4), 30)
    work(ticket, developer, on(5), 30, Status.BILLABLE)
    work(ticket, developer, on(6), 30, Status.NON_BILLABLE)
    assert blockers_of(contract.client) == []


def test_usage_is_read_from_the_same_computation(org, developer):
    contract = _retainer(org)
    work(ticket_of(contract.client), developer, on(4), 90)
    usage = client_usage(client=contract.client, on=on(30))[contract.pk]
    assert (usage.used, usage.left) == (90, 1110)
