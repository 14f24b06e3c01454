import datetime
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from msops.tenancy.scoping import activate_organization
from tests.factories import ClientFactory, RequestTypeFactory
from tests.transitions.conftest import rows
from tickets.models import Ticket
from transitions import services
from transitions.models import RecurringOccurrence, RecurringTask, Risk
from transitions.services import next_due_after, recurring_tasks_open_due

WEEK = datetime.timedelta(days=7)


def open_due(org, today) -> int:
    with activate_organization(org):
        return recurring_tasks_open_due(organization=org, today=today)


def field_errors(call) -> dict:
    with pytest.raises(ValidationError) as caught:
        call()
    return caught.value.message_dict


# --- recurring tasks: validation -----------------------------------------------------
def test_a_recurring_task_is_created_with_its_owner_and_request_type(make_task, developer):
    task = make_task()
    assert task.owner == developer and task.active
    assert rows(RecurringTask) == [task]


def test_a_recurring_task_needs_a_title_of_at_most_200_characters(make_task):
    assert "title" in field_errors(lambda: make_task(title="   "))
    assert "title" in field_errors(lambda: make_task(title="x" * 201))
    assert rows(RecurringTask) == []


def test_another_organizations_client_owner_and_request_type_are_refused_by_field(
    make_task, foreign_client, foreign_request_type, stranger
):
    errors = field_errors(
        lambda: make_task(client=foreign_client, owner=stranger, request_type=foreign_request_type)
    )
    assert {"client", "owner", "request_type"} <= set(errors)
    assert rows(RecurringTask) == []


def test_the_owner_must_work_tickets_because_the_tickets_are_assigned_to_them(make_task, finance):
    assert "owner" in field_errors(lambda: make_task(owner=finance))


def test_an_unknown_cadence_and_a_next_due_that_is_not_a_date_are_refused(make_task):
    errors = field_errors(lambda: make_task(cadence="daily", next_due="tomorrow"))
    assert {"cadence", "next_due"} <= set(errors)


def test_a_next_due_date_in_the_past_is_refused(make_task, today):
    assert "next_due" in field_errors(lambda: make_task(next_due=today - datetime.timedelta(1)))


def test_an_ended_client_gets_no_new_recurring_task(make_task, org):
    ended = ClientFactory(organization=org, status="ended")
    assert "client" in field_errors(lambda: make_task(client=ended))


def test_an_update_changes_the_owner_and_keeps_the_client(make_task, org, account_manager):
    task = make_task()
    other = ClientFactory(organization=org)
    with activate_organization(org):
        services.recurring_task_update(recurring_task=task, data={"owner": account_manager})
        assert "client" in field_errors(
            lambda: services.recurring_task_update(recurring_task=task, data={"client": other})
        )
    (stored,) = rows(RecurringTask)
    assert stored.owner == account_manager and stored.client == task.client


def test_a_deactivated_task_stays_on_record_inactive(make_task, org):
    task = make_task()
    with activate_organization(org):
        services.recurring_task_deactivate(recurring_task=task)
    assert rows(RecurringTask, active=False) == [task]


@pytest.mark.parametrize(
    "cadence,due_on,expected",
    [
        ("weekly", datetime.date(2026, 12, 29), datetime.date(2027, 1, 5)),
        ("monthly", datetime.date(2026, 1, 31), datetime.date(2026, 2, 28)),
        ("quarterly", datetime.date(2026, 11, 30), datetime.date(2027, 2, 28)),
    ],
)
def test_the_next_due_date_moves_on_by_the_cadence(cadence, due_on, expected):
    assert next_due_after(cadence=cadence, due_on=due_on) == expected


# --- the due job -------------------------------------------------------------------------
def test_the_due_job_opens_one_ticket_for_a_due_occurrence_assigned_to_the_owner(
    make_task, org, developer, today
):
    task = make_task()
    assert open_due(org, today) == 1
    (occurrence,) = rows(RecurringOccurrence)
    ticket = occurrence.ticket
    assert occurrence.due_on == today and occurrence.recurring_task == task
    assert ticket.assignee == developer and ticket.client == task.client
    assert ticket.request_type == task.request_type
    assert ticket.title == f"Patch the servers — due {today:%Y-%m-%d}"
    assert "Never on the last Friday" in ticket.description
    assert rows(RecurringTask)[0].next_due == today + WEEK


def test_running_the_due_job_twice_opens_nothing_new(make_task, org, today):
    make_task()
    assert open_due(org, today) == 1
    assert open_due(org, today) == 0
    assert len(rows(Ticket)) == 1 and len(rows(RecurringOccurrence)) == 1


def test_a_late_run_catches_up_every_missed_occurrence_with_one_ticket_each(make_task, org, today):
    make_task()
    assert open_due(org, today + 3 * WEEK) == 4
    assert sorted(o.due_on for o in rows(RecurringOccurrence)) == [
        today + n * WEEK for n in range(4)
    ]
    assert len(rows(Ticket)) == 4
    assert rows(RecurringTask)[0].next_due == today + 4 * WEEK


def test_an_occurrence_recorded_before_is_not_opened_again(make_task, org, today, developer):
    task = make_task()
    open_due(org, today)
    with activate_organization(org):
        # Someone moves the task back onto a due date that was already opened.
        RecurringTask.objects.filter(pk=task.pk).update(next_due=today)
    assert open_due(org, today) == 0
    assert len(rows(Ticket)) == 1


def test_a_task_not_due_yet_opens_nothing(make_task, org, today):
    make_task(next_due=today + datetime.timedelta(days=1))
    assert open_due(org, today) == 0
    assert rows(Ticket) == []


def test_inactive_tasks_are_skipped(make_task, org, today):
    make_task(active=False)
    assert open_due(org, today + WEEK) == 0
    assert rows(RecurringOccurrence) == []


def test_the_due_job_leaves_another_organization_untouched(
    make_task, org, other_org, stranger, today
):
    theirs = make_task(
        organization=other_org,
        client=ClientFactory(organization=other_org),
        request_type=RequestTypeFactory(organization=other_org),
        owner=stranger,
    )
    make_task()
    assert open_due(org, today) == 1
    assert rows(RecurringOccurrence, recurring_task=theirs) == []
    assert rows(RecurringTask, pk=theirs.pk)[0].next_due == theirs.next_due


def test_a_task_whose_ticket_cannot_open_stays_due_and_the_others_still_open(make_task, org, today):
    blocked = make_task(title="Blocked")
    make_task(title="Fine")
    with activate_organization(org):
        RecurringTask.objects.filter(pk=blocked.pk).update(
            request_type=RequestTypeFactory(organization=org, is_active=False)
        )
    assert open_due(org, today) == 1
    assert rows(RecurringOccurrence, recurring_task=blocked) == []
    assert rows(RecurringTask, pk=blocked.pk)[0].next_due == today


def test_the_beat_task_runs_the_due_job_for_every_organization(make_task, org, today):
    from transitions.tasks import recurring_tasks_open_due_all

    make_task()
    recurring_tasks_open_due_all.delay()
    assert len(rows(RecurringOccurrence)) == 1


# --- risks ---------------------------------------------------------------------------------
def test_a_risk_is_recorded_open_with_its_owner_and_next_action(make_risk, developer):
    risk = make_risk()
    assert risk.status == "open" and risk.owner == developer
    assert rows(Risk) == [risk]


def test_an_open_risk_needs_a_description_and_a_next_action(make_risk):
    errors = field_errors(lambda: make_risk(description=" ", next_action=""))
    assert {"description", "next_action"} <= set(errors)
    assert rows(Risk) == []


def test_a_risk_refuses_another_organizations_client_and_owner(make_risk, foreign_client, stranger):
    errors = field_errors(lambda: make_risk(client=foreign_client, owner=stranger))
    assert {"client", "owner"} <= set(errors)


def test_a_risk_refuses_an_unknown_severity_and_status(make_risk):
    errors = field_errors(lambda: make_risk(severity="dire", status="gone"))
    assert {"severity", "status"} <= set(errors)


def test_closing_a_risk_keeps_it_on_record_as_closed(make_risk, org):
    risk = make_risk()
    with activate_organization(org):
        services.risk_close(risk=risk)
    assert rows(Risk, status="closed") == [risk]


def test_a_risk_update_changes_owner_and_next_action(make_risk, org, account_manager):
    risk = make_risk()
    with activate_organization(org):
        services.risk_update(risk=risk, data={"owner": account_manager, "next_action": "Buy a NAS"})
    (stored,) = rows(Risk)
    assert stored.owner == account_manager and stored.next_action == "Buy a NAS"


def test_reactivating_a_task_whose_due_date_passed_asks_for_a_new_due_date(make_task, org, today):
    task = make_task(active=False, next_due=today + datetime.timedelta(days=1))
    with activate_organization(org):
        RecurringTask.objects.filter(pk=task.pk).update(next_due=today - WEEK)
        task.refresh_from_db()
        errors = field_errors(
            lambda: services.recurring_task_update(recurring_task=task, data={"active": True})
        )
        assert "next_due" in errors
        services.recurring_task_update(
            recurring_task=task, data={"active": True, "next_due": today}
        )
    assert rows(RecurringTask, active=True, next_due=today) == [task]


@pytest.mark.django_db(transaction=True)
def test_two_due_jobs_running_at_the_same_moment_open_each_occurrence_once(make_task, org, today):
    make_task()
    barrier = threading.Barrier(4)
    opened, failures = [], []

    def run():
        try:
            barrier.wait()
            opened.append(open_due(org, today + WEEK))
        except Exception as error:  # reported below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sum(opened) == 2
    assert len(rows(Ticket)) == 2 and len(rows(RecurringOccurrence)) == 2
