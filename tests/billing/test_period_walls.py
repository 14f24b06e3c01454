"""What prices a locked month can't change either: terms, scope rules, unit
counts and top-ups dated in it are refused by the clients services (on every
database, through ``msops.period_guard``) and by PostgreSQL's triggers; the
draft job leaves a period locked while it priced; margin sets only the work
charged in the organization's currency against its revenue."""

import datetime
from decimal import Decimal
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction

from billing.models import BillingPeriod, InvoiceLine
from billing.pricing import price_client_month
from billing.services import periods
from billing.services.periods import drafts_compute, period_get, period_lock
from clients.models import Contract, Treatment
from clients.services import (
    block_top_up_create,
    contract_revision_create,
    scope_rule_create,
    unit_count_set,
)
from tests.billing.finance_helpers import MONTH, contract_of, on, ticket_of, work
from tests.factories import RequestTypeFactory

D = Decimal


def _codes(error: ValidationError) -> set[str]:
    return {e.code for errors in error.error_dict.values() for e in errors}


def _lock(client, finance, month=MONTH):
    return period_lock(period=period_get(client=client, month=month), actor=finance)


def test_terms_rules_counts_and_top_ups_dated_in_a_locked_month_are_refused(scoped, finance):
    org = scoped
    retainer = contract_of(org, Contract.Kind.RETAINER, fee=D("1000.00"))
    per_unit = contract_of(org, Contract.Kind.PER_UNIT, client=retainer.client)
    block = contract_of(org, Contract.Kind.BLOCK, client=retainer.client)
    unit_count_set(organization=org, contract=per_unit, month=on(1), units=0)
    _lock(retainer.client, finance)
    rtype = RequestTypeFactory(organization=org)
    attempts = {
        "effective_from": lambda: contract_revision_create(
            organization=org, contract=retainer, effective_from=on(15), terms={"fee": D("1")}
        ),
        "month": lambda: unit_count_set(organization=org, contract=per_unit, month=on(1), units=12),
        "added_on": lambda: block_top_up_create(
            organization=org, contract=block, added_on=on(3), minutes=600, price=D("900.00")
        ),
    }
    for field, attempt in attempts.items():
        with pytest.raises(ValidationError) as error:
            attempt()
        assert "period_locked" in _codes(error.value), field
        assert field in error.value.error_dict, field
    with pytest.raises(ValidationError) as error:
        scope_rule_create(
            organization=org, contract=retainer, request_type=rtype,
            treatment=Treatment.BILLABLE, effective_from=on(20),
        )  # fmt: skip
    assert "period_locked" in _codes(error.value)
    # The month after is open: the same writes go through there.
    nxt = (MONTH + datetime.timedelta(days=32)).replace(day=1)
    unit_count_set(organization=org, contract=per_unit, month=nxt, units=12)
    contract_revision_create(
        organization=org, contract=retainer, effective_from=nxt, terms={"fee": D("1")}
    )


@pytest.mark.parametrize(
    "table,column", [("clients_contractrevision", "fee"), ("clients_scoperule", "explanation")]
)
def test_the_database_refuses_terms_and_rules_of_a_locked_month(scoped, finance, table, column):
    org = scoped
    contract = contract_of(org, Contract.Kind.RETAINER, fee=D("1000.00"), effective_from=on(1))
    RequestTypeFactory(organization=org)
    if table == "clients_scoperule":
        from tests.factories import ScopeRuleFactory

        ScopeRuleFactory(organization=org, contract=contract, effective_from=on(5))
    _lock(contract.client, finance)
    value = "1.00" if column == "fee" else "changed"
    sql = f"UPDATE {table} SET {column} = %s WHERE contract_id = %s"  # noqa: S608 (fixed names)
    with (
        pytest.raises(DatabaseError) as error,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [value, contract.pk])
    assert error.value.__cause__.sqlstate == "MSLCK"


def test_a_period_locked_while_the_job_priced_keeps_its_draft(scoped, finance, developer):
    org = scoped
    contract = contract_of(org, Contract.Kind.FIXED_FEE, fee=D("500.00"))
    client = contract.client
    drafts_compute(organization=org, month=MONTH)
    before = list(InvoiceLine.objects.filter(period__client=client).values_list("pk", "amount"))
    real = periods.price_month

    def price_then_lock(**kwargs):
        charges = real(**kwargs)
        # Finance locks the month while the job is still pricing it.
        BillingPeriod.objects.filter(client=client, month=MONTH).update(
            status=BillingPeriod.Status.LOCKED
        )
        return charges

    with mock.patch.object(periods, "price_month", price_then_lock):
        drafts_compute(organization=org, month=MONTH)
    after = list(InvoiceLine.objects.filter(period__client=client).values_list("pk", "amount"))
    assert after == before


def test_margin_counts_only_the_work_charged_in_the_organizations_currency(scoped, developer):
    org = scoped  # the organization's currency is EUR in the fixtures
    developer.cost_rate = D("60.00")
    developer.save()
    eur = contract_of(org, Contract.Kind.TIME_AND_MATERIALS, currency=org.currency,
                      hourly_rate=D("100.00"))  # fmt: skip
    usd = contract_of(org, Contract.Kind.TIME_AND_MATERIALS, client=eur.client, currency="XTS",
                      hourly_rate=D("100.00"))  # fmt: skip
    work(ticket_of(eur.client, contract=eur), developer, on(3), 60, "billable")
    work(ticket_of(eur.client, contract=usd), developer, on(4), 30, "billable")
    charges = price_client_month(client=eur.client, month=MONTH)
    # 60 min at 60.00/h on the EUR work; the 30 min charged in XTS are not set against EUR.
    assert charges.cost == D("60.00")
    assert charges.totals() == {org.currency: D("100.00"), "XTS": D("50.00")}


def test_terms_later_in_a_quarter_whose_fee_month_is_locked_are_refused(scoped, finance):
    """A quarter's fee is billed in its first month: new terms later in the
    quarter would change a fee already invoiced, so they wait for the next."""
    org = scoped
    quarter = datetime.date(2025, 7, 1)  # MONTH (September) is its last month
    contract = contract_of(
        org, Contract.Kind.RETAINER, period=Contract.Period.QUARTERLY, fee=D("3000.00"),
        starts_on=datetime.date(2025, 1, 1),
    )  # fmt: skip
    _lock(contract.client, finance, month=quarter)
    with pytest.raises(ValidationError) as error:
        contract_revision_create(
            organization=org, contract=contract, effective_from=on(15), terms={"fee": D("6000")}
        )
    assert "period_locked" in _codes(error.value)
    assert "2025-07" in str(error.value)
    # The next quarter is open: its terms go through.
    contract_revision_create(
        organization=org,
        contract=contract,
        effective_from=datetime.date(2025, 10, 1),
        terms={"fee": D("6000")},
    )


def test_moving_a_contracts_dates_or_pricing_across_a_locked_month_is_refused(scoped, finance):
    from clients.services import contract_update

    org = scoped
    contract = contract_of(org, Contract.Kind.RETAINER, fee=D("1000.00"))
    _lock(contract.client, finance)  # September 2025
    for data, field in (
        ({"starts_on": datetime.date(2025, 10, 1)}, "starts_on"),  # September no longer covered
        ({"ends_on": on(20)}, "ends_on"),  # ends inside September
        ({"currency": "USD"}, "currency"),
    ):
        with pytest.raises(ValidationError) as error:
            contract_update(contract=contract, data=data)
        assert field in error.value.error_dict and "period_locked" in _codes(error.value)
        contract.refresh_from_db()
    assert (contract.starts_on, contract.ends_on, contract.currency) == (
        datetime.date(2025, 1, 1), None, "EUR",
    )  # fmt: skip
    # Ending it after the locked month goes through.
    contract_update(contract=contract, data={"ends_on": datetime.date(2025, 12, 31)})


def test_terms_later_in_a_quarter_are_refused_when_a_month_before_them_is_locked(scoped, finance):
    """New terms on 15 September change the quarter's pro-rated allowance, and
    so August's overage: a locked August refuses them, July open or not."""
    org = scoped
    contract = contract_of(
        org, Contract.Kind.RETAINER, period=Contract.Period.QUARTERLY, fee=D("3000.00"),
        starts_on=datetime.date(2025, 1, 1),
    )  # fmt: skip
    _lock(contract.client, finance, month=datetime.date(2025, 8, 1))
    with pytest.raises(ValidationError) as error:
        contract_revision_create(
            organization=org, contract=contract, effective_from=on(15), terms={"fee": D("6000")}
        )
    assert "2025-08" in str(error.value)


def test_a_write_in_a_month_without_a_period_opens_one_that_a_lock_then_waits_on(
    scoped, developer, open_ticket
):
    from billing.services import time_entry_log
    from msops.timezones import organization_today

    ticket = open_ticket()
    today = organization_today(scoped)
    assert not BillingPeriod.objects.filter(client=ticket.client, month=today.replace(day=1))
    time_entry_log(ticket=ticket, person=developer, work_date=today, minutes=15)
    period = BillingPeriod.objects.get(client=ticket.client, month=today.replace(day=1))
    assert period.status == BillingPeriod.Status.OPEN
