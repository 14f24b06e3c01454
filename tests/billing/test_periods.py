"""The lock: a client's month locks only when nothing blocks it; once locked
nothing in it changes — the services refuse (``PeriodLocked``) and so does
the database (SQLSTATE ``MSLCK``), whatever writes; an admin unlocks with a
reason, on the record; corrections are adjustments in the next open month."""

import datetime
from decimal import Decimal

import psycopg
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection, transaction
from django_scopes import scopes_disabled

from billing.models import (
    Adjustment,
    BillingPeriod,
    EntryPortion,
    InvoiceDraft,
    InvoiceLine,
    PeriodEvent,
)
from billing.services import (
    entries_reclassify,
    time_entry_correct,
    time_entry_log,
    time_entry_remove,
)
from billing.services.periods import (
    PeriodLocked,
    adjustment_create,
    drafts_compute,
    period_get,
    period_lock,
    period_mark_exported,
    period_start_review,
    period_unlock,
)
from clients.models import Contract, ContractRevision, UnitCount
from tests.billing.finance_helpers import MONTH, on
from tests.billing.helpers import decide
from tests.factories import ClientFactory, ContractFactory, TimeEntryFactory
from tickets.models import TimeEntry

D = Decimal
Event = PeriodEvent.Action
Kind = InvoiceLine.Kind
OCTOBER = datetime.date(2025, 10, 1)
NOVEMBER = datetime.date(2025, 11, 1)


def _codes(error: ValidationError) -> set[str]:
    return {e.code for errors in error.error_dict.values() for e in errors}


@pytest.fixture
def open_ticket(open_ticket):
    """Tickets opened before the months they log work in."""
    opened_at = datetime.datetime(2025, 8, 1, 9, tzinfo=datetime.UTC)

    def _open(*args, **kwargs):
        kwargs.setdefault("opened_at", opened_at)
        return open_ticket(*args, **kwargs)

    return _open


def _log(ticket, person, day, minutes=30):
    return time_entry_log(ticket=ticket, person=person, work_date=day, minutes=minutes).entry


@pytest.fixture
def month(scoped, terms, open_ticket, developer):
    """September 2025 of a client on a 2000.00 retainer: 40 min decided
    included, nothing blocking."""
    ticket = open_ticket()
    entry = _log(ticket, developer, on(10), 40)
    decide(ticket, developer, "included")
    entry.refresh_from_db()
    period = period_get(client=terms["client"], month=MONTH)
    return {"client": terms["client"], "ticket": ticket, "entry": entry, "period": period}


@pytest.fixture
def locked(month, finance):
    month["period"] = period_lock(period=month["period"], actor=finance)
    month["entry"].refresh_from_db()
    return month


def _lines(period):
    return list(
        InvoiceLine.objects.filter(period=period)
        .order_by("position")
        .values_list("pk", "kind", "minutes", "amount")
    )


# --- locking ---------------------------------------------------------------------------
def test_the_lock_is_refused_while_exceptions_block_it_and_names_them(
    month, open_ticket, developer, finance
):
    waiting = open_ticket(title="VPN drops")
    _log(waiting, developer, on(11), 20)  # no decision yet
    unclear = open_ticket(title="Who asked for this?")
    _log(unclear, developer, on(12), 25)
    decide(unclear, developer, "unclear", reason="Ask the account manager")
    with pytest.raises(ValidationError) as error:
        period_lock(period=month["period"], actor=finance)
    [message] = error.value.message_dict["status"]
    assert message == (
        "2 exceptions still block this month (time without a decision, unclear time):"
        " resolve them first."
    )
    period = BillingPeriod.objects.get(pk=month["period"].pk)
    assert period.status == BillingPeriod.Status.OPEN
    assert not PeriodEvent.objects.filter(period=period).exists()
    assert not TimeEntry.objects.filter(ticket__client=month["client"], locked=True).exists()


def test_the_lock_freezes_the_draft_and_the_months_entries(month, finance):
    period = period_lock(period=month["period"], actor=finance)
    assert period.status == BillingPeriod.Status.LOCKED
    assert (period.locked_by, period.version) == (finance, 2)
    assert period.locked_at is not None
    [event] = PeriodEvent.objects.filter(period=period)
    assert (event.action, event.actor) == (Event.LOCKED, finance)
    month["entry"].refresh_from_db()
    assert month["entry"].locked
    # the retainer's fee; the 40 min included, on a zero line
    [draft] = InvoiceDraft.objects.filter(period=period)
    assert (draft.currency, draft.total) == ("EUR", D("2000.00"))
    assert [(kind, minutes, amount) for _, kind, minutes, amount in _lines(period)] == [
        (Kind.FEE, 0, D("2000.00")),
        (Kind.INCLUDED, 40, D("0.00")),
    ]


def test_only_finance_locks(month, developer, account_manager):
    for member in (developer, account_manager):
        with pytest.raises(PermissionDenied):
            period_lock(period=month["period"], actor=member)


def test_a_month_in_review_locks_and_a_locked_one_does_not_lock_twice(month, finance):
    period = period_start_review(period=month["period"], actor=finance)
    assert period.status == BillingPeriod.Status.IN_REVIEW
    assert InvoiceDraft.objects.get(period=period).total == D("2000.00")
    period = period_lock(period=period, actor=finance, version=period.version)
    assert period.status == BillingPeriod.Status.LOCKED
    with pytest.raises(PeriodLocked):
        period_lock(period=period, actor=finance)
    actions = list(PeriodEvent.objects.filter(period=period).values_list("action", flat=True))
    assert actions == [Event.REVIEW_STARTED, Event.LOCKED]


def test_a_stale_version_does_not_lock(month, finance):
    with pytest.raises(ValidationError) as error:
        period_lock(period=month["period"], actor=finance, version=7)
    assert "version" in error.value.message_dict
    assert BillingPeriod.objects.get(pk=month["period"].pk).status == BillingPeriod.Status.OPEN


# --- the services refuse -------------------------------------------------------------------
def test_time_cannot_be_logged_in_a_locked_month(locked, developer):
    with pytest.raises(PeriodLocked) as error:
        _log(locked["ticket"], developer, on(20))
    assert _codes(error.value) == {"period_locked"}
    assert "2025-09" in error.value.message_dict["work_date"][0]
    assert TimeEntry.objects.filter(ticket=locked["ticket"]).count() == 1
    # the next month is open
    assert _log(locked["ticket"], developer, on(2, OCTOBER)).work_date == on(2, OCTOBER)


def test_a_locked_entry_cannot_be_corrected_moved_or_removed(locked, developer):
    entry = locked["entry"]
    with pytest.raises(PeriodLocked):
        time_entry_correct(entry=entry, minutes=55)
    with pytest.raises(PeriodLocked):
        time_entry_correct(entry=entry, work_date=on(2, OCTOBER))
    with pytest.raises(PeriodLocked):
        time_entry_remove(entry=entry)
    entry.refresh_from_db()
    assert (entry.minutes, entry.work_date) == (40, on(10))
    assert EntryPortion.objects.filter(entry=entry).count() == 1


def test_an_open_months_entry_cannot_be_moved_into_a_locked_month(locked, developer):
    later = _log(locked["ticket"], developer, on(3, OCTOBER))
    with pytest.raises(PeriodLocked):
        time_entry_correct(entry=later, work_date=on(15))
    later.refresh_from_db()
    assert later.work_date == on(3, OCTOBER)


def test_locked_work_cannot_be_reclassified(locked, developer):
    ticket = locked["ticket"]
    ticket.refresh_from_db()
    with pytest.raises(ValidationError) as error:
        entries_reclassify(
            ticket=ticket,
            actor=developer,
            entries=[locked["entry"]],
            classification="billable",
            reason="Client's own fault",
            version=ticket.version,
        )
    assert _codes(error.value) == {"period_locked"}
    assert set(
        EntryPortion.objects.filter(entry=locked["entry"]).values_list("status", flat=True)
    ) == {TimeEntry.BillingStatus.INCLUDED}


def test_computing_drafts_leaves_a_locked_month_as_it_was(locked, org, developer):
    period = locked["period"]
    before = _lines(period)
    draft = InvoiceDraft.objects.get(period=period)
    # what priced the month changes: the fee doubles
    ContractRevision.objects.filter(contract__client=locked["client"]).update(fee=D("4000.00"))
    other = ClientFactory(organization=org)
    ContractFactory(organization=org, client=other, kind=Contract.Kind.FIXED_FEE)
    assert drafts_compute(organization=org, month=MONTH) == 2
    assert _lines(period) == before
    assert InvoiceDraft.objects.get(period=period).computed_at == draft.computed_at
    assert InvoiceDraft.objects.get(period=period).total == D("2000.00")
    # the open month of the other client was computed
    assert InvoiceDraft.objects.filter(period__client=other, period__month=MONTH).exists()


# --- the database refuses ------------------------------------------------------------------
def _copy(model, pk, **overrides):
    """INSERT of a copy of row ``pk`` (``overrides``: column → value)."""
    table = model._meta.db_table
    columns = [f.column for f in model._meta.concrete_fields if not f.primary_key]
    values = ", ".join("%s" if c in overrides else c for c in columns)
    params = [overrides[c] for c in columns if c in overrides]
    return (
        # names from the model's own metadata; values are parameters
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {values} FROM {table} WHERE id = %s",  # noqa: S608
        [*params, pk],
    )


def _rows(world):
    """The ids the raw statements write: a row of each guarded table in the month."""
    entry, period = world["entry"], world["period"]
    return {
        "entry": entry.pk,
        "bare_entry": world["bare_entry"].pk,
        "portion": EntryPortion.objects.get(entry=entry).pk,
        "line": InvoiceLine.objects.filter(period=period).first().pk,
        "draft": InvoiceDraft.objects.get(period=period).pk,
        "count": world["count"].pk,
        "spare": world["spare"].pk,
    }


STATEMENTS = {
    "entry-update": lambda r: (
        "UPDATE tickets_timeentry SET minutes = 41 WHERE id = %s",
        [r["entry"]],
    ),
    "entry-delete": lambda r: ("DELETE FROM tickets_timeentry WHERE id = %s", [r["bare_entry"]]),
    "entry-insert": lambda r: _copy(TimeEntry, r["entry"]),
    "portion-update": lambda r: (
        "UPDATE billing_entryportion SET status = 'billable' WHERE id = %s",
        [r["portion"]],
    ),
    "portion-delete": lambda r: ("DELETE FROM billing_entryportion WHERE id = %s", [r["portion"]]),
    "portion-insert": lambda r: _copy(EntryPortion, r["portion"], position=100),
    "line-update": lambda r: (
        "UPDATE billing_invoiceline SET amount = 1.00 WHERE id = %s",
        [r["line"]],
    ),
    "line-delete": lambda r: ("DELETE FROM billing_invoiceline WHERE id = %s", [r["line"]]),
    "line-insert": lambda r: _copy(InvoiceLine, r["line"], position=1000),
    "draft-update": lambda r: (
        "UPDATE billing_invoicedraft SET total = 0 WHERE id = %s",
        [r["draft"]],
    ),
    "draft-delete": lambda r: ("DELETE FROM billing_invoicedraft WHERE id = %s", [r["draft"]]),
    "draft-insert": lambda r: _copy(InvoiceDraft, r["draft"], currency="XXX"),
    "count-update": lambda r: (
        "UPDATE clients_unitcount SET units = 99 WHERE id = %s",
        [r["count"]],
    ),
    "count-delete": lambda r: ("DELETE FROM clients_unitcount WHERE id = %s", [r["count"]]),
    "count-insert": lambda r: _copy(UnitCount, r["count"], contract_id=r["spare"]),
}


class _Undo(Exception):
    """Rolls a savepoint back after a statement that went through."""


@pytest.mark.parametrize("statement", STATEMENTS)
def test_the_database_refuses_raw_writes_to_a_locked_month(
    month, terms, developer, finance, admin_member, statement
):
    client = month["client"]
    month["bare_entry"] = TimeEntryFactory(
        ticket=month["ticket"], person=developer, work_date=on(11), portion=False
    )
    month["count"] = UnitCount.objects.create(
        organization=client.organization, contract=terms["contract"], month=MONTH, units=5
    )
    month["spare"] = ContractFactory(
        organization=client.organization, client=client, starts_on=datetime.date(2030, 1, 1)
    )
    period = period_lock(period=month["period"], actor=finance)
    sql, params = STATEMENTS[statement](_rows({**month, "period": period}))
    with pytest.raises(DatabaseError) as error, transaction.atomic(), connection.cursor() as c:
        c.execute(sql, params)
    cause = error.value.__cause__
    assert isinstance(cause, psycopg.Error)
    assert cause.sqlstate == "MSLCK"
    assert "The billing period 2025-09 is locked" in str(cause)
    # the same statement goes through once an admin has reopened the month
    period_unlock(period=period, actor=admin_member, reason="Wrong unit count")
    with pytest.raises(_Undo), transaction.atomic(), connection.cursor() as c:
        c.execute(sql, params)
        raise _Undo


def test_the_database_refuses_an_exported_month_too(locked, finance):
    period = period_mark_exported(period=locked["period"], actor=finance)
    assert period.status == BillingPeriod.Status.EXPORTED
    with pytest.raises(DatabaseError) as error, transaction.atomic():
        TimeEntry.objects.filter(pk=locked["entry"].pk).update(notes="changed")
    assert error.value.__cause__.sqlstate == "MSLCK"


# --- unlocking -----------------------------------------------------------------------------
def test_unlocking_needs_an_admin_and_a_reason_and_is_recorded(
    locked, developer, finance, admin_member
):
    period = locked["period"]
    with pytest.raises(PermissionDenied):
        period_unlock(period=period, actor=finance, reason="Typo")
    with pytest.raises(ValidationError) as error:
        period_unlock(period=period, actor=admin_member, reason="  ")
    assert "reason" in error.value.message_dict
    assert BillingPeriod.objects.get(pk=period.pk).status == BillingPeriod.Status.LOCKED
    period = period_unlock(period=period, actor=admin_member, reason="Client disputes the fee")
    assert period.status == BillingPeriod.Status.IN_REVIEW
    event = PeriodEvent.objects.filter(period=period).latest("at", "pk")
    assert (event.action, event.actor, event.note) == (
        Event.UNLOCKED,
        admin_member,
        "Client disputes the fee",
    )
    locked["entry"].refresh_from_db()
    assert not locked["entry"].locked
    assert _log(locked["ticket"], developer, on(20)).work_date == on(20)  # open again
    with pytest.raises(ValidationError):
        period_unlock(period=period, actor=admin_member, reason="Again")  # not locked


def test_period_events_are_append_only(locked):
    event = PeriodEvent.objects.get(period=locked["period"])
    with pytest.raises(DatabaseError), transaction.atomic():
        PeriodEvent.objects.filter(pk=event.pk).update(note="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        PeriodEvent.objects.filter(pk=event.pk).delete()
    event.refresh_from_db()
    assert (event.action, event.note) == (Event.LOCKED, "")


# --- adjustments ---------------------------------------------------------------------------
def test_an_adjustment_lands_in_the_next_open_month_and_the_locked_one_stays(locked, org, finance):
    september = locked["period"]
    before = _lines(september)
    assert not BillingPeriod.objects.filter(month=OCTOBER).exists()
    adjustment = adjustment_create(
        corrects=september,
        actor=finance,
        description="Credit for the outage",
        amount="-120.00",
        reason="SLA breached on 12 September",
    )
    october = adjustment.period
    assert (october.month, october.status) == (OCTOBER, BillingPeriod.Status.OPEN)
    assert (adjustment.corrects, adjustment.amount, adjustment.currency) == (
        september,
        D("-120.00"),
        "EUR",
    )
    drafts_compute(organization=org, month=OCTOBER, client_ids=[locked["client"].pk])
    [line] = InvoiceLine.objects.filter(period=october, kind=Kind.ADJUSTMENT)
    assert line.amount == D("-120.00")
    assert line.description == "Adjustment: Credit for the outage (corrects 2025-09)"
    assert line.sources == {"adjustments": [adjustment.pk]}
    # October: the fee 2000.00 less the credit 120.00
    assert InvoiceDraft.objects.get(period=october).total == D("1880.00")
    assert _lines(september) == before
    assert InvoiceDraft.objects.get(period=september).total == D("2000.00")


def test_a_month_already_corrected_by_an_adjustment_is_not_unlocked(locked, admin_member, finance):
    adjustment_create(
        corrects=locked["period"], actor=finance, description="Credit", amount="-50",
        reason="Goodwill",
    )  # fmt: skip
    with pytest.raises(ValidationError) as error:
        period_unlock(period=locked["period"], actor=admin_member, reason="Fix an entry")
    assert "already corrected by adjustments billed in 2025-10" in str(error.value)
    locked["period"].refresh_from_db()
    assert locked["period"].status == BillingPeriod.Status.LOCKED


def test_an_adjustment_skips_months_that_are_locked_too(locked, finance):
    october = period_lock(period=period_get(client=locked["client"], month=OCTOBER), actor=finance)
    adjustment = adjustment_create(
        corrects=locked["period"],
        actor=finance,
        description="Credit",
        amount=D("-50"),
        reason="Goodwill",
    )
    assert adjustment.period.month == NOVEMBER
    assert adjustment.period.status == BillingPeriod.Status.OPEN
    assert adjustment.amount == D("-50.00")
    assert october.status == BillingPeriod.Status.LOCKED


def test_an_open_month_is_corrected_by_editing_the_work_not_by_an_adjustment(month, finance):
    with pytest.raises(ValidationError) as error:
        adjustment_create(
            corrects=month["period"],
            actor=finance,
            description="Credit",
            amount="-10.00",
            reason="Goodwill",
        )
    assert "corrects" in error.value.message_dict
    assert not Adjustment.objects.exists()


def test_an_adjustment_into_a_locked_month_is_refused_by_the_database(locked, finance):
    with scopes_disabled(), pytest.raises(DatabaseError) as error, transaction.atomic():
        Adjustment.objects.create(
            organization=locked["period"].organization,
            client=locked["client"],
            period=locked["period"],
            currency="EUR",
            description="Sneaky",
            amount=D("1.00"),
            reason="None",
            created_by=finance,
        )
    assert error.value.__cause__.sqlstate == "MSLCK"


# --- export --------------------------------------------------------------------------------
def test_only_a_locked_month_is_marked_exported(month, finance, developer):
    with pytest.raises(ValidationError) as error:
        period_mark_exported(period=month["period"], actor=finance)
    assert "status" in error.value.message_dict
    assert BillingPeriod.objects.get(pk=month["period"].pk).status == BillingPeriod.Status.OPEN
    period = period_lock(period=month["period"], actor=finance)
    period = period_mark_exported(period=period, actor=finance)
    assert (period.status, period.exported_by) == (BillingPeriod.Status.EXPORTED, finance)
    assert PeriodEvent.objects.filter(period=period, action=Event.EXPORTED).count() == 1
    with pytest.raises(PeriodLocked):
        _log(month["ticket"], developer, on(21))  # exported is closed too
