"""The ticket list API reads plain rows (msops/tenancy/api/plain.py): its
output must be exactly what TicketSerializer gives for the same tickets,
field by field, in every shape a ticket takes."""

import datetime
import json

import pytest
from django.utils import timezone
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from msops.tenancy.api.plain import PlainReader
from msops.tenancy.scoping import activate_organization
from tests.factories import MembershipFactory
from tickets.api.serializers import TicketSerializer
from tickets.api.views import TICKET_READER, TicketViewSet
from tickets.models import Ticket
from tickets.services import ticket_update

TICKETS = "/api/v1/tickets/"


@pytest.fixture
def varied_tickets(org, developer, open_ticket):
    """New, assigned, waiting (an open pause), reopened (an ended pause),
    resolved with a note, classified, and one with a description."""
    plain = open_ticket(title="Plain")
    assigned = open_ticket(title="Assigned", assignee=MembershipFactory(organization=org))
    described = open_ticket(title="Ünïcode “quotes” \u2028 line", description="Line\nTwo")
    waiting = open_ticket(title="Waiting")
    reopened = open_ticket(title="Reopened", priority="urgent")
    with activate_organization(org):
        ticket_update(ticket=waiting, actor=developer, version=waiting.version, status="waiting")
        reopened = ticket_update(
            ticket=reopened,
            actor=developer,
            version=reopened.version,
            status="resolved",
            resolution_note="Swapped the toner.",
        )
        reopened = ticket_update(
            ticket=reopened, actor=developer, version=reopened.version, status="in_progress"
        )
        Ticket.objects.filter(pk=assigned.pk).update(
            classification="billable", logged_minutes=95, first_responded_at=timezone.now()
        )
    return [plain, assigned, described, waiting, reopened]


def serialized(org, **filters) -> list:
    """What the serializer answers for the list's tickets, in its order."""
    with activate_organization(org):
        queryset = TicketViewSet().get_tenant_queryset(org).filter(**filters).order_by("-pk")
        data = TicketSerializer(queryset, many=True).data
    return json.loads(JSONRenderer().render(data))


def test_the_list_answers_exactly_what_the_serializer_answers(api, developer, org, varied_tickets):
    response = api(developer).get(TICKETS, {"ordering": "-number"})
    assert response.status_code == 200
    listed = response.json()["results"]
    expected = serialized(org)
    assert [row["id"] for row in listed] == [row["id"] for row in expected]
    for got, want in zip(listed, expected, strict=True):
        assert got == want
    # The shapes the fixture promised are there, so the comparison covered them.
    by_title = {row["title"]: row for row in listed}
    assert by_title["Waiting"]["pauses"][0]["ended_at"] is None
    assert by_title["Reopened"]["pauses"][0]["ended_at"] is not None
    assert by_title["Reopened"]["reopen_count"] == 1
    assert by_title["Assigned"]["classification"] == "billable"
    assert by_title["Plain"]["classification"] is None
    assert by_title["Assigned"]["assignee"] is not None


def test_a_page_and_its_total_follow_filters_and_page_size(api, developer, org, varied_tickets):
    response = api(developer).get(TICKETS, {"page_size": 2, "status": "waiting"})
    body = response.json()
    assert body["count"] == 1
    assert body["results"] == serialized(org, status="waiting")
    response = api(developer).get(TICKETS, {"page_size": 2, "page": 2, "ordering": "number"})
    numbers = sorted(ticket.number for ticket in varied_tickets)
    assert [row["number"] for row in response.json()["results"]] == numbers[2:4]


def test_the_total_is_counted_without_joining_the_names_in(
    api, developer, org, varied_tickets, open_ticket
):
    """The COUNT reads the tickets alone: no join for the page's client and
    request type names (they follow required foreign keys: joining them
    changes no count), none of the list's annotations, no DISTINCT over
    the row; and it still follows the filters."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import ClientFactory

    elsewhere = open_ticket(title="Other client", client=ClientFactory(organization=org))

    def counted(params) -> tuple[int, str]:
        with CaptureQueriesContext(connection) as captured:
            response = api(developer).get(TICKETS, {"page_size": 2, **params})
        counts = [q["sql"] for q in captured.captured_queries if "COUNT(" in q["sql"]]
        assert len(counts) == 1
        return response.json()["count"], counts[0]

    total, sql = counted({"client": varied_tickets[0].client_id})
    assert total == len(varied_tickets)
    assert "JOIN" not in sql
    assert counted({"client": elsewhere.client_id})[0] == 1
    total, sql = counted({"status": ["waiting", "new"]})
    assert total == 5  # four new (one of another client), one waiting
    for costly in ("JOIN", "EXISTS", "DISTINCT", "CASE"):
        assert costly not in sql, costly


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/St_Johns"])
def test_datetimes_are_written_as_drf_writes_them_in_the_current_timezone(org, open_ticket, zone):
    opened = datetime.datetime(2026, 3, 29, 1, 30, 15, 250, tzinfo=datetime.UTC)
    ticket = open_ticket(opened_at=opened)
    with activate_organization(org), timezone.override(zone):
        row = TICKET_READER.rows(
            TICKET_READER.values(Ticket.objects.filter(pk=ticket.pk)),
            pauses=ticket.pauses.all(),
        )[0]
        want = TicketSerializer(Ticket.objects.get(pk=ticket.pk)).data["opened_at"]
    assert row["opened_at"] == want
    if zone == "UTC":  # the API's timezone
        assert row["opened_at"] == "2026-03-29T01:30:15.000250Z"


def test_a_field_the_reader_cannot_format_fails_when_it_is_built():
    class Odd(serializers.ModelSerializer):
        weird = serializers.SerializerMethodField()

        class Meta:
            model = Ticket
            fields = ["id", "weird"]

    with pytest.raises(TypeError, match="weird"):
        _ = PlainReader(Odd).columns
