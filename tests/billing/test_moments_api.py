"""The ticket's own billing moments over the API — outside normal support and
a change the client asked for — with the roles, validation and result of the
ticket page's buttons."""

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from msops.tenancy.models import Role
from tests.factories import TicketFactory
from tests.tickets.helpers import count
from tickets.models import BillingMoment

KINDS = {"out-of-scope": "out_of_scope", "change-request": "change_request"}
PAGES = {"out-of-scope": "ticket_out_of_scope", "change-request": "ticket_change_request"}
PREFIXES = {"out-of-scope": "out_of_scope", "change-request": "change_request"}
DECIDERS = {Role.DEVELOPER, Role.ACCOUNT_MANAGER, Role.ADMIN}


def moment_url(action: str, ticket) -> str:
    return f"/api/v1/tickets/{ticket.pk}/{action}/"


def moments(ticket, kind: str) -> list[BillingMoment]:
    with scopes_disabled():
        return list(BillingMoment.objects.filter(ticket=ticket, kind=kind))


@pytest.mark.parametrize("action", KINDS)
def test_a_developer_raises_the_moment_with_a_note(api, developer, open_ticket, action):
    ticket = open_ticket()
    response = api(developer).post(moment_url(action, ticket), {"note": "They want a new site"})
    assert response.status_code == 200, response.json()
    answer = response.json()
    assert answer["kind"] == KINDS[action] and answer["status"] == "open"
    assert answer["ticket"] == ticket.pk and answer["detail"] == "They want a new site"
    assert answer["raised_by"] == developer.pk
    [moment] = moments(ticket, KINDS[action])
    assert moment.pk == answer["id"] and moment.raised_by_id == developer.pk


@pytest.mark.parametrize("action", KINDS)
@pytest.mark.parametrize("role", [Role.DEVELOPER, Role.ACCOUNT_MANAGER, Role.ADMIN, Role.FINANCE])
def test_who_may_raise_the_moment(api, members, open_ticket, action, role):
    ticket = open_ticket()
    response = api(members[role]).post(moment_url(action, ticket), {})
    if role in DECIDERS:
        assert response.status_code == 200
        assert len(moments(ticket, KINDS[action])) == 1
    else:
        assert response.status_code == 403
        assert moments(ticket, KINDS[action]) == []


@pytest.mark.parametrize("action", KINDS)
@pytest.mark.parametrize(
    "note", ["x" * 301, ["a list"], {"an": "object"}, True], ids=["long", "list", "object", "bool"]
)
def test_a_bad_note_is_a_400_on_the_note_and_raises_nothing(
    api, developer, open_ticket, action, note
):
    ticket = open_ticket()
    response = api(developer).post(moment_url(action, ticket), {"note": note}, format="json")
    assert response.status_code == 400
    assert "note" in str(response.json())
    assert moments(ticket, KINDS[action]) == []


@pytest.mark.parametrize("action", KINDS)
def test_another_organizations_ticket_is_a_404_and_stays_untouched(
    api, developer, other_org, action
):
    with scopes_disabled():
        theirs = TicketFactory(organization=other_org)
    response = api(developer).post(moment_url(action, theirs), {"note": "Mine now"})
    assert response.status_code == 404
    assert count(BillingMoment, ticket=theirs) == 0


@pytest.mark.parametrize("action", KINDS)
def test_an_unknown_ticket_is_a_404(api, developer, action):
    response = api(developer).post(f"/api/v1/tickets/987654321/{action}/", {})
    assert response.status_code == 404


@pytest.mark.parametrize("action", KINDS)
def test_asking_again_answers_the_moment_already_open(api, developer, open_ticket, action):
    ticket = open_ticket()
    client = api(developer)
    first = client.post(moment_url(action, ticket), {"note": "First"})
    again = client.post(moment_url(action, ticket), {"note": "Second"})
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert [m.detail for m in moments(ticket, KINDS[action])] == ["First"]


@pytest.mark.parametrize("action", KINDS)
@pytest.mark.parametrize("note", ["  Needs a new VPN site ", ""], ids=["note", "no-note"])
def test_the_api_saves_what_the_ticket_page_saves(api, login, developer, open_ticket, action, note):
    by_api, by_page = open_ticket(title="By API"), open_ticket(title="By page")
    assert api(developer).post(moment_url(action, by_api), {"note": note}).status_code == 200
    page = reverse(
        f"billing:{PAGES[action]}", kwargs={"org": by_page.organization.slug, "pk": by_page.pk}
    )
    assert login(developer).post(page, {f"{PREFIXES[action]}-note": note}).status_code == 302

    def saved(ticket):
        [moment] = moments(ticket, KINDS[action])
        return (moment.kind, moment.status, moment.detail, moment.raised_by_id)

    assert saved(by_api) == saved(by_page)


def test_both_actions_are_in_the_schema_with_their_answers():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    for action in KINDS:
        operation = schema["paths"][f"/api/v1/tickets/{{id}}/{action}/"]["post"]
        assert {"200", "400", "403", "404"} <= set(operation["responses"])
        body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        request = schema["components"]["schemas"][body.rsplit("/", 1)[1]]
        assert request["properties"]["note"]["maxLength"] == 300
