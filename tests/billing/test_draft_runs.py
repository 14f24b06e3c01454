"""The month's draft job: every client's draft saved, batch after batch, with
its progress recorded; locked periods keep theirs."""

import datetime
from decimal import Decimal

from django.db.models import Sum

from billing.models import BillingPeriod, DraftRun, InvoiceDraft, InvoiceLine
from billing.services.periods import DRAFT_BATCH, draft_run_execute, drafts_compute
from clients.models import Contract
from msops.tenancy.scoping import activate_organization
from tests.factories import ClientFactory, ContractFactory, ContractRevisionFactory

NOVEMBER = datetime.date(2026, 11, 1)


def _clients(org, n):
    """``n`` clients on a fixed fee of 100.00 + their number (one fee line each)."""
    clients = []
    for i in range(n):
        client = ClientFactory(organization=org, name=f"Client {i:02d}")
        contract = ContractFactory(
            organization=org, client=client, kind=Contract.Kind.FIXED_FEE,
            starts_on=datetime.date(2026, 1, 1),
        )  # fmt: skip
        ContractRevisionFactory(organization=org, contract=contract, fee=Decimal(100 + i))
        clients.append(client)
    return clients


def test_more_clients_than_one_batch_are_all_saved_with_progress(org):
    n = DRAFT_BATCH + 6
    with activate_organization(org):
        clients = _clients(org, n)
        calls = []
        assert (
            drafts_compute(
                organization=org, month=NOVEMBER, progress=lambda d, t: calls.append((d, t))
            )
            == n
        )
        assert calls[-1] == (n, n) and calls[0][0] < n  # progress before the end
        drafts = InvoiceDraft.objects.filter(period__month=NOVEMBER)
        assert drafts.count() == n
        # 100 + 101 + … + (100 + n - 1), one fee line each, totals equal to their lines.
        expected = sum(Decimal(100 + i) for i in range(n))
        assert drafts.aggregate(t=Sum("total"))["t"] == expected
        assert (
            InvoiceLine.objects.filter(period__month=NOVEMBER).aggregate(a=Sum("amount"))["a"]
            == expected
        )
        assert InvoiceLine.objects.filter(period__client=clients[-1]).get().amount == Decimal(
            100 + n - 1
        )


def test_the_job_records_its_run_and_leaves_locked_periods_alone(org):
    with activate_organization(org):
        clients = _clients(org, 3)
        drafts_compute(organization=org, month=NOVEMBER)
        locked = BillingPeriod.objects.get(client=clients[0], month=NOVEMBER)
        before = list(InvoiceLine.objects.filter(period=locked).values_list("pk", "amount"))
        BillingPeriod.objects.filter(pk=locked.pk).update(status=BillingPeriod.Status.LOCKED)
        run = DraftRun.objects.create(organization=org, month=NOVEMBER)
        assert run.percent == 0  # queued: nothing done yet
        done = draft_run_execute(organization=org, run_id=run.pk)
        assert done.status == DraftRun.Status.DONE and done.finished_at is not None
        assert (done.done, done.total, done.percent) == (3, 3, 100)
        assert list(InvoiceLine.objects.filter(period=locked).values_list("pk", "amount")) == before
