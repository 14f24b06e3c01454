"""Pages and list endpoints keep a constant number of queries: the same
budget holds at 2 rows and at 50."""

import datetime

import pytest
from django.urls import reverse

from tests.factories import (
    BillingMomentFactory,
    ClientFactory,
    MembershipFactory,
    RequestTypeFactory,
    TicketFactory,
    TimeEntryFactory,
)

# Measured: session, user, membership and the organization switcher are 4 of
# every page; a token lookup and its last-used stamp 2 of every API call. A
# budget only goes up with a reason in the commit.
LIST_PAGE_BUDGET = 12  # with the navigation counts (one query) and my running timer (one)
DETAIL_PAGE_BUDGET = 16  # + my running timer (the menu and the timer box share it) + request types for correcting it, + the entries' portions and the work waiting for a decision
HOME_PAGE_BUDGET = 12  # + my running timer, + the items finance sent back to me, + my open questions and my tickets waiting on the client (the developer home)
API_LIST_BUDGET = 4

SIZES = [2, 50]


def tickets_with_variety(org, rows: int) -> list:
    """``rows`` tickets spread over distinct clients, types and assignees, so
    a missing join would show as one query per row."""
    tickets = []
    for i in range(rows):
        client = ClientFactory(
            organization=org, account_manager=MembershipFactory(organization=org)
        )
        tickets.append(
            TicketFactory(
                organization=org,
                client=client,
                request_type=RequestTypeFactory(organization=org),
                assignee=MembershipFactory(organization=org),
                number=i + 1,
                logged_minutes=i,
            )
        )
    return tickets


@pytest.mark.parametrize("rows", SIZES)
def test_the_ticket_list_page_has_a_fixed_query_budget(
    login, developer, org, rows, django_assert_max_num_queries
):
    tickets_with_variety(org, rows)
    client = login(developer)
    url = reverse("tickets:ticket_list", kwargs={"org": org.slug})
    with django_assert_max_num_queries(LIST_PAGE_BUDGET):
        response = client.get(url, {"status": "open", "sort": "-priority"})
    assert response.content.decode().count('data-testid="ticket-row"') == min(rows, 25)
    with django_assert_max_num_queries(LIST_PAGE_BUDGET):
        client.get(url, {"q": "Printer"}, headers={"HX-Request": "true"})


@pytest.mark.parametrize("rows", SIZES)
def test_the_ticket_page_has_a_fixed_query_budget(
    login, developer, org, terms, rows, django_assert_max_num_queries
):
    ticket = TicketFactory(
        organization=org,
        client=terms.client,
        contract=terms.contract,
        request_type=terms.request_type,
    )
    for i in range(rows):
        TimeEntryFactory(
            ticket=ticket,
            person=MembershipFactory(organization=org),
            work_date=datetime.date(2025, 3, 1) + datetime.timedelta(days=i % 20),
        )
        BillingMomentFactory(
            ticket=ticket,
            kind="out_of_scope" if i else "ticket_opened",
            status="decided" if i else "open",
        )
    client = login(developer)
    url = reverse("tickets:ticket_detail", kwargs={"org": org.slug, "number": ticket.number})
    with django_assert_max_num_queries(DETAIL_PAGE_BUDGET):
        response = client.get(url)
    assert response.content.decode().count('data-testid="time-entry"') == rows


@pytest.mark.parametrize("rows", SIZES)
def test_the_organization_home_has_a_fixed_query_budget(
    login, developer, org, rows, django_assert_max_num_queries
):
    for ticket in tickets_with_variety(org, rows):
        BillingMomentFactory(ticket=ticket)
    client = login(developer)
    with django_assert_max_num_queries(HOME_PAGE_BUDGET):
        client.get(reverse("tenancy:organization_home", kwargs={"org": org.slug}))


@pytest.mark.parametrize("rows", SIZES)
@pytest.mark.parametrize("endpoint", ["tickets", "time-entries", "billing-moments"])
def test_every_list_endpoint_has_a_fixed_query_budget(
    api, developer, org, rows, endpoint, django_assert_max_num_queries
):
    for ticket in tickets_with_variety(org, rows):
        TimeEntryFactory(ticket=ticket, person=MembershipFactory(organization=org))
        BillingMomentFactory(ticket=ticket, raised_by=MembershipFactory(organization=org))
    client = api(developer)
    # Time entries carry their portions: one prefetch query, whatever the rows.
    budget = API_LIST_BUDGET + (1 if endpoint == "time-entries" else 0)
    with django_assert_max_num_queries(budget):
        response = client.get(f"/api/v1/{endpoint}/")
    assert response.json()["count"] == rows
    if endpoint == "time-entries":
        assert all(len(entry["portions"]) == 1 for entry in response.json()["results"])
