"""An occurrence not done by its due date raises one flag: once its due day
(in the organization's timezone) is over and its ticket is still open, owned
by the client's account manager, however often the hourly job runs."""

import datetime

import pytest

from billing.models import ExceptionFlag
from msops.tenancy.models import Role
from msops.tenancy.scoping import activate_organization
from tests.factories import MembershipFactory
from tests.transitions.conftest import rows
from tickets.models import Ticket
from transitions.models import RecurringOccurrence, RecurringTask
from transitions.overdue import recurring_overdue_flags
from transitions.services import recurring_tasks_open_due

Kind = ExceptionFlag.Kind


def at(org, day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    """A moment of ``day`` in the organization's own timezone."""
    return datetime.datetime.combine(day, datetime.time(hour, minute), org.tzinfo)


def flag_overdue(org, now) -> int:
    with activate_organization(org):
        return recurring_overdue_flags(organization=org, now=now)


def overdue_flags(**filters) -> list[ExceptionFlag]:
    return rows(ExceptionFlag, kind=Kind.RECURRING_OVERDUE, **filters)


@pytest.fixture
def client_(client_, account_manager):
    """Acme, with its account manager (who owns the flags)."""
    client_.account_manager = account_manager
    client_.save(update_fields=["account_manager"])
    return client_


@pytest.fixture
def occurrence(org, make_task, today) -> RecurringOccurrence:
    """The occurrence due today, its ticket opened by the job."""
    task = make_task()
    with activate_organization(org):
        assert recurring_tasks_open_due(organization=org, today=today) == 1
    return rows(RecurringOccurrence, recurring_task=task)[0]


def test_an_occurrence_still_open_after_its_due_day_raises_one_flag(
    org, occurrence, client_, account_manager, today
):
    now = at(org, today + datetime.timedelta(days=1), 0, 1)
    assert flag_overdue(org, now) == 1
    [flag] = overdue_flags()
    assert flag.subject_key == f"occurrence:{occurrence.pk}" and flag.period_key == "-"
    assert flag.ticket_id == occurrence.ticket_id and flag.client == client_
    assert flag.owner == account_manager and flag.status == ExceptionFlag.Status.OPEN
    assert flag.detail == f"Patch the servers, due {today:%Y-%m-%d}, still open"
    assert flag.created_at == now
    assert flag.get_kind_display() == "Recurring task not done by its due date"


def test_nothing_is_flagged_before_or_on_the_due_day(org, occurrence, today):
    assert flag_overdue(org, at(org, today - datetime.timedelta(days=1), 12)) == 0
    assert flag_overdue(org, at(org, today, 0, 0)) == 0
    assert flag_overdue(org, at(org, today, 23, 59)) == 0
    assert overdue_flags() == []


def test_the_due_day_ends_in_the_organizations_timezone_not_in_utc(org, occurrence, today):
    # Amsterdam is ahead of UTC: 23:30 UTC of the due day is already the next day there.
    assert org.timezone == "Europe/Amsterdam"
    late_evening_utc = datetime.datetime.combine(today, datetime.time(23, 30), datetime.UTC)
    assert flag_overdue(org, late_evening_utc) == 1


def test_a_resolved_or_closed_ticket_is_not_flagged(org, occurrence, make_task, today):
    closed = make_task(title="Rotate the keys")
    with activate_organization(org):
        recurring_tasks_open_due(organization=org, today=today)
        closed_ticket = RecurringOccurrence.objects.get(recurring_task=closed).ticket_id
        Ticket.objects.filter(pk=occurrence.ticket_id).update(status=Ticket.Status.RESOLVED)
        Ticket.objects.filter(pk=closed_ticket).update(status=Ticket.Status.CLOSED)
    assert flag_overdue(org, at(org, today + datetime.timedelta(days=3), 9)) == 0
    assert overdue_flags() == []


def test_a_ticket_waiting_on_the_client_is_still_open_and_flagged(org, occurrence, today):
    with activate_organization(org):
        Ticket.objects.filter(pk=occurrence.ticket_id).update(status=Ticket.Status.WAITING)
    assert flag_overdue(org, at(org, today + datetime.timedelta(days=1), 9)) == 1


def test_a_second_run_raises_nothing_new_and_keeps_a_resolved_flag_resolved(
    org, occurrence, today, account_manager
):
    now = at(org, today + datetime.timedelta(days=1), 9)
    assert flag_overdue(org, now) == 1
    with activate_organization(org):
        ExceptionFlag.objects.filter(kind=Kind.RECURRING_OVERDUE).update(
            status=ExceptionFlag.Status.RESOLVED
        )
    assert flag_overdue(org, now + datetime.timedelta(hours=1)) == 0
    [flag] = overdue_flags()
    assert flag.status == ExceptionFlag.Status.RESOLVED


def test_each_occurrence_gets_its_own_flag(org, make_task, today):
    task = make_task()
    with activate_organization(org):
        RecurringTask.objects.filter(pk=task.pk).update(next_due=today - datetime.timedelta(days=7))
        assert recurring_tasks_open_due(organization=org, today=today) == 2
    assert flag_overdue(org, at(org, today + datetime.timedelta(days=1), 9)) == 2
    assert {f.ticket_id for f in overdue_flags()} == {
        o.ticket_id for o in rows(RecurringOccurrence, recurring_task=task)
    }


def test_another_organization_is_untouched(
    org, other_org, occurrence, make_task, foreign_client, foreign_request_type, today
):
    theirs_manager = MembershipFactory(organization=other_org, role=Role.ACCOUNT_MANAGER)
    foreign_client.account_manager = theirs_manager
    foreign_client.save(update_fields=["account_manager"])
    owner = MembershipFactory(organization=other_org, role=Role.DEVELOPER)
    make_task(
        organization=other_org,
        client=foreign_client,
        owner=owner,
        request_type=foreign_request_type,
    )
    with activate_organization(other_org):
        recurring_tasks_open_due(organization=other_org, today=today)
    later = at(org, today + datetime.timedelta(days=2), 9)
    assert flag_overdue(org, later) == 1
    assert [f.organization_id for f in overdue_flags()] == [org.pk]
    assert flag_overdue(other_org, later) == 1
    [theirs] = overdue_flags(organization=other_org)
    assert theirs.client == foreign_client and theirs.owner == theirs_manager


def test_the_hourly_job_opens_late_occurrences_and_flags_the_overdue_one(
    org, make_task, today, account_manager
):
    from transitions.tasks import recurring_tasks_open_due_task

    task = make_task()
    with activate_organization(org):  # the job missed yesterday's occurrence
        RecurringTask.objects.filter(pk=task.pk).update(
            next_due=today - datetime.timedelta(days=1), cadence="monthly"
        )
    assert recurring_tasks_open_due_task.delay(organization_id=org.pk).get() == 1
    [occurrence] = rows(RecurringOccurrence, recurring_task=task)
    [flag] = overdue_flags()
    assert flag.subject_key == f"occurrence:{occurrence.pk}"
    assert flag.owner == account_manager
    # The next hour changes nothing.
    recurring_tasks_open_due_task.delay(organization_id=org.pk)
    assert len(overdue_flags()) == 1
