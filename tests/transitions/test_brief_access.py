"""Who reads which brief: account managers, admins and finance every
client's; a developer the briefs of the clients they work for — an open
ticket of theirs, time in the last 90 days, a recurring task or open risk
they own, or a handoff line given to them."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from msops.tenancy.models import Role
from msops.tenancy.scoping import activate_organization
from tests.factories import ClientFactory, TicketFactory, TimeEntryFactory
from transitions.briefs import client_brief_update
from transitions.models import Handoff, HandoffItem, ItemKind
from transitions.selectors import WORKED_FOR_DAYS, clients_worked_for


@pytest.fixture
def briefs(org, account_manager):
    clients = {name: ClientFactory(organization=org, name=name) for name in ("Initech", "Globex")}
    with activate_organization(org):
        for client in clients.values():
            client_brief_update(
                client=client, summary=f"State of {client.name}", by=account_manager
            )
    return clients


def page(login, member, org, client):
    url = reverse("transitions:client_brief", kwargs={"org": org.slug, "pk": client.pk})
    return login(member).get(url)


@pytest.mark.parametrize("role", [Role.ACCOUNT_MANAGER, Role.ADMIN, Role.FINANCE])
def test_managers_and_finance_read_every_brief(login, org, members, briefs, role):
    assert page(login, members[role], org, briefs["Globex"]).status_code == 200


def test_a_developer_reads_only_the_briefs_of_their_clients(login, org, developer, briefs):
    TicketFactory(organization=org, client=briefs["Initech"], assignee=developer)
    assert page(login, developer, org, briefs["Initech"]).status_code == 200
    refused = page(login, developer, org, briefs["Globex"])
    assert refused.status_code == 403


def _worked(kind, org, developer, client, make_task, make_risk, account_manager):
    today = timezone.localdate()
    if kind == "recent time":
        TimeEntryFactory(
            organization=org,
            ticket=TicketFactory(organization=org, client=client, status="closed"),
            person=developer,
            work_date=today - datetime.timedelta(days=WORKED_FOR_DAYS - 1),
        )
    elif kind == "task":
        make_task(client=client)
    elif kind == "risk":
        make_risk(client=client)
    elif kind == "handoff line":
        handoff = Handoff.objects.create(
            organization=org, person=account_manager, started_by=account_manager
        )
        ticket = TicketFactory(organization=org, client=client, assignee=account_manager)
        HandoffItem.objects.create(
            organization=org, handoff=handoff, kind=ItemKind.TICKET, object_id=ticket.pk,
            client=client, label=str(ticket), new_owner=developer,
        )  # fmt: skip


@pytest.mark.parametrize("kind", ["recent time", "task", "risk", "handoff line"])
def test_what_makes_a_client_theirs(
    org, developer, briefs, kind, make_task, make_risk, account_manager
):
    _worked(kind, org, developer, briefs["Initech"], make_task, make_risk, account_manager)
    with activate_organization(org):
        names = [c.name for c in clients_worked_for(organization=org, membership=developer)]
    assert names == ["Initech"]


def test_old_time_and_closed_tickets_do_not(org, developer, briefs):
    TimeEntryFactory(
        organization=org,
        ticket=TicketFactory(
            organization=org, client=briefs["Initech"], assignee=developer, status="closed"
        ),
        person=developer,
        work_date=timezone.localdate() - datetime.timedelta(days=WORKED_FOR_DAYS + 1),
    )
    with activate_organization(org):
        assert not clients_worked_for(organization=org, membership=developer).exists()


def test_the_api_lists_a_developers_briefs_only(api, org, developer, finance, briefs):
    TicketFactory(organization=org, client=briefs["Globex"], assignee=developer)
    names = [
        b["client_name"] for b in api(developer).get("/api/v1/client-briefs/").json()["results"]
    ]
    assert names == ["Globex"]
    everyone = api(finance).get("/api/v1/client-briefs/").json()["results"]
    assert len(everyone) == 2


def test_a_line_of_a_cancelled_handoff_gives_no_access(org, developer, account_manager, briefs):
    handoff = Handoff.objects.create(
        organization=org,
        person=account_manager,
        started_by=account_manager,
        status=Handoff.Status.CANCELLED,
    )
    ticket = TicketFactory(organization=org, client=briefs["Initech"], assignee=account_manager)
    HandoffItem.objects.create(
        organization=org, handoff=handoff, kind=ItemKind.TICKET, object_id=ticket.pk,
        client=briefs["Initech"], label=str(ticket), new_owner=developer,
    )  # fmt: skip
    with activate_organization(org):
        assert not clients_worked_for(organization=org, membership=developer).exists()
