"""A client's month for the export and finance API tests: every kind of line
an invoice export has to carry exactly, and text that would run as a formula
in a spreadsheet.

September 2025, a fixed fee of 10.00, billable time at 95.00/h (time as logged):

=====================  =======  ==========================================
line                   amount   why
=====================  =======  ==========================================
fee                     10.00   the terms' fee, 1 × 10.00
#t3 included             0.00   60 min included: 1.0 h at 0
#t1 billable time       39.58   25 min × 95.00/h = 39.5833 → 39.58; but
                                0.4167 h × 95.00 = 39.5865: exported as
                                1 × 39.58 with the time in the description
#t2 billable time      142.50   90 min: 1.5 h × 95.00, exact
#t4 written off          0.00   30 min: 0.5 h at 0
adjustment            -120.00   a credit correcting August, 1 × -120.00
total                   72.08
=====================  =======  ==========================================
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django_scopes import scopes_disabled

from billing.models import Adjustment, BillingPeriod, InvoiceDraft, InvoiceLine
from billing.services.periods import drafts_compute
from clients.models import Contract
from tests.billing.finance_helpers import MONTH, contract_of, on, ticket_of, work
from tests.factories import ClientFactory, TimeEntryFactory
from tickets.models import TimeEntry

D = Decimal
Status = TimeEntry.BillingStatus
AUGUST = datetime.date(2025, 8, 1)
AMOUNTS = [D("10.00"), D("0.00"), D("39.58"), D("142.50"), D("0.00"), D("-120.00")]
TOTAL = D("72.08")
CLIENT_NAME = '=HYPERLINK("http://evil.example","Acme")'
CONTRACT_NAME = "+1 support plan"


@dataclass
class Month:
    client: object
    contract: Contract
    period: BillingPeriod
    august: BillingPeriod
    adjustment: Adjustment
    tickets: dict
    entries: dict

    def draft(self) -> InvoiceDraft:
        with scopes_disabled():
            return InvoiceDraft.objects.get(period=self.period)

    def lines(self) -> list[InvoiceLine]:
        with scopes_disabled():
            return list(InvoiceLine.objects.filter(period=self.period).order_by("position"))


def month_of_work(org, person, *, account_manager=None, name: str = CLIENT_NAME) -> Month:
    """The month above, its drafts computed and saved (the period is open)."""
    client = ClientFactory(organization=org, name=name, account_manager=account_manager)
    contract = contract_of(
        org,
        Contract.Kind.FIXED_FEE,
        client=client,
        name=CONTRACT_NAME,
        fee=D("10.00"),
        hourly_rate=D("95.00"),
    )
    tickets = {
        "t1": ticket_of(client, "Printer offline", contract),
        "t2": ticket_of(client, "Mail down", contract),
        "t3": ticket_of(client, "@SUM(1+1) included", contract),
        "t4": ticket_of(client, "Migration", contract),
    }
    entries = {
        "t1": work(tickets["t1"], person, on(3), 25, Status.BILLABLE),
        "t2": work(tickets["t2"], person, on(4), 90, Status.BILLABLE),
        "t3": work(tickets["t3"], person, on(5), 60, Status.INCLUDED),
        "t4": work(tickets["t4"], person, on(6), 30, Status.NON_BILLABLE),
    }
    with scopes_disabled():
        TimeEntry.objects.filter(pk=entries["t1"].pk).update(notes="=cmd|' /C calc'!A0")
        TimeEntry.objects.filter(pk=entries["t2"].pk).update(notes="\tindented")
        TimeEntry.objects.filter(pk=entries["t3"].pk).update(notes="\rcarriage")
        TimeEntry.objects.filter(pk=entries["t4"].pk).update(notes="-2+3")
        august = BillingPeriod.objects.create(
            organization=org, client=client, month=AUGUST, status=BillingPeriod.Status.LOCKED
        )
        period = BillingPeriod.objects.create(organization=org, client=client, month=MONTH)
        adjustment = Adjustment.objects.create(
            organization=org,
            client=client,
            period=period,
            corrects=august,
            currency="EUR",
            description="-2 hours billed twice",
            amount=D("-120.00"),
            reason="=cmd billed twice in August",
            created_by=person,
        )
        drafts_compute(organization=org, month=MONTH, client_ids=[client.pk])
        period.refresh_from_db()
    return Month(client, contract, period, august, adjustment, tickets, entries)


def undecided_work(org, client, contract, person, minutes: int = 45):
    """A ticket of ``client`` with time and no decision in the month (it
    blocks the lock)."""
    ticket = ticket_of(client, "Waiting for a decision", contract)
    entry = TimeEntryFactory(
        ticket=ticket,
        person=person,
        work_date=on(10),
        minutes=minutes,
        billing_status=Status.UNDECIDED,
    )
    return ticket, entry
