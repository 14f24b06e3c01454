"""The handoff API: the same flow and refusals as the pages, with the roles."""

import pytest
from django_scopes import scopes_disabled

from msops.tenancy.models import Role
from tests.factories import MembershipFactory, TicketFactory
from tickets.models import Ticket
from transitions.models import Handoff, HandoffItem


@pytest.fixture
def receiver(org):
    return MembershipFactory(organization=org, role=Role.DEVELOPER, user__username="dev2-ours")


@pytest.fixture
def owned(org, client_, developer, make_task, make_risk):
    ticket = TicketFactory(organization=org, client=client_, assignee=developer)
    return {"ticket": ticket, "task": make_task(), "risk": make_risk()}


def test_the_whole_flow_over_the_api(api, org, owned, developer, account_manager, receiver):
    manager = api(account_manager)
    started = manager.post(
        "/api/v1/handoffs/",
        {"person": developer.pk, "all_clients": True, "note": "Leaving"},
        format="json",
    )
    assert started.status_code == 201, started.json()
    body = started.json()
    assert body["person_name"] == "dev-ours" and body["item_count"] == 3
    assert body["unowned_count"] == 3 and len(body["items"]) == 3
    pk = body["id"]

    early = manager.post(f"/api/v1/handoffs/{pk}/complete/")
    assert early.status_code == 409 and early.json()["code"] == "refused"
    assert "3 items have no new owner" in early.json()["detail"]

    line = body["items"][0]["id"]
    wrong = manager.patch(
        f"/api/v1/handoff-items/{line}/", {"new_owner": developer.pk}, format="json"
    )
    assert wrong.status_code == 400 and "new_owner" in wrong.json()["fields"]
    one = manager.patch(f"/api/v1/handoff-items/{line}/", {"new_owner": receiver.pk}, format="json")
    assert one.status_code == 200 and one.json()["new_owner_name"] == "dev2-ours"
    rest = manager.post(
        f"/api/v1/handoffs/{pk}/assign-all/", {"new_owner": receiver.pk}, format="json"
    )
    assert rest.json() == {"assigned": 2, "skipped": []}

    # The receiver sees the handoff and takes their lines; they may not complete it.
    taker = api(receiver)
    assert [h["id"] for h in taker.get("/api/v1/handoffs/").json()["results"]] == [pk]
    assert taker.post(f"/api/v1/handoffs/{pk}/complete/").status_code == 403
    assert taker.post(f"/api/v1/handoffs/{pk}/acknowledge/").json() == {"count": 3}

    assert manager.get(f"/api/v1/handoffs/{pk}/document/").status_code == 404
    assert taker.post(f"/api/v1/handoffs/{pk}/acknowledge/").status_code == 409  # nothing left
    done = manager.post(f"/api/v1/handoffs/{pk}/complete/")
    assert done.status_code == 200, done.json()
    assert done.json()["status"] == "completed"
    assert {item["status"] for item in done.json()["items"]} == {"transferred"}
    with scopes_disabled():
        assert Ticket.objects.get(pk=owned["ticket"].pk).assignee == receiver
    markdown = taker.get(f"/api/v1/handoffs/{pk}/document/").json()["markdown"]
    assert "## Acme" in markdown and "→ **dev2-ours**" in markdown


def test_starting_needs_clients_and_a_manager(api, org, owned, developer, account_manager, client_):
    assert (
        api(developer)
        .post("/api/v1/handoffs/", {"person": developer.pk, "all_clients": True}, format="json")
        .status_code
        == 403
    )
    response = api(account_manager).post(
        "/api/v1/handoffs/", {"person": developer.pk}, format="json"
    )
    assert response.status_code == 400 and "clients" in response.json()["fields"]
    with scopes_disabled():
        assert not Handoff.objects.exists()
    chosen = api(account_manager).post(
        "/api/v1/handoffs/", {"person": developer.pk, "clients": [client_.pk]}, format="json"
    )
    assert chosen.status_code == 201 and chosen.json()["clients"] == [client_.pk]


def test_a_member_outside_a_handoff_does_not_see_it(
    api, org, owned, developer, account_manager, finance
):
    pk = (
        api(account_manager)
        .post("/api/v1/handoffs/", {"person": developer.pk, "all_clients": True}, format="json")
        .json()["id"]
    )
    assert api(finance).get(f"/api/v1/handoffs/{pk}/").status_code == 404
    assert api(finance).get("/api/v1/handoff-items/").json()["results"] == []
    assert api(developer).get(f"/api/v1/handoffs/{pk}/").status_code == 200  # their own
    with scopes_disabled():
        assert HandoffItem.objects.filter(handoff=pk).count() == 3
