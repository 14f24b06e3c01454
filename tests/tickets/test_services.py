import datetime
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from clients.models import Client, Treatment
from msops.tenancy.models import Role
from msops.tenancy.scoping import activate_organization
from tests.factories import (
    ClientFactory,
    ContractFactory,
    ContractRevisionFactory,
    MembershipFactory,
    RequestTypeFactory,
    ScopeRuleFactory,
)
from tests.tickets.helpers import count, fresh
from tickets.models import BillingMoment, Ticket, TimeEntry
from tickets.services import (
    LOCKED_MESSAGE,
    TicketConflict,
    moment_raise,
    ticket_delete,
    ticket_open,
    ticket_update,
    time_entry_delete,
    time_entry_update,
)

AMSTERDAM = datetime.timezone(datetime.timedelta(hours=2))  # CEST, for readable instants


def org_today(org) -> datetime.date:
    return timezone.localdate(timezone=org.tzinfo)


# --- opening ----------------------------------------------------------------------
def test_tickets_are_numbered_one_after_another_within_an_organization(open_ticket):
    numbers = [open_ticket(title=f"Ticket {i}").number for i in range(3)]
    assert numbers == [1, 2, 3]


def test_each_organization_numbers_its_own_tickets_from_one(open_ticket, other_org, stranger):
    open_ticket()
    open_ticket()
    client = ClientFactory(organization=other_org)
    request_type = RequestTypeFactory(organization=other_org)
    theirs = open_ticket(
        organization=other_org, opened_by=stranger, client=client, request_type=request_type
    )
    assert theirs.number == 1
    assert open_ticket().number == 3


@pytest.mark.django_db(transaction=True)
def test_tickets_opened_at_the_same_moment_get_distinct_numbers(org, developer, terms):
    barrier = threading.Barrier(6)
    numbers, failures = [], []

    def open_one(i):
        try:
            barrier.wait()
            with activate_organization(org):
                ticket = ticket_open(
                    organization=org,
                    opened_by=developer,
                    client=terms.client,
                    request_type=terms.request_type,
                    title=f"Parallel {i}",
                    priority="normal",
                    source="email",
                )
            numbers.append(ticket.number)
        except Exception as error:  # reported below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=open_one, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert sorted(numbers) == [1, 2, 3, 4, 5, 6]


def test_the_contract_in_force_on_the_opening_date_is_recorded(open_ticket, terms):
    terms.contract.ends_on = datetime.date(2025, 5, 31)
    terms.contract.save()
    renewal = ContractFactory(client=terms.client, starts_on=datetime.date(2025, 6, 1))
    before = open_ticket(opened_at=datetime.datetime(2025, 5, 31, 12, 0, tzinfo=datetime.UTC))
    after = open_ticket(opened_at=datetime.datetime(2025, 6, 1, 12, 0, tzinfo=datetime.UTC))
    assert before.contract == terms.contract
    assert after.contract == renewal


def test_the_opening_date_is_the_organizations_date_not_utcs(open_ticket, terms):
    terms.contract.ends_on = datetime.date(2025, 5, 31)
    terms.contract.save()
    renewal = ContractFactory(client=terms.client, starts_on=datetime.date(2025, 6, 1))
    # 22:30 UTC on 31 May is 00:30 on 1 June in Amsterdam.
    ticket = open_ticket(opened_at=datetime.datetime(2025, 5, 31, 22, 30, tzinfo=datetime.UTC))
    assert ticket.contract == renewal


def test_sla_dues_come_from_the_contracts_target_for_the_priority(open_ticket):
    opened_at = datetime.datetime(2025, 3, 3, 9, 0, tzinfo=AMSTERDAM)
    normal = open_ticket(opened_at=opened_at)
    urgent = open_ticket(opened_at=opened_at, priority="urgent")
    assert normal.first_response_due == opened_at + datetime.timedelta(minutes=60)
    assert normal.resolution_due == opened_at + datetime.timedelta(hours=8)
    assert urgent.first_response_due == opened_at + datetime.timedelta(minutes=15)
    assert urgent.resolution_due == opened_at + datetime.timedelta(hours=2)


def test_a_priority_without_a_target_and_a_client_without_a_contract_have_no_dues(open_ticket, org):
    assert open_ticket(priority="low").resolution_due is None
    uncovered = open_ticket(client=ClientFactory(organization=org, name="No contract yet"))
    assert uncovered.contract is None
    assert uncovered.first_response_due is None and uncovered.resolution_due is None


def test_opening_records_a_ticket_opened_moment_with_the_rule_in_plain_words(
    open_ticket, developer
):
    ticket = open_ticket()
    with activate_organization(ticket.organization):
        moments = list(BillingMoment.objects.filter(ticket=ticket))
    assert [(m.kind, m.status, m.raised_by) for m in moments] == [
        (BillingMoment.Kind.TICKET_OPENED, BillingMoment.Status.OPEN, developer)
    ]
    assert moments[0].detail == "Troubleshooting — included, about 60 min"


@pytest.mark.parametrize("field", ["client", "request_type", "assignee"])
def test_another_organizations_object_is_refused_on_its_field(
    open_ticket, other_org, stranger, field
):
    foreign = {
        "client": lambda: ClientFactory(organization=other_org),
        "request_type": lambda: RequestTypeFactory(organization=other_org),
        "assignee": lambda: stranger,
    }[field]()
    with pytest.raises(ValidationError) as error:
        open_ticket(**{field: foreign})
    assert field in error.value.message_dict
    assert count(Ticket) == 0 and count(BillingMoment) == 0


def test_an_ended_client_and_a_retired_request_type_are_refused(open_ticket, terms, org):
    ended = ClientFactory(organization=org, status=Client.Status.ENDED)
    retired = RequestTypeFactory(organization=org, is_active=False)
    with pytest.raises(ValidationError) as error:
        open_ticket(client=ended, request_type=retired, title="  ")
    assert set(error.value.message_dict) == {"client", "request_type", "title"}


# --- changing -----------------------------------------------------------------------
def test_a_change_with_the_current_version_saves_and_bumps_the_version(open_ticket, developer):
    ticket = open_ticket()
    with activate_organization(ticket.organization):
        changed = ticket_update(
            ticket=ticket, actor=developer, version=1, status="in_progress", assignee=developer
        )
    assert (changed.status, changed.assignee, changed.version) == ("in_progress", developer, 2)
    assert changed.first_responded_at is not None
    assert fresh(ticket).version == 2


def test_a_stale_version_raises_a_conflict_with_the_current_ticket_and_saves_nothing(
    open_ticket, developer, account_manager
):
    ticket = open_ticket()
    with activate_organization(ticket.organization):
        ticket_update(ticket=ticket, actor=account_manager, version=1, priority="high")
        with pytest.raises(TicketConflict) as conflict:
            ticket_update(ticket=ticket, actor=developer, version=1, status="closed")
    assert conflict.value.current.priority == "high"
    assert conflict.value.current.version == 2
    stored = fresh(ticket)
    assert (stored.status, stored.version, stored.resolved_at) == ("new", 2, None)


def test_resolving_sets_resolved_at_and_reopening_clears_it(open_ticket, developer):
    ticket = open_ticket()
    with activate_organization(ticket.organization):
        resolved = ticket_update(ticket=ticket, actor=developer, version=1, status="resolved")
        assert resolved.resolved_at is not None
        reopened = ticket_update(ticket=ticket, actor=developer, version=2, status="in_progress")
    assert reopened.resolved_at is None


def test_a_priority_change_recomputes_the_sla_dues(open_ticket, developer):
    opened_at = datetime.datetime(2025, 3, 3, 9, 0, tzinfo=AMSTERDAM)
    ticket = open_ticket(opened_at=opened_at)
    with activate_organization(ticket.organization):
        urgent = ticket_update(ticket=ticket, actor=developer, version=1, priority="urgent")
        low = ticket_update(ticket=ticket, actor=developer, version=2, priority="low")
    assert urgent.resolution_due == opened_at + datetime.timedelta(hours=2)
    assert low.resolution_due is None and low.first_response_due is None


def test_moving_to_implementation_raises_a_phase_change_moment_once(open_ticket, developer):
    ticket = open_ticket()
    with activate_organization(ticket.organization):
        ticket_update(ticket=ticket, actor=developer, version=1, phase="implementation")
        ticket_update(ticket=ticket, actor=developer, version=2, phase="implementation")
        kinds = list(
            BillingMoment.objects.filter(ticket=ticket)
            .order_by("pk")
            .values_list("kind", flat=True)
        )
    assert kinds == ["ticket_opened", "phase_change"]


def test_a_ticket_is_not_assigned_to_finance(open_ticket, finance):
    with pytest.raises(ValidationError) as error:
        open_ticket(assignee=finance)
    assert "not finance" in error.value.message_dict["assignee"][0]


def test_bad_values_are_field_errors_and_change_nothing(open_ticket, developer, stranger):
    ticket = open_ticket()
    with activate_organization(ticket.organization), pytest.raises(ValidationError) as error:
        ticket_update(
            ticket=ticket, actor=developer, version=1, status="done", assignee=stranger, title=""
        )
    assert set(error.value.message_dict) == {"status", "assignee", "title"}
    assert fresh(ticket).version == 1


def test_a_ticket_with_time_logged_cannot_be_deleted(open_ticket, log_time, developer):
    spare = open_ticket()
    worked = open_ticket()
    log_time(worked, developer)
    with activate_organization(spare.organization):
        ticket_delete(ticket=spare)
        with pytest.raises(ValidationError):
            ticket_delete(ticket=worked)
    assert count(Ticket) == 1
    assert count(BillingMoment, ticket=worked) == 1


# --- logging time ---------------------------------------------------------------------
def test_logging_time_keeps_the_tickets_total(open_ticket, log_time, developer):
    ticket = open_ticket()
    logged = log_time(ticket, developer, minutes=45)
    log_time(ticket, developer, minutes=30)
    assert logged.replayed is False
    assert fresh(ticket).logged_minutes == 75


def test_time_cannot_be_logged_for_a_future_date_in_the_organizations_timezone(
    open_ticket, log_time, developer, org
):
    ticket = open_ticket()
    with pytest.raises(ValidationError) as error:
        log_time(ticket, developer, work_date=org_today(org) + datetime.timedelta(days=1))
    assert "future" in error.value.message_dict["work_date"][0]
    assert log_time(ticket, developer, work_date=org_today(org)).entry.pk


@pytest.mark.parametrize("minutes", [0, -5, 1441, 30.5, "30"])
def test_minutes_outside_one_to_1440_whole_minutes_are_refused_and_nothing_is_saved(
    open_ticket, log_time, developer, minutes
):
    ticket = open_ticket()
    with pytest.raises(ValidationError) as error:
        log_time(ticket, developer, minutes=minutes)
    assert "minutes" in error.value.message_dict
    assert count(TimeEntry) == 0
    assert fresh(ticket).logged_minutes == 0


@pytest.mark.parametrize("minutes", [1, 1440])
def test_one_minute_and_a_whole_day_are_accepted(open_ticket, log_time, developer, minutes):
    ticket = open_ticket()
    assert log_time(ticket, developer, minutes=minutes).entry.minutes == minutes


def test_a_member_of_another_organization_cannot_log_time_here(open_ticket, log_time, stranger):
    ticket = open_ticket()
    with pytest.raises(ValidationError) as error:
        log_time(ticket, stranger)
    assert "person" in error.value.message_dict


def test_the_rate_in_force_on_the_work_date_and_the_cost_rate_are_snapshotted(
    open_ticket, log_time, terms, org
):
    ContractRevisionFactory(
        contract=terms.contract,
        effective_from=datetime.date(2025, 6, 1),
        hourly_rate=Decimal("150.00"),
    )
    person = MembershipFactory(organization=org, role=Role.DEVELOPER, cost_rate=Decimal("55.00"))
    ticket = open_ticket()
    may = log_time(ticket, person, work_date=datetime.date(2025, 5, 31)).entry
    june = log_time(ticket, person, work_date=datetime.date(2025, 6, 2)).entry
    assert (may.rate, june.rate) == (Decimal("120.00"), Decimal("150.00"))
    assert may.cost_rate == june.cost_rate == Decimal("55.00")
    person.cost_rate = Decimal("70.00")
    person.save()
    assert fresh(may).cost_rate == Decimal("55.00")  # a snapshot, not a link


def test_a_scope_rules_rate_override_wins(open_ticket, log_time, terms, developer, org):
    special = RequestTypeFactory(organization=org, name="Server migration")
    ScopeRuleFactory(
        contract=terms.contract,
        request_type=special,
        treatment=Treatment.BILLABLE,
        rate_override=Decimal("180.00"),
    )
    ticket = open_ticket(request_type=special)
    assert log_time(ticket, developer).entry.rate == Decimal("180.00")


def test_the_row_service_leaves_the_billing_meaning_to_billing(open_ticket, log_time, developer):
    """tickets keeps the row and its totals; billing derives the meaning."""
    ticket = open_ticket()
    with activate_organization(ticket.organization):
        Ticket.objects.filter(pk=ticket.pk).update(classification="billable")
    assert log_time(ticket, developer).entry.billing_status == "undecided"


def test_a_repeated_idempotency_key_returns_the_first_entry_and_logs_once(
    open_ticket, log_time, developer
):
    ticket = open_ticket()
    first = log_time(ticket, developer, minutes=25, idempotency_key="timer-42")
    again = log_time(ticket, developer, minutes=25, idempotency_key="timer-42")
    assert again.replayed is True
    assert again.entry.pk == first.entry.pk
    assert count(TimeEntry) == 1
    assert fresh(ticket).logged_minutes == 25


def test_the_same_key_used_by_another_person_is_another_entry(
    open_ticket, log_time, developer, account_manager
):
    ticket = open_ticket()
    log_time(ticket, developer, idempotency_key="k1")
    log_time(ticket, account_manager, idempotency_key="k1")
    assert count(TimeEntry) == 2


def test_a_key_reused_on_another_ticket_is_refused(open_ticket, log_time, developer):
    first, second = open_ticket(), open_ticket()
    log_time(first, developer, idempotency_key="k1")
    with pytest.raises(ValidationError) as error:
        log_time(second, developer, idempotency_key="k1")
    assert "idempotency_key" in error.value.message_dict
    assert fresh(second).logged_minutes == 0


def test_correcting_and_deleting_entries_keeps_the_total_right(open_ticket, log_time, developer):
    ticket = open_ticket()
    entry = log_time(ticket, developer, minutes=30).entry
    other = log_time(ticket, developer, minutes=20).entry
    with activate_organization(ticket.organization):
        time_entry_update(entry=entry, minutes=90, notes="Replaced the fuser")
        assert fresh(ticket).logged_minutes == 110
        time_entry_delete(entry=other)
    assert fresh(ticket).logged_minutes == 90
    assert fresh(entry).notes == "Replaced the fuser"


def test_a_corrected_work_date_takes_the_rate_of_that_date(open_ticket, log_time, terms, developer):
    ContractRevisionFactory(
        contract=terms.contract,
        effective_from=datetime.date(2025, 6, 1),
        hourly_rate=Decimal("150.00"),
    )
    ticket = open_ticket()
    entry = log_time(ticket, developer, work_date=datetime.date(2025, 5, 30)).entry
    with activate_organization(ticket.organization):
        moved = time_entry_update(entry=entry, work_date=datetime.date(2025, 6, 3))
    assert moved.rate == Decimal("150.00")


def test_an_invalid_correction_changes_nothing(open_ticket, log_time, developer, org):
    ticket = open_ticket()
    entry = log_time(ticket, developer, minutes=30).entry
    with activate_organization(org), pytest.raises(ValidationError) as error:
        time_entry_update(
            entry=entry, minutes=0, work_date=org_today(org) + datetime.timedelta(days=2)
        )
    assert set(error.value.message_dict) == {"minutes", "work_date"}
    assert fresh(entry).minutes == 30
    assert fresh(ticket).logged_minutes == 30


def test_a_locked_entry_can_be_neither_corrected_nor_deleted(open_ticket, log_time, developer):
    ticket = open_ticket()
    entry = log_time(ticket, developer, minutes=30).entry
    with activate_organization(ticket.organization):
        TimeEntry.objects.filter(pk=entry.pk).update(locked=True)
        for attempt in (
            lambda: time_entry_update(entry=entry, minutes=10),
            lambda: time_entry_delete(entry=entry),
        ):
            with pytest.raises(ValidationError) as error:
                attempt()
            assert error.value.messages == [LOCKED_MESSAGE]
    assert fresh(entry).minutes == 30
    assert fresh(ticket).logged_minutes == 30


def test_a_moment_opened_by_a_concurrent_writer_is_returned_not_a_crash(
    org, developer, open_ticket, monkeypatch
):
    """The flag sweep opens threshold moments too: if it inserts between our
    read and our insert, the unique constraint wins and we get its moment."""
    ticket = open_ticket()
    with activate_organization(org):
        kind = BillingMoment.Kind.EXPECTED_TIME_PASSED
        theirs = BillingMoment.objects.create(
            organization=org, ticket=ticket, kind=kind, detail="from the sweep"
        )
        # Our read ran before their insert committed: it saw nothing.
        monkeypatch.setattr(QuerySet, "first", lambda self: None)
        ours = moment_raise(ticket=ticket, kind=kind, detail="from the service")
        monkeypatch.undo()
        assert ours == theirs and ours.detail == "from the sweep"
        assert count(BillingMoment, ticket=ticket, kind=kind) == 1
        ticket.refresh_from_db()  # the transaction is still usable
