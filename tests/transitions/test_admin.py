import datetime

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django_scopes import scopes_disabled

from msops.tenancy.models import Role
from msops.tenancy.scoping import activate_organization
from tests.factories import MembershipFactory
from tests.transitions.conftest import rows
from transitions.handoffs import handoff_start
from transitions.models import Handoff, RecurringOccurrence, RecurringTask, Risk
from transitions.services import recurring_tasks_open_due


@pytest.fixture
def staff(org):
    """A staff user who administers ``org`` only."""
    membership = MembershipFactory(organization=org, role=Role.ADMIN, user__username="staffer")
    user = membership.user
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="transitions"))
    return user


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


def admin_url(model, action, *args):
    return reverse(f"admin:transitions_{model}_{action}", args=args)


def test_staff_see_only_their_organizations_recurring_tasks_and_risks(
    admin_client, make_task, make_risk, other_org, foreign_client, foreign_request_type, stranger
):
    make_task(title="Ours to see")
    make_task(
        organization=other_org,
        client=foreign_client,
        request_type=foreign_request_type,
        owner=stranger,
        title="Not for us",
    )
    make_risk(description="Our risk")
    make_risk(organization=other_org, client=foreign_client, owner=stranger, description="Alien")
    page = admin_client.get(admin_url("recurringtask", "changelist")).content.decode()
    assert "Ours to see" in page and "Not for us" not in page
    page = admin_client.get(admin_url("risk", "changelist")).content.decode()
    assert "Our risk" in page and "Alien" not in page


def test_a_recurring_task_added_in_the_admin_goes_through_the_service(
    admin_client, org, client_, request_type, developer, finance, today
):
    form = {
        "organization": org.pk,
        "client": client_.pk,
        "title": "Rotate keys",
        "cadence": "quarterly",
        "owner": finance.pk,
        "request_type": request_type.pk,
        "next_due": today.isoformat(),
        "known_exceptions": "",
        "active": "on",
    }
    response = admin_client.post(admin_url("recurringtask", "add"), form)
    assert response.status_code == 200 and "not finance" in response.content.decode()
    assert rows(RecurringTask) == []
    form["owner"] = developer.pk
    response = admin_client.post(admin_url("recurringtask", "add"), form)
    assert response.status_code == 302
    (task,) = rows(RecurringTask)
    assert task.title == "Rotate keys" and task.owner == developer


def test_a_risk_changed_in_the_admin_is_checked_by_the_service(admin_client, make_risk):
    risk = make_risk()
    form = {
        "description": "Backups never restored",
        "severity": "high",
        "owner": risk.owner_id,
        "next_action": "",
        "status": "open",
    }
    response = admin_client.post(admin_url("risk", "change", risk.pk), form)
    assert "needs its next action" in response.content.decode()
    form["status"] = "closed"
    assert admin_client.post(admin_url("risk", "change", risk.pk), form).status_code == 302
    assert rows(Risk, status="closed") == [risk]


def test_occurrences_are_read_only_in_the_admin(admin_client, make_task, org, today, in_scope):
    make_task()
    with in_scope(org):
        recurring_tasks_open_due(organization=org, today=today + datetime.timedelta(days=7))
    occurrence = rows(RecurringOccurrence)[0]
    assert admin_client.get(admin_url("recurringoccurrence", "changelist")).status_code == 200
    assert admin_client.get(admin_url("recurringoccurrence", "add")).status_code == 403
    page = admin_client.get(admin_url("recurringoccurrence", "change", occurrence.pk))
    assert page.status_code == 200


def test_staff_read_their_organizations_handoffs_with_their_lines_and_change_nothing(
    admin_client, org, other_org, developer, account_manager, stranger, make_task
):
    make_task(title="Patch the ours")
    with activate_organization(org):
        ours = handoff_start(
            organization=org, person=developer, by=account_manager, all_clients=True,
            note="Ours leaving",
        )  # fmt: skip
    with scopes_disabled():
        theirs = Handoff.objects.create(
            organization=other_org, person=stranger, started_by=stranger, note="Alien leaving"
        )
    listing = admin_client.get(admin_url("handoff", "changelist")).content.decode()
    assert "dev-ours" in listing and "stranger" not in listing
    page = admin_client.get(admin_url("handoff", "change", ours.pk)).content.decode()
    assert "Patch the ours" in page
    assert admin_client.get(admin_url("handoff", "change", theirs.pk)).status_code in (302, 404)
    posted = admin_client.post(admin_url("handoff", "change", ours.pk), {"note": "changed"})
    assert posted.status_code == 403
    assert rows(Handoff, pk=ours.pk)[0].note == "Ours leaving"
