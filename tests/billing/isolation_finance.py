"""Isolation-test data for finance: billing periods, drafts, lines,
adjustments, draft runs and period events (merged by tests/billing/isolation.py).

World keys: ``billing_period`` (open: the adjustment is billed in it),
``locked_period`` (locked, holding ``invoice_draft`` and ``invoice_line``),
``adjustment`` (corrects the locked period), ``draft_run`` and
``period_event`` (the locked period's "locked" event), ``block_top_up``
(prepaid minutes added to the world's contract in the open month)."""

import datetime
from decimal import Decimal

from billing.models import (
    Adjustment,
    BillingPeriod,
    DraftRun,
    InvoiceDraft,
    InvoiceLine,
    PeriodEvent,
)
from clients.models import BlockTopUp
from tests.billing import routes_finance_api
from tests.isolation_types import Route

ROUTES: dict[str, Route] = {**routes_finance_api.ROUTES}

LOCKED_MONTH = datetime.date(2026, 9, 1)
OPEN_MONTH = datetime.date(2026, 10, 1)


def build(organization, tag: str, world: dict) -> dict:
    client = world["client"]
    contract = world.get("contract")
    member = world["membership"]
    locked = BillingPeriod.objects.create(
        organization=organization, client=client, month=LOCKED_MONTH
    )
    # Drafts and lines are written while the period is open (the database
    # refuses them once it is locked), then the period locks.
    draft = InvoiceDraft.objects.create(
        organization=organization,
        period=locked,
        currency=client.organization.currency,
        total=Decimal("150.00"),
        cost=Decimal("60.00"),
    )
    line = InvoiceLine.objects.create(
        organization=organization,
        draft=draft,
        period=locked,
        position=1,
        kind=InvoiceLine.Kind.TIME,
        description=f"{tag} billable time",
        contract=contract,
        ticket=world.get("ticket"),
        minutes=90,
        billed_minutes=90,
        quantity=Decimal("1.5000"),
        unit=InvoiceLine.Unit.HOURS,
        unit_price=Decimal("100.0000"),
        amount=Decimal("150.00"),
        currency=draft.currency,
        computation=f"{tag}: 1:30 h at 100.00",
        sources={"entries": [world["time_entry"].pk] if world.get("time_entry") else []},
    )
    now = datetime.datetime(2026, 10, 2, 9, 0, tzinfo=datetime.UTC)
    BillingPeriod.objects.filter(pk=locked.pk).update(
        status=BillingPeriod.Status.LOCKED, locked_at=now, locked_by=member, version=2
    )
    locked.refresh_from_db()
    event = PeriodEvent.objects.create(
        organization=organization,
        period=locked,
        action=PeriodEvent.Action.LOCKED,
        actor=member,
        at=now,
        note=f"{tag} locked",
    )
    open_period = BillingPeriod.objects.create(
        organization=organization, client=client, month=OPEN_MONTH
    )
    adjustment = Adjustment.objects.create(
        organization=organization,
        client=client,
        period=open_period,
        corrects=locked,
        contract=contract,
        currency=draft.currency,
        description=f"{tag} credit",
        amount=Decimal("-20.00"),
        reason=f"{tag} billed twice",
        created_by=member,
    )
    run = DraftRun.objects.create(
        organization=organization,
        month=OPEN_MONTH,
        status=DraftRun.Status.DONE,
        total=1,
        done=1,
        started_by=member,
    )
    # clients' own world builder may already have made one.
    top_up = world.get("block_top_up") or BlockTopUp.objects.create(
        organization=organization,
        contract=world["contract"],
        added_on=datetime.date(2026, 10, 5),
        minutes=600,
        price=Decimal("900.00"),
        note=f"{tag} top-up",
    )
    return {
        "billing_period": open_period,
        "locked_period": locked,
        "invoice_draft": draft,
        "invoice_line": line,
        "adjustment": adjustment,
        "draft_run": run,
        "period_event": event,
        "block_top_up": top_up,
    }
