import datetime

import pytest
from django_scopes import scopes_disabled

from msops.tenancy.models import Role
from tests.factories import ClientFactory
from tests.transitions.conftest import rows
from transitions.models import RecurringOccurrence, RecurringTask, Risk
from transitions.services import recurring_tasks_open_due

API = "/api/v1"
MANAGERS_WRITE = {
    Role.DEVELOPER: False,
    Role.FINANCE: False,
    Role.ACCOUNT_MANAGER: True,
    Role.ADMIN: True,
}


def new_task(client_, request_type, owner, today, **overrides) -> dict:
    return {
        "client": client_.pk,
        "title": "Patch the servers",
        "cadence": "monthly",
        "owner": owner.pk,
        "request_type": request_type.pk,
        "next_due": today.isoformat(),
        "known_exceptions": "Not in December",
        **overrides,
    }


def new_risk(client_, owner, **overrides) -> dict:
    return {
        "client": client_.pk,
        "description": "Backups never restored",
        "severity": "high",
        "owner": owner.pk,
        "next_action": "Run a restore drill",
        **overrides,
    }


def listed(api_client, path: str, key: str = "id") -> list:
    response = api_client.get(f"{API}/{path}")
    assert response.status_code == 200, response.json()
    return [row[key] for row in response.json()["results"]]


# --- recurring tasks ------------------------------------------------------------------
@pytest.mark.parametrize("role,allowed", MANAGERS_WRITE.items())
def test_admins_and_account_managers_create_recurring_tasks(
    api, members, client_, request_type, developer, today, role, allowed
):
    response = api(members[role]).post(
        f"{API}/recurring-tasks/", new_task(client_, request_type, developer, today), format="json"
    )
    assert response.status_code == (201 if allowed else 403)
    assert len(rows(RecurringTask)) == (1 if allowed else 0)


def test_a_created_recurring_task_answers_with_names_and_is_active(
    api, account_manager, client_, request_type, developer, today
):
    response = api(account_manager).post(
        f"{API}/recurring-tasks/", new_task(client_, request_type, developer, today), format="json"
    )
    body = response.json()
    assert body["client_name"] == "Acme" and body["request_type_name"] == "Patching"
    assert body["owner_name"] == developer.user.username and body["active"] is True


def test_every_role_reads_the_recurring_tasks_of_its_own_organization_only(
    api, members, make_task, other_org, stranger, foreign_client, foreign_request_type
):
    mine = make_task()
    make_task(
        organization=other_org,
        client=foreign_client,
        request_type=foreign_request_type,
        owner=stranger,
    )
    for membership in members.values():
        assert listed(api(membership), "recurring-tasks/") == [mine.pk]


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"title": ""}, "title"),
        ({"cadence": "daily"}, "cadence"),
        ({"next_due": "2020-01-01"}, "next_due"),
        ({"next_due": "soon"}, "next_due"),
    ],
)
def test_bad_recurring_task_input_is_a_400_with_the_field(
    api, account_manager, client_, request_type, developer, today, overrides, field
):
    payload = new_task(client_, request_type, developer, today, **overrides)
    response = api(account_manager).post(f"{API}/recurring-tasks/", payload, format="json")
    assert response.status_code == 400 and field in response.json()["fields"]
    assert rows(RecurringTask) == []


def test_a_finance_owner_is_a_400_on_owner(
    api, account_manager, client_, request_type, finance, today
):
    payload = new_task(client_, request_type, finance, today)
    response = api(account_manager).post(f"{API}/recurring-tasks/", payload, format="json")
    assert response.status_code == 400 and "owner" in response.json()["fields"]


def test_another_organizations_ids_in_a_recurring_task_are_a_400_on_each_field(
    api, account_manager, foreign_client, foreign_request_type, stranger, today
):
    payload = new_task(foreign_client, foreign_request_type, stranger, today)
    response = api(account_manager).post(f"{API}/recurring-tasks/", payload, format="json")
    assert response.status_code == 400
    assert {"client", "owner", "request_type"} <= set(response.json()["fields"])
    assert rows(RecurringTask) == []


def test_another_organizations_recurring_task_is_a_404(
    api, account_manager, make_task, other_org, foreign_client, foreign_request_type, stranger
):
    theirs = make_task(
        organization=other_org,
        client=foreign_client,
        request_type=foreign_request_type,
        owner=stranger,
    )
    client = api(account_manager)
    assert client.get(f"{API}/recurring-tasks/{theirs.pk}/").status_code == 404
    response = client.patch(f"{API}/recurring-tasks/{theirs.pk}/", {"active": False}, format="json")
    assert response.status_code == 404
    assert rows(RecurringTask, pk=theirs.pk)[0].active is True


def test_a_recurring_task_is_deactivated_with_a_patch_and_cannot_be_deleted(
    api, account_manager, make_task
):
    task = make_task()
    client = api(account_manager)
    response = client.patch(f"{API}/recurring-tasks/{task.pk}/", {"active": False}, format="json")
    assert response.status_code == 200 and response.json()["active"] is False
    assert client.delete(f"{API}/recurring-tasks/{task.pk}/").status_code == 405
    assert rows(RecurringTask, active=False) == [task]


def test_moving_a_recurring_task_to_another_client_is_a_400_on_client(
    api, account_manager, make_task, org
):
    task = make_task()
    other = ClientFactory(organization=org)
    response = api(account_manager).patch(
        f"{API}/recurring-tasks/{task.pk}/", {"client": other.pk}, format="json"
    )
    assert response.status_code == 400 and "client" in response.json()["fields"]


def test_recurring_tasks_filter_by_client_owner_and_active(
    api, developer, account_manager, make_task, org
):
    other_client = ClientFactory(organization=org, name="Bolt")
    mine = make_task()
    theirs = make_task(client=other_client, owner=account_manager)
    idle = make_task(title="Idle", active=False)
    client = api(developer)
    assert listed(client, f"recurring-tasks/?client={other_client.pk}") == [theirs.pk]
    assert listed(client, f"recurring-tasks/?owner={account_manager.pk}") == [theirs.pk]
    assert sorted(listed(client, "recurring-tasks/?active=true")) == sorted([mine.pk, theirs.pk])
    assert listed(client, "recurring-tasks/?active=false") == [idle.pk]


def test_filtering_recurring_tasks_by_another_organizations_ids_is_a_400(
    api, developer, foreign_client, stranger
):
    client = api(developer)
    for query in (f"client={foreign_client.pk}", f"owner={stranger.pk}"):
        response = client.get(f"{API}/recurring-tasks/?{query}")
        assert response.status_code == 400 and query.split("=")[0] in response.json()["fields"]


# --- occurrences ---------------------------------------------------------------------------
def test_occurrences_are_read_only_and_show_their_ticket(
    api, developer, account_manager, make_task, org, today, in_scope
):
    task = make_task()
    with in_scope(org):
        recurring_tasks_open_due(organization=org, today=today)
    (occurrence,) = rows(RecurringOccurrence)
    client = api(developer)
    (row,) = client.get(f"{API}/recurring-occurrences/?recurring_task={task.pk}").json()["results"]
    assert row["due_on"] == today.isoformat() and row["ticket"] == occurrence.ticket_id
    assert row["ticket_number"] == occurrence.ticket.number
    assert row["recurring_task_title"] == "Patch the servers"
    manager = api(account_manager)
    assert manager.post(f"{API}/recurring-occurrences/", {}).status_code == 405
    assert manager.delete(f"{API}/recurring-occurrences/{occurrence.pk}/").status_code == 405


def test_occurrences_filter_by_due_date_and_refuse_another_organizations_client(
    api, developer, make_task, org, today, in_scope, foreign_client
):
    make_task()
    with in_scope(org):
        recurring_tasks_open_due(organization=org, today=today + datetime.timedelta(days=7))
    client = api(developer)
    assert len(listed(client, f"recurring-occurrences/?due_after={today.isoformat()}")) == 2
    later = (today + datetime.timedelta(days=1)).isoformat()
    assert len(listed(client, f"recurring-occurrences/?due_after={later}")) == 1
    response = client.get(f"{API}/recurring-occurrences/?client={foreign_client.pk}")
    assert response.status_code == 400 and "client" in response.json()["fields"]


# --- risks -------------------------------------------------------------------------------------
@pytest.mark.parametrize("role,allowed", MANAGERS_WRITE.items())
def test_admins_and_account_managers_record_risks(api, members, client_, developer, role, allowed):
    response = api(members[role]).post(f"{API}/risks/", new_risk(client_, developer), format="json")
    assert response.status_code == (201 if allowed else 403)
    assert len(rows(Risk)) == (1 if allowed else 0)


def test_an_open_risk_without_a_next_action_is_a_400_on_next_action(
    api, account_manager, client_, developer
):
    response = api(account_manager).post(
        f"{API}/risks/", new_risk(client_, developer, next_action=""), format="json"
    )
    assert response.status_code == 400 and "next_action" in response.json()["fields"]
    assert rows(Risk) == []


def test_a_risk_with_another_organizations_client_and_owner_is_a_400(
    api, account_manager, foreign_client, stranger
):
    response = api(account_manager).post(
        f"{API}/risks/", new_risk(foreign_client, stranger), format="json"
    )
    assert response.status_code == 400
    assert {"client", "owner"} <= set(response.json()["fields"])


def test_another_organizations_risk_is_a_404(api, account_manager, other_org, stranger):
    theirs = Risk.objects.model(
        organization=other_org,
        client=ClientFactory(organization=other_org),
        description="Theirs",
        owner=stranger,
        next_action="Theirs",
    )
    with scopes_disabled():
        theirs.save()
    client = api(account_manager)
    assert client.get(f"{API}/risks/{theirs.pk}/").status_code == 404
    response = client.patch(f"{API}/risks/{theirs.pk}/", {"status": "closed"}, format="json")
    assert response.status_code == 404
    assert rows(Risk, pk=theirs.pk)[0].status == "open"


def test_a_risk_is_closed_with_a_patch(api, account_manager, make_risk):
    risk = make_risk()
    response = api(account_manager).patch(
        f"{API}/risks/{risk.pk}/", {"status": "closed"}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "closed"


def test_risks_filter_by_client_owner_and_status(api, developer, account_manager, make_risk, org):
    bolt = ClientFactory(organization=org, name="Bolt")
    open_risk = make_risk()
    mitigated = make_risk(client=bolt, owner=account_manager, status="mitigated")
    client = api(developer)
    assert listed(client, f"risks/?client={bolt.pk}") == [mitigated.pk]
    assert listed(client, f"risks/?owner={account_manager.pk}") == [mitigated.pk]
    assert listed(client, "risks/?status=open") == [open_risk.pk]
    response = client.get(f"{API}/risks/?status=gone")
    assert response.status_code == 400 and "status" in response.json()["fields"]
