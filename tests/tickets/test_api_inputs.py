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
    assert "ticket" in response.json()["fields"]
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
        "fields": {},
    }


def test_an_error_answer_undoes_the_writes_the_request_made_before_it(
    api, developer, org, open_ticket, no_scopes
):
    """A tenant request is one transaction: what it wrote before failing is gone."""
    ticket = open_ticket()
    from tickets.api import views

    real_list = views.TicketViewSet.list

    def write_then_fail(self, request, *args, **kwargs):
        TimeEntry.objects.create(
            organization=org, ticket=ticket, person=developer, minutes=5,
            work_date=org_today(org),
        )  # fmt: skip
        raise RuntimeError("boom after a write")

    with mock.patch.object(views.TicketViewSet, "list", write_then_fail):
        response = api(developer).get(TICKETS)
    assert response.status_code == 500
    with no_scopes():
        assert not TimeEntry.objects.filter(ticket=ticket).exists()
    assert views.TicketViewSet.list is real_list


@pytest.mark.parametrize("query", ["work_date_to=", "work_date_from=%20"])
def test_a_filter_given_without_a_value_is_a_400_on_it(api, developer, query):
    """Present but empty is not "no filter": the schema says a date."""
    response = api(developer).get(f"{ENTRIES}?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()["fields"]


@pytest.mark.parametrize("value", ["null", "yes", "", "1", "0", "TRUE"])
def test_a_boolean_filter_takes_only_true_or_false(api, developer, open_ticket, value):
    open_ticket()
    client = api(developer)
    assert client.get(f"{TICKETS}?unassigned=true").status_code == 200
    response = client.get(f"{TICKETS}?unassigned={value}")
    assert response.status_code == 400 and "unassigned" in response.json()["fields"]


@pytest.mark.parametrize("size", ["null", "0", "-5", "2.5", "1e3"])
def test_a_page_size_that_is_not_a_whole_number_of_one_or_more_is_a_400(api, developer, size):
    response = api(developer).get(f"{TICKETS}?page_size={size}")
    assert response.status_code == 400 and "page_size" in response.json()["fields"]


def test_ordering_by_anything_but_the_declared_fields_is_a_400(api, developer, open_ticket):
    open_ticket()
    client = api(developer)
    assert client.get(f"{TICKETS}?ordering=-opened_at").status_code == 200
    response = client.get(f"{TICKETS}?ordering=-opened_at,password")
    assert response.status_code == 400
    assert "opened_at" in response.json()["fields"]["ordering"][0]


def test_free_text_search_may_be_empty(api, developer, open_ticket):
    open_ticket()
    assert api(developer).get(f"{TICKETS}?search=").json()["count"] == 1


def test_text_fields_take_only_text(api, developer, open_ticket, no_scopes):
    ticket = open_ticket()
    body = {"ticket": ticket.pk, "work_date": org_today(ticket.organization).isoformat(),
            "minutes": 30, "notes": 0}  # fmt: skip
    response = api(developer).post(ENTRIES, body)
    assert response.status_code == 400
    assert response.json()["fields"]["notes"] == ["Not a valid string."]
    with no_scopes():
        assert not TimeEntry.objects.filter(ticket=ticket).exists()


def test_the_api_takes_json_bodies_only(api, developer, open_ticket):
    ticket = open_ticket()
    body = f"ticket={ticket.pk}&minutes=30"
    response = api(developer).post(ENTRIES, body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def org_today(org):
    from msops.timezones import organization_today

    return organization_today(org)
