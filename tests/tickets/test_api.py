import datetime

import pytest
from django.utils import timezone

from msops.tenancy.models import Role
from msops.tenancy.scoping import activate_organization
from tests.factories import (
    BillingMomentFactory,
    ClientFactory,
    MembershipFactory,
    RequestTypeFactory,
    TicketFactory,
)
from tests.tickets.helpers import count, fresh
from tickets.models import BillingMoment, Ticket, TimeEntry

TICKETS = "/api/v1/tickets/"
ENTRIES = "/api/v1/time-entries/"
MOMENTS = "/api/v1/billing-moments/"


def org_today(org) -> datetime.date:
    return timezone.localdate(timezone=org.tzinfo)


def new_ticket(terms, **overrides) -> dict:
    return {
        "client": terms.client.pk,
        "request_type": terms.request_type.pk,
        "title": "Laptop won't boot",
        "priority": "high",
        "source": "chat",
        **overrides,
    }


# --- tickets ----------------------------------------------------------------------
def test_opening_a_ticket_answers_201_with_number_contract_and_dues(api, developer, terms):
    response = api(developer).post(TICKETS, new_ticket(terms, priority="normal"))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["number"] == 1 and body["version"] == 1 and body["status"] == "new"
    assert body["contract"] == terms.contract.pk and body["client_name"] == "Acme Dental"
    assert body["opened_by"] == developer.pk
    assert body["first_response_due"] is not None and body["resolution_due"] is not None
    assert count(BillingMoment, kind="ticket_opened") == 1


@pytest.mark.parametrize("field", ["client", "request_type", "assignee"])
def test_an_id_of_another_organization_is_a_400_on_its_field(
    api, developer, terms, other_org, stranger, field
):
    foreign = {
        "client": lambda: ClientFactory(organization=other_org).pk,
        "request_type": lambda: RequestTypeFactory(organization=other_org).pk,
        "assignee": lambda: stranger.pk,
    }[field]()
    response = api(developer).post(TICKETS, new_ticket(terms, **{field: foreign}))
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert count(Ticket) == 0


def test_a_ticket_cannot_be_opened_in_another_status(api, developer, terms):
    response = api(developer).post(TICKETS, new_ticket(terms, status="closed"))
    assert response.status_code == 400 and "status" in response.json()["fields"]


def test_a_ticket_can_be_opened_naming_the_status_it_opens_in(api, developer, terms):
    response = api(developer).post(TICKETS, new_ticket(terms, status="new"))
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "new"


def test_tickets_list_only_my_organization_and_filter(api, developer, org, terms, stranger):
    TicketFactory(organization=org, client=terms.client, number=1, title="Printer", status="new")
    TicketFactory(organization=org, client=terms.client, number=2, title="VPN", status="closed")
    TicketFactory(organization=stranger.organization, number=1, title="Theirs")
    client = api(developer)
    titles = lambda query: sorted(r["title"] for r in client.get(TICKETS + query).json()["results"])  # noqa: E731
    assert titles("") == ["Printer", "VPN"]
    assert titles("?status=closed") == ["VPN"]
    assert titles("?open=true") == ["Printer"]
    assert titles("?search=%232") == ["VPN"]
    assert titles(f"?client={terms.client.pk}") == ["Printer", "VPN"]
    assert titles("?classification=undecided") == ["Printer", "VPN"]
    newest_number_first = client.get(TICKETS + "?ordering=-number").json()["results"]
    assert [r["title"] for r in newest_number_first] == ["VPN", "Printer"]


def test_a_foreign_ticket_is_a_404(api, developer, stranger):
    theirs = TicketFactory(organization=stranger.organization)
    assert api(developer).get(f"{TICKETS}{theirs.pk}/").status_code == 404


def test_a_change_with_the_current_version_saves(api, developer, open_ticket):
    ticket = open_ticket()
    response = api(developer).patch(
        f"{TICKETS}{ticket.pk}/", {"version": 1, "status": "in_progress", "assignee": developer.pk}
    )
    assert response.status_code == 200, response.json()
    assert response.json()["version"] == 2 and response.json()["assignee"] == developer.pk
    assert fresh(ticket).status == "in_progress"


def test_a_change_without_a_version_is_a_400(api, developer, open_ticket):
    ticket = open_ticket()
    response = api(developer).patch(f"{TICKETS}{ticket.pk}/", {"status": "waiting"})
    assert response.status_code == 400 and "version" in response.json()["fields"]


def test_a_stale_version_is_a_409_with_the_current_ticket(
    api, developer, account_manager, open_ticket
):
    ticket = open_ticket()
    api(account_manager).patch(f"{TICKETS}{ticket.pk}/", {"version": 1, "priority": "urgent"})
    response = api(developer).put(f"{TICKETS}{ticket.pk}/", {"version": 1, "status": "closed"})
    assert response.status_code == 409
    body = response.json()
    assert "changed by someone else" in body["detail"]
    assert body["current"]["version"] == 2 and body["current"]["priority"] == "urgent"
    assert isinstance(body["current"]["number"], int)
    assert fresh(ticket).status == "new"


def test_the_client_of_an_opened_ticket_cannot_be_changed(api, developer, open_ticket, org):
    ticket = open_ticket()
    other = ClientFactory(organization=org)
    response = api(developer).patch(f"{TICKETS}{ticket.pk}/", {"version": 1, "client": other.pk})
    assert response.status_code == 400 and "client" in response.json()["fields"]


@pytest.mark.parametrize(
    "role,read,write,delete",
    [
        (Role.DEVELOPER, 200, True, 403),
        (Role.ACCOUNT_MANAGER, 200, True, 204),
        (Role.FINANCE, 200, False, 403),
        (Role.ADMIN, 200, True, 204),
    ],
)
def test_who_may_do_what_with_tickets(api, members, terms, open_ticket, role, read, write, delete):
    client = api(members[role])
    ticket = open_ticket()
    assert client.get(TICKETS).status_code == read
    assert client.get(f"{TICKETS}{ticket.pk}/").status_code == read
    created = client.post(TICKETS, new_ticket(terms))
    changed = client.patch(f"{TICKETS}{ticket.pk}/", {"version": 1, "status": "waiting"})
    assert (created.status_code, changed.status_code) == ((201, 200) if write else (403, 403))
    assert client.delete(f"{TICKETS}{ticket.pk}/").status_code == delete


def test_a_ticket_with_time_logged_cannot_be_deleted(
    api, admin_member, developer, open_ticket, log_time
):
    ticket = open_ticket()
    log_time(ticket, developer)
    response = api(admin_member).delete(f"{TICKETS}{ticket.pk}/")
    assert response.status_code == 409
    assert response.json()["code"] == "in_use"
    assert "close it instead" in response.json()["detail"]
    assert count(Ticket) == 1


# --- time entries ----------------------------------------------------------------------
def test_logging_time_answers_201_and_defaults_the_person_to_the_token(
    api, developer, org, open_ticket
):
    ticket = open_ticket()
    response = api(developer).post(
        ENTRIES, {"ticket": ticket.pk, "work_date": org_today(org).isoformat(), "minutes": 45}
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["person"] == developer.pk and body["minutes"] == 45
    assert body["rate"] == "120.00" and body["billing_status"] == "undecided"
    assert fresh(ticket).logged_minutes == 45


def test_a_retried_request_with_the_same_idempotency_key_logs_once(
    api, developer, org, open_ticket
):
    ticket = open_ticket()
    client = api(developer)
    payload = {"ticket": ticket.pk, "work_date": org_today(org).isoformat(), "minutes": 25}
    first = client.post(ENTRIES, payload, headers={"Idempotency-Key": "timer-7f3"})
    again = client.post(ENTRIES, payload, headers={"Idempotency-Key": "timer-7f3"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert count(TimeEntry) == 1 and fresh(ticket).logged_minutes == 25
    third = client.post(ENTRIES, payload, headers={"Idempotency-Key": "timer-7f4"})
    assert third.status_code == 201 and count(TimeEntry) == 2


def test_time_on_another_organizations_ticket_is_a_400(api, developer, org, stranger):
    theirs = TicketFactory(organization=stranger.organization)
    response = api(developer).post(
        ENTRIES, {"ticket": theirs.pk, "work_date": org_today(org).isoformat(), "minutes": 5}
    )
    assert response.status_code == 400 and "ticket" in response.json()["fields"]
    assert count(TimeEntry) == 0


@pytest.mark.parametrize(
    "minutes,days,field",
    [(0, 0, "minutes"), (-5, 0, "minutes"), (1441, 0, "minutes"), (30, 1, "work_date")],
)
def test_invalid_time_is_a_400_on_its_field(api, developer, org, open_ticket, minutes, days, field):
    ticket = open_ticket()
    work_date = org_today(org) + datetime.timedelta(days=days)
    response = api(developer).post(
        ENTRIES, {"ticket": ticket.pk, "work_date": work_date.isoformat(), "minutes": minutes}
    )
    assert response.status_code == 400 and field in response.json()["fields"]
    assert count(TimeEntry) == 0


def test_a_developer_logs_only_their_own_time_and_a_manager_anyones(
    api, developer, account_manager, org, open_ticket
):
    ticket = open_ticket()
    colleague = MembershipFactory(organization=org, role=Role.DEVELOPER)
    payload = {
        "ticket": ticket.pk,
        "person": colleague.pk,
        "work_date": org_today(org).isoformat(),
        "minutes": 30,
    }
    assert api(developer).post(ENTRIES, payload).status_code == 403
    assert api(account_manager).post(ENTRIES, payload).status_code == 201
    assert fresh(ticket).logged_minutes == 30


def test_correcting_an_entry_keeps_the_ticket_total(api, developer, open_ticket, log_time):
    ticket = open_ticket()
    entry = log_time(ticket, developer, minutes=30).entry
    response = api(developer).patch(f"{ENTRIES}{entry.pk}/", {"minutes": 50, "notes": "More"})
    assert response.status_code == 200 and response.json()["minutes"] == 50
    assert fresh(ticket).logged_minutes == 50
    assert api(developer).delete(f"{ENTRIES}{entry.pk}/").status_code == 204
    assert fresh(ticket).logged_minutes == 0


def test_a_locked_entry_refuses_changes_with_the_reason(
    api, admin_member, developer, open_ticket, log_time
):
    ticket = open_ticket()
    entry = log_time(ticket, developer, minutes=30).entry
    with activate_organization(ticket.organization):
        TimeEntry.objects.filter(pk=entry.pk).update(locked=True)
    client = api(admin_member)
    for response in (
        client.patch(f"{ENTRIES}{entry.pk}/", {"minutes": 5}),
        client.delete(f"{ENTRIES}{entry.pk}/"),
    ):
        assert response.status_code == 409  # a closed billing period: a conflict, not bad input
        assert response.json() == {
            "detail": "This entry is locked: its billing period is closed.",
            "code": "period_locked",
            "fields": {"non_field_errors": ["This entry is locked: its billing period is closed."]},
        }
    assert fresh(entry).minutes == 30


def test_a_developer_cannot_change_a_colleagues_entry(api, developer, org, open_ticket, log_time):
    colleague = MembershipFactory(organization=org, role=Role.DEVELOPER)
    entry = log_time(open_ticket(), colleague).entry
    assert api(developer).patch(f"{ENTRIES}{entry.pk}/", {"minutes": 5}).status_code == 403
    assert api(developer).delete(f"{ENTRIES}{entry.pk}/").status_code == 403


def test_finance_reads_time_but_does_not_log_it(
    api, finance, developer, org, open_ticket, log_time
):
    ticket = open_ticket()
    entry = log_time(ticket, developer).entry
    client = api(finance)
    assert client.get(ENTRIES).json()["count"] == 1
    payload = {"ticket": ticket.pk, "work_date": org_today(org).isoformat(), "minutes": 5}
    assert client.post(ENTRIES, payload).status_code == 403
    assert client.patch(f"{ENTRIES}{entry.pk}/", {"minutes": 5}).status_code == 403
    assert client.delete(f"{ENTRIES}{entry.pk}/").status_code == 403


def test_time_entries_filter_by_ticket_person_date_and_status(
    api, developer, account_manager, open_ticket, log_time
):
    first, second = open_ticket(), open_ticket()
    log_time(first, developer, work_date=datetime.date(2025, 3, 1))
    log_time(second, account_manager, work_date=datetime.date(2025, 3, 10))
    client = api(developer)
    ids = lambda query: [r["ticket"] for r in client.get(ENTRIES + query).json()["results"]]  # noqa: E731
    assert ids(f"?ticket={first.pk}") == [first.pk]
    assert ids(f"?person={account_manager.pk}") == [second.pk]
    assert ids("?work_date_from=2025-03-05") == [second.pk]
    assert ids("?billing_status=undecided&work_date_to=2025-03-05") == [first.pk]


# --- billing moments ----------------------------------------------------------------------
def test_billing_moments_are_listed_filtered_and_read_only(api, finance, open_ticket, stranger):
    ticket = open_ticket()
    BillingMomentFactory(ticket=TicketFactory(organization=stranger.organization))
    client = api(finance)
    body = client.get(MOMENTS).json()
    assert [(r["ticket"], r["kind"], r["status"]) for r in body["results"]] == [
        (ticket.pk, "ticket_opened", "open")
    ]
    assert client.get(f"{MOMENTS}?status=decided").json()["count"] == 0
    assert client.get(f"{MOMENTS}?ticket={ticket.pk}&kind=ticket_opened").json()["count"] == 1
    moment_id = body["results"][0]["id"]
    assert client.get(f"{MOMENTS}{moment_id}/").status_code == 200
    assert client.post(MOMENTS, {"ticket": ticket.pk, "kind": "out_of_scope"}).status_code == 405
    assert client.delete(f"{MOMENTS}{moment_id}/").status_code == 405


def test_time_logged_through_the_api_raises_the_same_moments_as_the_page(
    api, developer, org, open_ticket
):
    ticket = open_ticket()  # the rule expects about 60 min
    api(developer).post(
        ENTRIES, {"ticket": ticket.pk, "work_date": org_today(org).isoformat(), "minutes": 61}
    )
    assert count(BillingMoment, ticket=ticket, kind="expected_time_passed") == 1
