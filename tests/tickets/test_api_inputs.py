"""Inputs an API client may send that must never reach a 500: ids that are
not whole numbers, datetime filters with any offset, and whatever else goes
wrong answers in JSON."""

import json
from unittest import mock

import pytest

from tests.tickets.helpers import fresh
from tickets.models import TimeEntry

TICKETS = "/api/v1/tickets/"
ENTRIES = "/api/v1/time-entries/"


@pytest.mark.parametrize("bad", ["1e400", "107.7", "true", '"12abc"', '"-1"'])
def test_an_id_that_is_not_a_whole_number_is_a_400_on_the_field(
    api, developer, org, open_ticket, bad
):
    ticket = open_ticket()
    ticket_id = {"107.7": f"{ticket.pk}.7"}.get(bad, bad)  # a fraction of a real id
    body = f'{{"ticket": {ticket_id}, "work_date": "{org_today(org).isoformat()}", "minutes": 30}}'
    response = api(developer).post(ENTRIES, body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "ticket" in response.json()
    assert fresh(ticket).logged_minutes == 0
    assert not TimeEntry.objects.model._base_manager.filter(ticket=ticket).exists()


@pytest.mark.parametrize("offset", ["+19:00", "-23:59", "+05:30", "Z"])
def test_datetime_filters_take_any_offset(api, developer, open_ticket, offset):
    open_ticket()
    response = api(developer).get(TICKETS, {"opened_after": f"2026-01-01T00:00:00{offset}"})
    assert response.status_code == 200
    assert response.json()["count"] == 1
    later = api(developer).get(TICKETS, {"opened_before": f"2000-01-01T00:00:00{offset}"})
    assert later.status_code == 200 and later.json()["count"] == 0


def test_an_unexpected_error_answers_json_not_an_html_page(api, developer):
    with mock.patch(
        "tickets.api.views.TicketViewSet.get_queryset", side_effect=RuntimeError("boom")
    ):
        response = api(developer).get(TICKETS)
    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
    assert json.loads(response.content) == {
        "detail": "Something went wrong on our side; it has been logged.",
        "code": "server_error",
    }


def org_today(org):
    from msops.timezones import organization_today

    return organization_today(org)
