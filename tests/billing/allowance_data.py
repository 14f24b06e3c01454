"""A retainer's allowance crossed part way through an entry: the entry's one
portion is split between the included line and the overage line.

September 2025, a retainer with 1:00 h included and overage at 150.00/h; one
ticket, two included entries:

======  =======  ==============================================
entry   minutes  on which line
======  =======  ==============================================
first        30  included: 30 (whole)
second      100  included: 30 (the allowance left), overage: 70
======  =======  ==============================================

Overage 70 min × 150.00/h = 175.00. The drafts are computed and saved."""

from dataclasses import dataclass
from decimal import Decimal

from django_scopes import scopes_disabled

from billing.models import BillingPeriod, EntryPortion, InvoiceLine
from billing.services.periods import drafts_compute, period_get
from clients.models import Contract
from tests.billing.finance_helpers import MONTH, contract_of, on, ticket_of, work
from tests.factories import ClientFactory
from tickets.models import TimeEntry

OVERAGE = Decimal("175.00")


@dataclass
class Crossing:
    period: BillingPeriod
    first: TimeEntry
    second: TimeEntry
    first_portion: EntryPortion
    second_portion: EntryPortion
    included: InvoiceLine
    overage: InvoiceLine


def allowance_crossed(org, person, *, account_manager=None) -> Crossing:
    client = ClientFactory(organization=org, name="Initech", account_manager=account_manager)
    retainer = contract_of(
        org, Contract.Kind.RETAINER, client=client, name="Initech retainer",
        included_minutes=60, overage_rate=Decimal("150.00"),
    )  # fmt: skip
    ticket = ticket_of(client, "Server migration", retainer)
    first = work(ticket, person, on(2), 30)
    second = work(ticket, person, on(3), 100)
    with scopes_disabled():
        period = period_get(client=client, month=MONTH)
        drafts_compute(organization=org, month=MONTH, client_ids=[client.pk])
        return Crossing(
            period=period,
            first=first,
            second=second,
            first_portion=EntryPortion.objects.get(entry=first),
            second_portion=EntryPortion.objects.get(entry=second),
            included=InvoiceLine.objects.get(period=period, kind=InvoiceLine.Kind.INCLUDED),
            overage=InvoiceLine.objects.get(period=period, kind=InvoiceLine.Kind.OVERAGE),
        )
