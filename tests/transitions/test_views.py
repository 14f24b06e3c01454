"""The recurring work and risks pages: everyone reads the organization's own
rows, filtered by client and owner; admins and account managers write through
the forms, a refused write shows its field error and saves nothing."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from msops.tenancy.models import Role
from tests.factories import ClientFactory, MembershipFactory, TicketFactory
from tests.transitions.conftest import rows
from transitions.models import RecurringOccurrence, RecurringTask, Risk

HTMX = {"HX-Request": "true"}
READ_ONLY = [Role.DEVELOPER, Role.FINANCE]


def url(name, org, **kwargs):
    return reverse(f"transitions:{name}", kwargs={"org": org.slug, **kwargs})


def task_form(client_, request_type, owner, next_due, **overrides) -> dict:
    return {
        "client": client_.pk,
        "title": "Rotate the backup tapes",
        "cadence": "monthly",
        "owner": owner.pk,
        "request_type": request_type.pk,
        "next_due": next_due.isoformat(),
        "known_exceptions": "Not in August",
        **overrides,
    }


def risk_form(client_, owner, **overrides) -> dict:
    return {
        "client": client_.pk,
        "description": "The firewall licence lapses in March",
        "severity": "high",
        "owner": owner.pk,
        "next_action": "Ask for the renewal quote",
        **overrides,
    }


# --- the list -----------------------------------------------------------------------
@pytest.mark.parametrize("role", list(Role))
def test_every_member_reads_the_organizations_recurring_work_and_open_risks_only(
    login,
    members,
    role,
    make_task,
    make_risk,
    other_org,
    stranger,
    foreign_client,
    foreign_request_type,
    today,
):
    make_task(title="Patch the servers")
    make_risk(description="Backups never restored")
    make_risk(description="An old worry", status="closed", next_action="")
    make_task(
        organization=other_org,
        client=foreign_client,
        request_type=foreign_request_type,
        owner=stranger,
        title="Foreign patch run",
    )
    make_risk(
        organization=other_org, client=foreign_client, owner=stranger, description="Foreign risk"
    )

    response = login(members[role]).get(url("work_list", members[role].organization))

    assert response.status_code == 200
    body = response.content.decode()
    assert "Patch the servers" in body and "Backups never restored" in body
    assert "Foreign" not in body
    assert "An old worry" not in body  # closed risks are not listed


def test_the_list_filters_by_client_and_by_owner(
    login, developer, account_manager, org, make_task, make_risk, client_
):
    globex = ClientFactory(organization=org, name="Globex")
    make_task(title="Acme patching")
    make_task(client=globex, title="Globex patching", owner=account_manager)
    make_risk(description="Acme risk")
    make_risk(client=globex, description="Globex risk", owner=account_manager)
    page = login(developer)

    by_client = page.get(url("work_list", org), {"client": globex.pk}).content.decode()
    by_owner = page.get(url("work_list", org), {"owner": developer.pk}).content.decode()

    assert "Globex patching" in by_client and "Globex risk" in by_client
    assert "Acme patching" not in by_client and "Acme risk" not in by_client
    assert "Acme patching" in by_owner and "Acme risk" in by_owner
    assert "Globex patching" not in by_owner and "Globex risk" not in by_owner


def test_a_foreign_client_in_the_filter_is_refused_and_the_list_stays_whole(
    login, developer, org, make_task, foreign_client
):
    make_task(title="Acme patching")

    response = login(developer).get(url("work_list", org), {"client": foreign_client.pk})

    body = response.content.decode()
    assert response.status_code == 200
    assert "Acme patching" in body and "Select a valid choice" in body


def test_an_htmx_filter_answers_with_the_tables_only(login, developer, org, make_task):
    make_task(title="Acme patching")

    response = login(developer).get(url("work_list", org), {"owner": developer.pk}, headers=HTMX)

    body = response.content.decode()
    assert 'id="work-tables"' in body and "Acme patching" in body
    assert "<html" not in body


@pytest.mark.parametrize("role,can_manage", [(r, r not in READ_ONLY) for r in Role])
def test_only_managers_see_the_links_to_write(
    login, members, org, make_task, make_risk, role, can_manage
):
    task, risk = make_task(), make_risk()

    body = login(members[role]).get(url("work_list", org)).content.decode()

    for link in (
        url("recurring_task_create", org),
        url("risk_create", org),
        url("recurring_task_edit", org, pk=task.pk),
        url("risk_close", org, pk=risk.pk),
    ):
        assert (link in body) is can_manage


def test_the_list_answers_with_the_same_number_of_queries_at_2_and_20_rows(
    login, developer, org, make_task, make_risk
):
    def seed(start: int, stop: int) -> None:
        for i in range(start, stop):
            client = ClientFactory(organization=org, name=f"Client {i}")
            owner = MembershipFactory(organization=org, role="developer", user__username=f"o{i}")
            make_task(client=client, owner=owner, title=f"Task {i}")
            make_risk(client=client, owner=owner, description=f"Risk {i}")

    page = login(developer)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = page.get(url("work_list", org))
        assert response.status_code == 200
        return sum(1 for q in captured.captured_queries if "SAVEPOINT" not in q["sql"])

    seed(0, 2)
    at_two = queries()
    seed(2, 20)
    at_twenty = queries()

    assert at_twenty == at_two
    assert len(rows(RecurringTask)) == 20 and len(rows(Risk)) == 20


# --- recurring tasks --------------------------------------------------------------
def test_an_account_manager_creates_a_recurring_task_through_the_form(
    login, account_manager, developer, org, client_, request_type, today
):
    next_due = today + datetime.timedelta(days=3)

    response = login(account_manager).post(
        url("recurring_task_create", org), task_form(client_, request_type, developer, next_due)
    )

    assert response.status_code == 302 and response["Location"] == url("work_list", org)
    (task,) = rows(RecurringTask)
    assert (task.organization_id, task.client_id, task.owner_id) == (
        org.pk,
        client_.pk,
        developer.pk,
    )
    assert (task.title, task.cadence, task.next_due) == (
        "Rotate the backup tapes",
        "monthly",
        next_due,
    )
    assert task.active is True and task.known_exceptions == "Not in August"


def test_an_admin_edits_a_recurring_task_and_it_keeps_its_client(
    login, admin_member, account_manager, org, make_task, request_type, today
):
    task = make_task()
    next_due = today + datetime.timedelta(days=10)
    form = task_form(task.client, request_type, account_manager, next_due, cadence="quarterly")
    form.pop("client")
    form["active"] = "on"

    response = login(admin_member).post(url("recurring_task_edit", org, pk=task.pk), form)

    assert response.status_code == 302
    (saved,) = rows(RecurringTask)
    assert (saved.cadence, saved.owner_id, saved.next_due) == (
        "quarterly",
        account_manager.pk,
        next_due,
    )
    assert saved.client_id == task.client_id and saved.active is True


def test_the_edit_form_shows_the_task_as_saved(login, account_manager, org, make_task):
    task = make_task(title="Patch the servers")

    response = login(account_manager).get(url("recurring_task_edit", org, pk=task.pk))

    body = response.content.decode()
    assert response.status_code == 200
    assert 'value="Patch the servers"' in body and 'name="client"' not in body


def test_a_next_due_date_in_the_past_shows_the_services_error_on_the_field_and_saves_nothing(
    login, account_manager, developer, org, client_, request_type, today
):
    yesterday = today - datetime.timedelta(days=1)

    response = login(account_manager).post(
        url("recurring_task_create", org), task_form(client_, request_type, developer, yesterday)
    )

    assert response.status_code == 200
    assert "next_due" in response.context["form"].errors
    assert "past occurrences are not opened" in response.content.decode()
    assert rows(RecurringTask) == []


def test_an_edit_refused_by_the_service_shows_the_field_error_and_changes_nothing(
    login, account_manager, org, make_task, request_type, today
):
    task = make_task(title="Patch the servers")
    yesterday = today - datetime.timedelta(days=1)
    form = task_form(task.client, request_type, account_manager, yesterday, title="Renamed")
    form.pop("client")
    form["active"] = "on"

    response = login(account_manager).post(url("recurring_task_edit", org, pk=task.pk), form)

    assert response.status_code == 200
    assert "next_due" in response.context["form"].errors
    assert "<h1>Edit Patch the servers</h1>" in response.content.decode()
    (saved,) = rows(RecurringTask)
    assert (saved.title, saved.owner_id, saved.next_due) == (
        "Patch the servers",
        task.owner_id,
        task.next_due,
    )


def test_a_foreign_client_or_owner_is_a_field_error_and_saves_nothing(
    login, account_manager, developer, org, stranger, foreign_client, request_type, today
):
    response = login(account_manager).post(
        url("recurring_task_create", org),
        task_form(foreign_client, request_type, stranger, today),
    )

    assert response.status_code == 200
    assert {"client", "owner"} <= set(response.context["form"].errors)
    assert rows(RecurringTask) == []


def test_a_manager_deactivates_a_recurring_task(login, account_manager, org, make_task):
    task = make_task()

    response = login(account_manager).post(url("recurring_task_deactivate", org, pk=task.pk))

    assert response.status_code == 302
    (saved,) = rows(RecurringTask)
    assert saved.active is False


# --- risks ------------------------------------------------------------------------
def test_an_account_manager_records_a_risk_through_the_form(
    login, account_manager, developer, org, client_
):
    response = login(account_manager).post(url("risk_create", org), risk_form(client_, developer))

    assert response.status_code == 302
    (risk,) = rows(Risk)
    assert (risk.organization_id, risk.client_id, risk.owner_id) == (
        org.pk,
        client_.pk,
        developer.pk,
    )
    assert (risk.severity, risk.status) == ("high", "open")
    assert risk.next_action == "Ask for the renewal quote"


def test_an_open_risk_without_a_next_action_shows_the_field_error_and_saves_nothing(
    login, account_manager, developer, org, client_
):
    response = login(account_manager).post(
        url("risk_create", org), risk_form(client_, developer, next_action="  ")
    )

    assert response.status_code == 200
    assert response.context["form"].errors["next_action"] == ["An open risk needs its next action."]
    assert rows(Risk) == []


def test_an_admin_edits_a_risk_and_marks_it_mitigated(
    login, admin_member, account_manager, org, make_risk
):
    risk = make_risk()
    form = risk_form(risk.client, account_manager, severity="low", status="mitigated")
    form.pop("client")

    response = login(admin_member).post(url("risk_edit", org, pk=risk.pk), form)

    assert response.status_code == 302
    (saved,) = rows(Risk)
    assert (saved.severity, saved.status, saved.owner_id) == (
        "low",
        "mitigated",
        account_manager.pk,
    )


def test_a_manager_closes_a_risk_and_it_leaves_the_list(login, account_manager, org, make_risk):
    risk = make_risk(description="Backups never restored")
    page = login(account_manager)

    response = page.post(url("risk_close", org, pk=risk.pk))

    assert response.status_code == 302
    (saved,) = rows(Risk)
    assert saved.status == "closed"
    assert "Backups never restored" not in page.get(url("work_list", org)).content.decode()


# --- roles and tenants ------------------------------------------------------------
@pytest.mark.parametrize("role", READ_ONLY)
def test_developers_and_finance_may_not_write(
    login, members, role, org, make_task, make_risk, client_, request_type, developer, today
):
    task, risk = make_task(), make_risk()
    page = login(members[role])
    writes = [
        (url("recurring_task_create", org), task_form(client_, request_type, developer, today)),
        (url("recurring_task_edit", org, pk=task.pk), {"title": "Renamed"}),
        (url("recurring_task_deactivate", org, pk=task.pk), {}),
        (url("risk_create", org), risk_form(client_, developer)),
        (url("risk_edit", org, pk=risk.pk), {"description": "Renamed"}),
        (url("risk_close", org, pk=risk.pk), {}),
    ]

    for path, data in writes:
        assert page.post(path, data).status_code == 403, path
    for path in (url("recurring_task_create", org), url("risk_create", org)):
        assert page.get(path).status_code == 403, path

    (saved_task,) = rows(RecurringTask)
    (saved_risk,) = rows(Risk)
    assert saved_task.title == task.title and saved_task.active is True
    assert saved_risk.description == risk.description and saved_risk.status == "open"


def test_another_organizations_task_and_risk_are_not_found(
    login,
    admin_member,
    org,
    other_org,
    stranger,
    make_task,
    make_risk,
    foreign_client,
    foreign_request_type,
):
    task = make_task(
        organization=other_org,
        client=foreign_client,
        request_type=foreign_request_type,
        owner=stranger,
    )
    risk = make_risk(organization=other_org, client=foreign_client, owner=stranger)
    page = login(admin_member)

    assert page.get(url("recurring_task_edit", org, pk=task.pk)).status_code == 404
    assert page.post(url("recurring_task_deactivate", org, pk=task.pk)).status_code == 404
    assert page.get(url("risk_edit", org, pk=risk.pk)).status_code == 404
    assert page.post(url("risk_close", org, pk=risk.pk)).status_code == 404
    (saved_task,) = rows(RecurringTask)
    (saved_risk,) = rows(Risk)
    assert saved_task.active is True and saved_risk.status == "open"


def test_the_client_page_links_to_its_recurring_work_and_risks(login, developer, org, client_):
    response = login(developer).get(
        reverse("clients:client_detail", kwargs={"org": org.slug, "pk": client_.pk})
    )

    assert f"{url('work_list', org)}?client={client_.pk}" in response.content.decode()


def test_the_menu_links_every_member_to_recurring_work(login, members, org):
    for membership in members.values():
        body = login(membership).get(url("work_list", org)).content.decode()
        assert f'href="{url("work_list", org)}"' in body


def test_the_occurrences_the_job_opened_are_listed_with_the_overdue_ones_marked(
    login, org, client_, developer, make_task, today
):
    task = make_task(title="Patch the servers")
    other = make_task(title="Rotate the tapes", owner=MembershipFactory(organization=org))
    late = RecurringOccurrence.objects.create(
        organization=org, recurring_task=task, due_on=today - datetime.timedelta(days=3),
        ticket=TicketFactory(organization=org, client=client_, status="in_progress"),
    )  # fmt: skip
    done = RecurringOccurrence.objects.create(
        organization=org, recurring_task=task, due_on=today - datetime.timedelta(days=10),
        ticket=TicketFactory(organization=org, client=client_, status="resolved"),
    )  # fmt: skip
    old = RecurringOccurrence.objects.create(
        organization=org, recurring_task=task, due_on=today - datetime.timedelta(days=60),
        ticket=TicketFactory(organization=org, client=client_, status="closed"),
    )  # fmt: skip
    theirs = RecurringOccurrence.objects.create(
        organization=org, recurring_task=other, due_on=today,
        ticket=TicketFactory(organization=org, client=client_),
    )  # fmt: skip

    body = login(developer).get(url("work_list", org)).content.decode()
    table = body[body.index('data-testid="occurrences"') :]
    for shown in (late, done, theirs):
        assert f'data-testid="occurrence-{shown.pk}"' in table
    assert f'data-testid="occurrence-{old.pk}"' not in table  # closed, and long ago
    assert table.count('data-testid="occurrence-overdue"') == 1
    row = table[table.index(f'data-testid="occurrence-{late.pk}"') :]
    assert row.index("Overdue") < row.index("</tr>")

    mine = login(developer).get(url("work_list", org), {"owner": developer.pk}).content.decode()
    assert f'data-testid="occurrence-{theirs.pk}"' not in mine
