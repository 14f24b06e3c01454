"""Resolution notes and reopens: what was done is written down for the next
person, and a ticket that comes back after being resolved is counted — in
the service, on the ticket page and through the API."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from msops.tenancy.scoping import activate_organization
from tests.tickets.helpers import fresh
from tickets.services import ticket_update
from tickets.services.tickets import RESOLUTION_NOTE_MAX

TICKETS = "/api/v1/tickets/"
HTMX = {"HX-Request": "true"}
NOTE = "Cleared the print spooler and re-added the printer by IP."
TOO_LONG = "x" * (RESOLUTION_NOTE_MAX + 1)


def update(ticket, actor, **changes):
    with activate_organization(ticket.organization):
        return ticket_update(ticket=ticket, actor=actor, version=fresh(ticket).version, **changes)


def page_url(name, org, ticket):
    if name == "ticket_detail":
        return reverse("tickets:ticket_detail", kwargs={"org": org.slug, "number": ticket.number})
    return reverse(f"tickets:{name}", kwargs={"org": org.slug, "pk": ticket.pk})


def status_form(ticket, **fields):
    return {
        "status": ticket.status,
        "priority": ticket.priority,
        "phase": ticket.phase,
        "version": fresh(ticket).version,
        **fields,
    }


# --- the service ---------------------------------------------------------------------
def test_resolving_with_a_note_saves_it_stripped(developer, open_ticket):
    ticket = open_ticket()
    saved = update(ticket, developer, status="resolved", resolution_note=f"  {NOTE}\n")
    assert saved.resolution_note == NOTE
    stored = fresh(ticket)
    assert (stored.status, stored.resolution_note) == ("resolved", NOTE)
    assert stored.resolved_at is not None


def test_resolving_without_a_note_is_allowed_and_counts_no_reopen(developer, open_ticket):
    ticket = open_ticket()
    update(ticket, developer, status="resolved")
    update(ticket, developer, status="closed")
    stored = fresh(ticket)
    assert (stored.status, stored.resolution_note) == ("closed", "")
    assert (stored.reopen_count, stored.last_reopened_at) == (0, None)


def test_a_note_of_exactly_the_limit_is_saved(developer, open_ticket):
    ticket = open_ticket()
    update(ticket, developer, resolution_note="x" * RESOLUTION_NOTE_MAX)
    assert len(fresh(ticket).resolution_note) == RESOLUTION_NOTE_MAX


def test_a_note_over_the_limit_is_refused_on_its_field_and_nothing_is_saved(developer, open_ticket):
    ticket = open_ticket()
    with pytest.raises(ValidationError) as refused:
        update(ticket, developer, status="resolved", resolution_note=TOO_LONG)
    assert list(refused.value.message_dict) == ["resolution_note"]
    assert "10,000 characters" in refused.value.message_dict["resolution_note"][0]
    stored = fresh(ticket)
    assert (stored.status, stored.resolution_note, stored.version) == ("new", "", 1)


def test_a_note_that_is_not_text_is_refused_on_its_field(developer, open_ticket):
    ticket = open_ticket()
    with pytest.raises(ValidationError) as refused:
        update(ticket, developer, resolution_note=["not", "words"])
    assert list(refused.value.message_dict) == ["resolution_note"]


def test_reopening_counts_each_time_and_records_when(developer, open_ticket):
    ticket = open_ticket()
    update(ticket, developer, status="resolved", resolution_note=NOTE)
    before = timezone.now()
    update(ticket, developer, status="in_progress")
    first = fresh(ticket)
    assert first.reopen_count == 1 and first.resolved_at is None
    assert before <= first.last_reopened_at <= timezone.now()

    update(ticket, developer, status="closed")
    update(ticket, developer, status="waiting")
    second = fresh(ticket)
    assert second.reopen_count == 2
    assert second.last_reopened_at > first.last_reopened_at
    assert second.resolution_note == NOTE  # the earlier write-up stays for the next person


def test_changes_between_open_statuses_and_edits_of_a_closed_ticket_are_not_reopens(
    developer, open_ticket
):
    ticket = open_ticket()
    update(ticket, developer, status="in_progress")
    update(ticket, developer, status="waiting")
    update(ticket, developer, status="resolved")
    update(ticket, developer, priority="high", resolution_note=NOTE)
    stored = fresh(ticket)
    assert (stored.reopen_count, stored.last_reopened_at) == (0, None)
    assert stored.resolution_note == NOTE


# --- the ticket page ------------------------------------------------------------------
def test_the_status_form_offers_the_resolution_note(login, developer, org, open_ticket):
    ticket = open_ticket()
    body = login(developer).get(page_url("ticket_detail", org, ticket)).content.decode()
    assert "Resolution note — what was done, for the next person" in body
    assert 'name="resolution_note"' in body


def test_resolving_on_the_page_saves_the_note_and_the_page_shows_it(
    login, developer, org, open_ticket
):
    ticket = open_ticket()
    browser = login(developer)
    response = browser.post(
        page_url("ticket_update", org, ticket),
        status_form(ticket, status="resolved", resolution_note=NOTE),
    )
    assert response.status_code == 302
    assert fresh(ticket).resolution_note == NOTE
    body = browser.get(page_url("ticket_detail", org, ticket)).content.decode()
    assert 'data-testid="resolution-note"' in body
    assert NOTE in body.split('data-testid="resolution-note">')[1].split("</dd>")[0]


def test_a_resolved_ticket_without_a_note_says_so(login, developer, org, open_ticket):
    ticket = open_ticket()
    update(ticket, developer, status="resolved")
    body = login(developer).get(page_url("ticket_detail", org, ticket)).content.decode()
    assert "none written" in body.split('data-testid="resolution-note">')[1].split("</dd>")[0]


def test_an_open_ticket_shows_no_resolution_note_line(login, developer, org, open_ticket):
    ticket = open_ticket()
    body = login(developer).get(page_url("ticket_detail", org, ticket)).content.decode()
    assert 'data-testid="resolution-note"' not in body
    assert 'data-testid="ticket-reopened"' not in body


def test_a_note_too_long_on_the_page_is_shown_beside_the_field_and_nothing_saved(
    login, developer, org, open_ticket
):
    ticket = open_ticket()
    response = login(developer).post(
        page_url("ticket_update", org, ticket),
        status_form(ticket, status="resolved", resolution_note=TOO_LONG),
        headers=HTMX,
    )
    assert response.status_code == 200
    errors = response.content.decode().split('name="resolution_note"')[1]
    assert "Resolution notes are at most 10,000 characters (this one has 10,001)." in errors
    stored = fresh(ticket)
    assert (stored.status, stored.resolution_note, stored.version) == ("new", "", 1)


def test_a_form_that_does_not_send_the_note_keeps_it(login, developer, org, open_ticket):
    ticket = open_ticket()
    update(ticket, developer, status="resolved", resolution_note=NOTE)
    response = login(developer).post(
        page_url("ticket_update", org, ticket), status_form(fresh(ticket), priority="high")
    )
    assert response.status_code == 302
    assert (fresh(ticket).priority, fresh(ticket).resolution_note) == ("high", NOTE)


def test_reopening_twice_on_the_page_shows_the_count_and_the_last_date(
    login, developer, org, open_ticket
):
    ticket = open_ticket()
    browser = login(developer)
    for status in ("resolved", "in_progress", "closed", "new"):
        response = browser.post(
            page_url("ticket_update", org, ticket), status_form(fresh(ticket), status=status)
        )
        assert response.status_code == 302
    stored = fresh(ticket)
    assert stored.reopen_count == 2
    body = browser.get(page_url("ticket_detail", org, ticket)).content.decode()
    reopened_on = timezone.localtime(stored.last_reopened_at, org.tzinfo).date()
    assert f"Reopened 2 times, last on {reopened_on:%Y-%m-%d}" in body


def test_a_ticket_reopened_once_says_one_time(login, developer, org, open_ticket):
    ticket = open_ticket()
    update(ticket, developer, status="resolved")
    update(ticket, developer, status="in_progress")
    body = login(developer).get(page_url("ticket_detail", org, ticket)).content.decode()
    assert "Reopened 1 time, last on" in body


# --- the API --------------------------------------------------------------------------
def test_the_api_saves_the_note_when_resolving(api, developer, open_ticket):
    ticket = open_ticket()
    response = api(developer).patch(
        f"{TICKETS}{ticket.pk}/", {"version": 1, "status": "resolved", "resolution_note": NOTE}
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["resolution_note"], body["reopen_count"], body["last_reopened_at"]) == (
        NOTE,
        0,
        None,
    )
    assert fresh(ticket).resolution_note == NOTE


def test_a_note_too_long_through_the_api_is_a_400_on_the_field_and_nothing_saved(
    api, developer, open_ticket
):
    ticket = open_ticket()
    response = api(developer).patch(
        f"{TICKETS}{ticket.pk}/",
        {"version": 1, "status": "resolved", "resolution_note": TOO_LONG},
    )
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["resolution_note"]
    stored = fresh(ticket)
    assert (stored.status, stored.resolution_note, stored.version) == ("new", "", 1)


def test_reopens_through_the_api_are_counted_and_read_only(api, developer, open_ticket):
    ticket = open_ticket()
    client = api(developer)
    for version, status in enumerate(("resolved", "in_progress", "closed", "waiting"), 1):
        response = client.patch(f"{TICKETS}{ticket.pk}/", {"version": version, "status": status})
        assert response.status_code == 200, response.json()
    body = response.json()
    assert body["reopen_count"] == 2
    stored = fresh(ticket)
    assert datetime.datetime.fromisoformat(body["last_reopened_at"]) == stored.last_reopened_at

    ignored = client.patch(
        f"{TICKETS}{ticket.pk}/",
        {"version": 5, "reopen_count": 0, "last_reopened_at": "2020-01-01T00:00:00Z"},
    )
    assert ignored.status_code == 200
    assert (fresh(ticket).reopen_count, fresh(ticket).last_reopened_at) == (
        2,
        stored.last_reopened_at,
    )


def test_a_ticket_cannot_be_opened_with_a_resolution_note(api, developer, terms):
    response = api(developer).post(
        TICKETS,
        {
            "client": terms.client.pk,
            "request_type": terms.request_type.pk,
            "title": "Laptop won't boot",
            "resolution_note": NOTE,
        },
    )
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["resolution_note"]


def test_a_blank_note_when_opening_is_accepted(api, developer, terms):
    response = api(developer).post(
        TICKETS,
        {
            "client": terms.client.pk,
            "request_type": terms.request_type.pk,
            "title": "Laptop won't boot",
            "resolution_note": "",
        },
    )
    assert response.status_code == 201, response.json()
    assert response.json()["resolution_note"] == ""
