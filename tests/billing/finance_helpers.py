"""Builders for the finance tests (pricing, periods): a client on a contract
of one kind with its terms, work with a chosen billing meaning on a chosen
day, and the month priced by ``billing.pricing``.

Work is made with the factories (one portion per entry, the status given), so
a test states exactly what the pricing module gets; the tests that show a
meaning arriving through decisions use ``tests.billing.helpers`` instead. All
of it runs with scopes off (the factories' way)."""

import datetime
from decimal import Decimal

from django_scopes import scopes_disabled

from billing.models import BillingDecision, EntryPortion, ScopeCheck
from billing.pricing import ClientCharges, month_blockers, price_client_month, price_month
from clients.models import Contract
from tests.factories import (
    ClientFactory,
    ContractFactory,
    ContractRevisionFactory,
    TicketFactory,
    TimeEntryFactory,
)
from tickets.models import TimeEntry

Status = TimeEntry.BillingStatus
D = Decimal

# September 2025: 30 days, well in the past whatever day the suite runs.
MONTH = datetime.date(2025, 9, 1)
CONTRACT_START = datetime.date(2025, 1, 1)


def on(day: int, month: datetime.date = MONTH) -> datetime.date:
    """The ``day``-th of ``month``."""
    return month.replace(day=day)


def revise(contract: Contract, effective_from: datetime.date | None = None, **fields):
    """A terms revision with nothing implied: no fee, no allowance, no
    overage rate, time as logged (increment 1, no minimum) unless given."""
    values = {
        "fee": D("0.00"),
        "included_minutes": 0,
        "hourly_rate": D("120.00"),
        "overage_rate": None,
        "rounding_increment_minutes": 1,
        "minimum_charge_minutes": 0,
    }
    values.update(fields)
    return ContractRevisionFactory(
        contract=contract, effective_from=effective_from or contract.starts_on, **values
    )


def contract_of(
    org,
    kind: str,
    *,
    client=None,
    starts_on: datetime.date = CONTRACT_START,
    period: str = Contract.Period.MONTHLY,
    **fields,
) -> Contract:
    """A contract of ``kind`` with its first terms (``terms`` fields in
    ``fields``; the rest go on the contract)."""
    contract_fields = {
        k: fields.pop(k) for k in ("ends_on", "tier_mode", "currency", "name") if k in fields
    }
    contract = ContractFactory(
        organization=org,
        client=client or ClientFactory(organization=org),
        kind=kind,
        period=period,
        starts_on=starts_on,
        **contract_fields,
    )
    revise(contract, **fields)
    return contract


# The tickets are opened on the contracts' first day: work logged on them
# through the services in the months after needs no reason.
OPENED_AT = datetime.datetime(2025, 1, 1, 9, tzinfo=datetime.UTC)


def ticket_of(client, title: str | None = None, contract: Contract | None = None):
    fields = {"title": title} if title else {}
    return TicketFactory(
        organization=client.organization,
        client=client,
        contract=contract,
        opened_at=OPENED_AT,
        **fields,
    )


def work(
    ticket,
    person,
    day: datetime.date,
    minutes: int,
    status: str = Status.INCLUDED,
    decision: BillingDecision | None = None,
) -> TimeEntry:
    """An entry of ``minutes`` on ``day`` whose one portion has ``status``
    (under the rule in force on ``day``) and, if given, ``decision``."""
    entry = TimeEntryFactory(
        ticket=ticket, person=person, work_date=day, minutes=minutes, billing_status=status
    )
    if decision is not None:
        with scopes_disabled():
            EntryPortion.objects.filter(entry=entry).update(decision=decision)
    return entry


def approved_check(ticket, person, *, estimate: int, bill_as: str = ScopeCheck.BillAs.ACTUAL):
    """An approved scope check on ``ticket`` and the billable decision that
    answers it (the decision the check's work carries)."""
    with scopes_disabled():
        check = ScopeCheck.objects.create(
            organization=ticket.organization,
            ticket=ticket,
            requested_by=person,
            estimate_minutes=estimate,
            reason="Extra work",
            client_explanation="Extra work, billed at the agreed rate.",
            status=ScopeCheck.Status.APPROVED,
            bill_as=bill_as,
        )
        decision = BillingDecision.objects.create(
            organization=ticket.organization,
            ticket=ticket,
            classification="billable",
            suggested_classification="needs_approval",
            decided_by=person,
            scope_check=check,
        )
    return check, decision


def priced(client, month: datetime.date = MONTH) -> ClientCharges:
    with scopes_disabled():
        return price_client_month(client=client, month=month)


def blockers_of(client, month: datetime.date = MONTH):
    with scopes_disabled():
        charges = price_month(organization=client.organization, month=month, client_ids=[client.pk])
        return month_blockers(
            organization_id=client.organization_id, month=month, charges=charges
        ).get(client.pk, [])


def lines(charges: ClientCharges, *kinds: str):
    """The charges' lines of ``kinds`` (all lines: none given), in order."""
    return [line for line in charges.lines if not kinds or line.kind in kinds]


def amounts(charges: ClientCharges, *kinds: str) -> list[Decimal]:
    return [line.amount for line in lines(charges, *kinds)]
