"""List endpoints keep a constant number of queries: the same budget holds
at 2 rows and at 50."""

import pytest
from django.urls import reverse

from msops.tenancy.scoping import activate_organization
from tests.factories import ClientFactory, MembershipFactory, TicketFactory
from tests.transitions.conftest import rows
from transitions.handoffs import handoff_start
from transitions.models import RecurringOccurrence
from transitions.services import recurring_tasks_open_due

ROWS = [2, 50]
BUDGET = 8


def _seed(org, make_task, make_risk, today, n: int) -> None:
    for i in range(n):
        client = ClientFactory(organization=org, name=f"Client {i}")
        owner = MembershipFactory(organization=org, role="developer", user__username=f"o{i}")
        make_task(client=client, owner=owner, title=f"Task {i}")
        make_risk(client=client, owner=owner, description=f"Risk {i}")
    with activate_organization(org):
        recurring_tasks_open_due(organization=org, today=today)
    assert len(rows(RecurringOccurrence)) == n


@pytest.mark.parametrize("n", ROWS)
@pytest.mark.parametrize("path", ["recurring-tasks", "recurring-occurrences", "risks"])
def test_transitions_lists_answer_within_the_same_query_budget_at_2_and_50_rows(
    api, developer, org, make_task, make_risk, today, django_assert_max_num_queries, n, path
):
    _seed(org, make_task, make_risk, today, n)
    client = api(developer)
    with django_assert_max_num_queries(BUDGET):
        response = client.get(f"/api/v1/{path}/?page_size=50")
    assert response.status_code == 200
    assert response.json()["count"] == n


HANDOFF_PAGE_BUDGET = 12  # + my running timer in the menu
HANDOFF_API_BUDGET = 4


@pytest.mark.parametrize("n", ROWS)
def test_the_handoff_page_and_api_answer_within_the_same_budget_at_2_and_50_lines(
    api, login, org, developer, account_manager, django_assert_max_num_queries, n
):
    for i in range(n):
        client = ClientFactory(organization=org, name=f"Client {i}")
        TicketFactory(organization=org, client=client, assignee=developer)
    with activate_organization(org):
        handoff = handoff_start(
            organization=org, person=developer, by=account_manager, all_clients=True
        )
    page = login(account_manager)
    url = reverse("transitions:handoff_detail", kwargs={"org": org.slug, "pk": handoff.pk})
    page.get(url)  # warm: the session and the first-visit reads
    with django_assert_max_num_queries(HANDOFF_PAGE_BUDGET):
        response = page.get(url)
    assert response.status_code == 200
    assert response.content.decode().count('data-testid="handoff-line-') == n
    client = api(account_manager)
    with django_assert_max_num_queries(HANDOFF_API_BUDGET):
        body = client.get(f"/api/v1/handoffs/{handoff.pk}/").json()
    assert len(body["items"]) == n
