"""The ticket list marks each ticket waiting for a billing decision and
filters by it, on the page and in the API, from one definition computed in
the list's own query."""

import re

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from tests.factories import BillingMomentFactory, MembershipFactory, TicketFactory
from tests.tickets.test_query_budgets import LIST_PAGE_BUDGET, tickets_with_variety
from tickets.forms import TicketFilterForm
from tickets.models import BillingMoment
from tickets.selectors import ticket_list

DECIDED = BillingMoment.Status.DECIDED


def list_url(org) -> str:
    return reverse("tickets:ticket_list", kwargs={"org": org.slug})


def rows(response) -> dict[int, str]:
    """{ticket number: its row's HTML} of a list page."""
    body = response.content.decode()
    found = re.findall(r'<tr data-testid="ticket-row">(.*?)</tr>', body, re.S)
    return {int(re.search(r">#(\d+)<", row).group(1)): row for row in found}


@pytest.fixture
def tickets(org, developer):
    """#1 waits (an open moment), #2 waits twice, #3 was decided, #4 never
    had a moment, #5 waits but is another organization's."""
    with scopes_disabled():
        waiting = TicketFactory(organization=org, number=1, assignee=developer)
        BillingMomentFactory(ticket=waiting)
        twice = TicketFactory(organization=org, number=2)
        BillingMomentFactory(ticket=twice)
        BillingMomentFactory(ticket=twice, kind=BillingMoment.Kind.OUT_OF_SCOPE)
        decided = TicketFactory(organization=org, number=3, assignee=developer)
        BillingMomentFactory(ticket=decided, status=DECIDED)
        quiet = TicketFactory(organization=org, number=4)
    return {"waiting": waiting, "twice": twice, "decided": decided, "quiet": quiet}


def test_a_ticket_waiting_for_a_decision_carries_a_decide_mark_that_says_why(
    login, org, developer, tickets
):
    listed = rows(login(developer).get(list_url(org)))

    assert set(listed) == {1, 2, 3, 4}
    marked = {number for number, row in listed.items() if 'data-testid="decide-mark"' in row}
    assert marked == {1, 2}
    assert 'aria-label="Decide: #1 waits for a billing decision"' in listed[1]
    detail = reverse("tickets:ticket_detail", kwargs={"org": org.slug, "number": 1})
    assert f'href="{detail}#billing-prompt" class="badge badge-decide"' in listed[1]


def test_the_waiting_filter_keeps_only_the_tickets_waiting_for_a_decision(
    login, org, developer, tickets
):
    response = login(developer).get(list_url(org), {"moments": "open"})

    assert set(rows(response)) == {1, 2}
    assert '<option value="open" selected>Waiting for a decision</option>' in (
        response.content.decode()
    )


def test_the_waiting_filter_reads_in_plain_words():
    assert dict(TicketFilterForm.MOMENT_CHOICES)["open"] == "Waiting for a decision"
    assert TicketFilterForm.base_fields["moments"].label == "Billing decision"


def test_the_htmx_answer_carries_the_marks_too(login, org, developer, tickets):
    response = login(developer).get(list_url(org), {"q": ""}, headers={"HX-Request": "true"})

    assert "<html" not in response.content.decode()
    assert response.content.decode().count('data-testid="decide-mark"') == 2


def test_mine_or_opened_keeps_my_tickets_and_those_i_opened_that_nobody_holds(
    login, org, developer
):
    someone = MembershipFactory(organization=org)
    with scopes_disabled():
        TicketFactory(organization=org, number=1, assignee=developer)
        TicketFactory(organization=org, number=2, opened_by=developer, assignee=None)
        TicketFactory(organization=org, number=3, opened_by=developer, assignee=someone)
        TicketFactory(organization=org, number=4, opened_by=someone, assignee=None)

    response = login(developer).get(list_url(org), {"mine_or_opened": "1"})

    assert set(rows(response)) == {1, 2}


def test_the_selector_annotates_every_ticket_with_whether_it_waits(org, tickets):
    with scopes_disabled():
        waits = dict(ticket_list(organization=org).values_list("number", "waits_for_decision"))
        only = ticket_list(organization=org, with_open_moments=True)
        assert sorted(t.number for t in only) == [1, 2]  # one row per ticket, however many moments

    assert waits == {1: True, 2: True, 3: False, 4: False}


@pytest.mark.parametrize("size", [2, 30])
def test_the_marks_cost_no_query_per_row(
    login, org, developer, size, django_assert_max_num_queries
):
    with scopes_disabled():
        for ticket in tickets_with_variety(org, size):
            BillingMomentFactory(ticket=ticket)
    client = login(developer)

    with django_assert_max_num_queries(LIST_PAGE_BUDGET):
        response = client.get(list_url(org), {"moments": "open"})

    assert response.content.decode().count('data-testid="decide-mark"') == min(size, 25)


# --- API ------------------------------------------------------------------------------------
def test_the_api_filters_tickets_waiting_for_a_decision(api, developer, org, tickets):
    client = api(developer)

    waiting = client.get("/api/v1/tickets/", {"waiting": "true"}).json()
    settled = client.get("/api/v1/tickets/", {"waiting": "false"}).json()

    assert sorted(t["number"] for t in waiting["results"]) == [1, 2]
    assert sorted(t["number"] for t in settled["results"]) == [3, 4]


def test_the_api_refuses_a_waiting_value_that_is_not_a_yes_or_no(api, developer, org):
    response = api(developer).get("/api/v1/tickets/", {"waiting": "perhaps"})

    assert response.status_code == 400
    assert "waiting" in response.json()["fields"]
