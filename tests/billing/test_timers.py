"""The timer on a ticket: one running timer per person, kept on the server;
stopping logs the elapsed minutes rounded up, on the practice's day it
started, with their billing meaning, once; switch, discard, the 12-hour cap;
nobody touches another person's timer; the ticket page's box and the running
timer shown on every page."""

import datetime
import json
import re

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from billing.context_processors import running_timer
from billing.models import EntryPortion
from billing.services import timer_discard, timer_start, timer_stop
from billing.timer_page import timer_context
from msops.tenancy.models import Role
from msops.tenancy.scoping import activate_organization
from tests.billing.helpers import decide
from tests.factories import MembershipFactory, TicketFactory, token_for
from tests.tickets.helpers import count
from tickets.models import IdempotencyKey, Ticket, TimeEntry, Timer

HTMX = {"HX-Request": "true"}


def ago(**delta) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(**delta)


@pytest.fixture
def ticket(scoped, open_ticket, developer):
    """An open troubleshooting ticket, decided included, opened a week ago
    (so a timer started in the last days is work after it opened)."""
    ticket = open_ticket()
    Ticket.objects.filter(pk=ticket.pk).update(opened_at=ago(days=7))
    decide(ticket, developer, "included")
    ticket.refresh_from_db()
    return ticket


@pytest.fixture
def other_ticket(scoped, open_ticket):
    ticket = open_ticket(title="VPN drops every hour")
    Ticket.objects.filter(pk=ticket.pk).update(opened_at=ago(days=7))
    ticket.refresh_from_db()
    return ticket


def timer_of(person) -> Timer | None:
    return Timer.objects.filter(organization=person.organization, person=person).first()


# --- services ------------------------------------------------------------------------------
def test_starting_a_timer_keeps_it_on_the_server(ticket, developer):
    started = timer_start(ticket=ticket, person=developer, note="Spooler again")
    timer = timer_of(developer)
    assert timer.pk == started.timer.pk and started.stopped is None
    assert (timer.ticket_id, timer.note) == (ticket.pk, "Spooler again")
    assert count(TimeEntry) == 0


def test_starting_again_on_the_same_ticket_keeps_the_running_timer(ticket, developer):
    first = timer_start(ticket=ticket, person=developer, now=ago(minutes=5))
    again = timer_start(ticket=ticket, person=developer)
    assert again.already_running and again.timer.pk == first.timer.pk
    assert again.timer.started_at == first.timer.started_at


def test_a_person_has_one_running_timer(ticket, other_ticket, developer):
    timer_start(ticket=ticket, person=developer)
    with pytest.raises(ValidationError) as refused:
        timer_start(ticket=other_ticket, person=developer)
    message = refused.value.messages[0]
    assert f"Your timer is running on #{ticket.number}" in message and "stop it first" in message
    assert refused.value.code == "refused"
    assert timer_of(developer).ticket_id == ticket.pk
    with pytest.raises(IntegrityError), transaction.atomic():
        Timer.objects.create(organization=ticket.organization, person=developer, ticket=ticket)


def test_switching_stops_the_old_timer_logging_its_time(ticket, other_ticket, developer):
    timer_start(ticket=ticket, person=developer, now=ago(minutes=10, seconds=30))
    switched = timer_start(ticket=other_ticket, person=developer, switch=True)
    assert switched.stopped.entry.ticket_id == ticket.pk
    assert switched.stopped.entry.minutes == 11
    assert timer_of(developer).ticket_id == other_ticket.pk


@pytest.mark.parametrize(
    "elapsed,minutes",
    [
        (datetime.timedelta(0), 1),
        (datetime.timedelta(seconds=59), 1),
        (datetime.timedelta(seconds=60), 1),
        (datetime.timedelta(seconds=61), 2),
        (datetime.timedelta(minutes=25, seconds=1), 26),
        (datetime.timedelta(hours=12), 720),
    ],
)
def test_stopping_logs_the_minutes_rounded_up(ticket, developer, elapsed, minutes):
    started = ago(hours=13)
    timer_start(ticket=ticket, person=developer, now=started)
    logged = timer_stop(person=developer, now=started + elapsed)
    assert logged.entry.minutes == minutes
    assert timer_of(developer) is None


def test_stopping_logs_on_the_practice_day_the_timer_started_with_its_meaning(
    org, scoped, open_ticket, developer
):
    org.timezone = "America/New_York"
    org.save()
    ticket = open_ticket()
    Ticket.objects.filter(pk=ticket.pk).update(opened_at=ago(days=7))
    decide(ticket, developer, "included")
    ticket.refresh_from_db()
    # 02:30 UTC two days ago is still the evening before in New York.
    utc_day = timezone.now().date() - datetime.timedelta(days=2)
    started = datetime.datetime.combine(utc_day, datetime.time(2, 30), tzinfo=datetime.UTC)
    timer_start(ticket=ticket, person=developer, now=started, note="Printer queue")
    logged = timer_stop(person=developer, now=started + datetime.timedelta(minutes=44, seconds=5))
    entry = logged.entry
    assert entry.work_date == utc_day - datetime.timedelta(days=1)
    assert (entry.minutes, entry.notes) == (45, "Printer queue")
    assert entry.billing_status == "included"
    portions = EntryPortion.objects.filter(organization=org, entry=entry)
    assert sum(p.minutes for p in portions) == 45
    assert {p.status for p in portions} == {"included"}


def test_the_notes_given_when_stopping_win_over_the_timers_note(ticket, developer):
    timer_start(ticket=ticket, person=developer, note="Started on the spooler")
    logged = timer_stop(person=developer, notes="Replaced the fuser")
    assert logged.entry.notes == "Replaced the fuser"


def test_a_double_stop_logs_once(ticket, developer):
    started = ago(minutes=20)
    timer = timer_start(ticket=ticket, person=developer, now=started).timer
    stopped_at = timezone.now()
    first = timer_stop(person=developer, now=stopped_at)
    with pytest.raises(ValidationError) as refused:
        timer_stop(person=developer, now=stopped_at)
    assert refused.value.messages == ["No timer is running."]
    assert count(TimeEntry) == 1
    key = IdempotencyKey.objects.get(organization=ticket.organization, person=developer)
    assert (key.key, key.time_entry_id) == (f"timer-{timer.pk}", first.entry.pk)
    # A stop that read the same timer before the first one finished: its key
    # answers the entry already logged.
    Timer.objects.create(
        pk=timer.pk,
        organization=ticket.organization,
        person=developer,
        ticket=ticket,
        started_at=started,
    )
    again = timer_stop(person=developer, now=stopped_at)
    assert again.replayed and again.entry.pk == first.entry.pk
    assert count(TimeEntry) == 1


def test_stopping_without_a_timer_is_refused(scoped, developer):
    with pytest.raises(ValidationError, match="No timer is running"):
        timer_stop(person=developer)


def test_discarding_logs_nothing(ticket, developer):
    timer_start(ticket=ticket, person=developer, now=ago(minutes=30))
    discarded = timer_discard(person=developer)
    assert discarded.ticket_id == ticket.pk
    assert timer_of(developer) is None and count(TimeEntry) == 0
    assert timer_discard(person=developer) is None


def test_a_timer_past_12_hours_is_not_logged_but_can_be_discarded(ticket, developer):
    timer_start(ticket=ticket, person=developer, now=ago(hours=12, minutes=1))
    with pytest.raises(ValidationError) as refused:
        timer_stop(person=developer)
    assert "more than 12 hours is not logged" in refused.value.messages[0]
    assert "log the time you worked by hand" in refused.value.messages[0]
    assert timer_of(developer) is not None and count(TimeEntry) == 0
    timer_discard(person=developer)
    assert timer_of(developer) is None


def test_another_persons_timer_is_untouchable(ticket, developer, account_manager):
    timer_start(ticket=ticket, person=developer)
    with pytest.raises(ValidationError, match="No timer is running"):
        timer_stop(person=account_manager)
    assert timer_discard(person=account_manager) is None
    # Their own timer on the same ticket is theirs alone.
    timer_start(ticket=ticket, person=account_manager)
    timer_stop(person=account_manager)
    assert timer_of(developer).ticket_id == ticket.pk
    assert count(TimeEntry, person=developer) == 0


def test_finance_does_not_run_timers(ticket, finance):
    with pytest.raises(PermissionDenied):
        timer_start(ticket=ticket, person=finance)
    assert count(Timer) == 0


def test_a_ticket_of_another_organization_is_refused(scoped, developer, other_org):
    foreign = TicketFactory(organization=other_org)
    with pytest.raises(ValidationError) as refused:
        timer_start(ticket=foreign, person=developer)
    assert "ticket" in refused.value.message_dict
    assert count(Timer) == 0


def test_work_no_contract_covers_today_cannot_be_timed_so_no_time_is_lost(scoped, org, developer):
    uncovered = TicketFactory(organization=org, opened_at=ago(days=2))  # its client has no contract
    with pytest.raises(ValidationError) as refused:
        timer_start(ticket=uncovered, person=developer)
    messages = refused.value.message_dict["ticket"]
    assert "covers" in messages[0] and "Say why to log it." in messages[0]
    assert messages[1] == "A timer can't say why: log this time with the form on the ticket page."
    assert count(Timer) == 0


# --- pages -----------------------------------------------------------------------------------
def url(ticket, action: str) -> str:
    return f"/o/{ticket.organization.slug}/billing/tickets/{ticket.pk}/timer/{action}/"


def test_the_box_starts_stops_and_tells_the_page_time_was_logged(login, ticket, developer):
    client = login(developer)
    response = client.post(url(ticket, "start"), {"note": "Spooler"}, headers=HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="timer"' in body and "Running since" in body and "Stop and log" in body
    assert "data-timer-elapsed" in body  # static/js/timer.js (loaded by every page) counts on
    # The menu's indicator follows, out of band.
    assert re.search(r'<li id="running-timer"[^>]*hx-swap-oob="true"', body)
    assert f"#{ticket.number} running" in body
    Timer.objects.filter(person=developer).update(started_at=ago(minutes=12, seconds=10))
    response = client.post(url(ticket, "stop"), {"notes": "Cleared it"}, headers=HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Start timer" in body and f"0:13 on #{ticket.number}" in body
    # Every part of the ticket page the logged time changed comes along.
    for part in ("time-entries", "ticket-header", "billing-moments", "messages", "running-timer"):
        assert re.search(rf'id="{part}"[^>]*hx-swap-oob="true"', body), part
    assert "0:13 logged" in body
    event = json.loads(response["HX-Trigger"])["time-logged"]
    entry = TimeEntry.objects.get(organization=ticket.organization)
    assert event == {"ticket": ticket.pk, "number": ticket.number, "entry": entry.pk, "minutes": 13}
    assert entry.notes == "Cleared it"


def test_the_box_names_the_ticket_the_timer_runs_on_and_switches(
    login, ticket, other_ticket, developer
):
    client = login(developer)
    client.post(url(ticket, "start"), headers=HTMX)
    response = client.post(url(other_ticket, "start"), headers=HTMX)
    body = response.content.decode()
    assert f"Your timer is running on #{ticket.number}" in body and "stop it first" in body
    assert f"Switch to #{other_ticket.number}" in body
    response = client.post(url(other_ticket, "start"), {"switch": "1"}, headers=HTMX)
    assert "HX-Trigger" in response and "Running since" in response.content.decode()
    assert timer_of(developer).ticket_id == other_ticket.pk
    assert count(TimeEntry, ticket=ticket) == 1


def test_without_htmx_the_actions_go_back_to_the_ticket_page(login, ticket, developer):
    client = login(developer)
    page = f"/o/{ticket.organization.slug}/tickets/{ticket.number}/"
    assert client.post(url(ticket, "start")).url == page
    assert client.post(url(ticket, "discard")).url == page
    response = client.post(url(ticket, "stop"), follow=True)
    assert "No timer is running." in response.content.decode()
    assert count(Timer) == count(TimeEntry) == 0


def test_the_timer_survives_a_new_session(login, ticket, developer):
    login(developer).post(url(ticket, "start"), headers=HTMX)
    # Another browser (a new session), and the API: the same running timer.
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(developer)}")
    assert api.get("/api/v1/timers/").json()["timer"]["ticket"] == ticket.pk
    request = RequestFactory().get("/")
    request.organization, request.membership = ticket.organization, developer
    with activate_organization(ticket.organization):
        box = timer_context(request, ticket)["timer_box"]
        assert box.here and not box.elsewhere


def test_finance_gets_a_403_and_a_foreign_ticket_a_404(
    login, ticket, finance, developer, other_org
):
    assert login(finance).post(url(ticket, "start")).status_code == 403
    foreign = TicketFactory(organization=other_org)
    foreign_url = f"/o/{ticket.organization.slug}/billing/tickets/{foreign.pk}/timer/start/"
    assert login(developer).post(foreign_url).status_code == 404
    assert count(Timer) == 0


def test_the_running_timer_shows_on_every_page_in_one_query(
    ticket, developer, finance, django_assert_num_queries
):
    timer_start(ticket=ticket, person=developer, now=ago(minutes=12))
    request = RequestFactory().get("/")
    request.organization, request.membership = ticket.organization, developer
    context = running_timer(request)
    with django_assert_num_queries(1):
        assert context["running_timer"].ticket.number == ticket.number
        assert context["running_timer"].elapsed_minutes == 12
    with django_assert_num_queries(0):  # read once per request, however many show it
        assert running_timer(request)["running_timer"].ticket.number == ticket.number
    request.membership = finance
    del request._running_timer
    assert running_timer(request) == {}


# --- admin ---------------------------------------------------------------------------------
def test_the_admin_shows_timers_read_only_and_only_its_organizations(
    client, org, ticket, developer, stranger
):
    timer_start(ticket=ticket, person=developer, note="Ours to see")
    foreign_ticket = TicketFactory(organization=stranger.organization)
    with activate_organization(stranger.organization):  # no contract there: the row itself
        Timer.objects.create(
            organization=stranger.organization, person=stranger, ticket=foreign_ticket,
            started_at=ago(minutes=5), note="Not for us",
        )  # fmt: skip
    staff = MembershipFactory(organization=org, role=Role.ADMIN).user
    staff.is_staff = True
    staff.save()
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="tickets"))
    client.force_login(staff)
    page = client.get(reverse("admin:tickets_timer_changelist")).content.decode()
    assert "Ours to see" in page and "Not for us" not in page
    own = timer_of(developer)
    change = client.get(reverse("admin:tickets_timer_change", args=[own.pk])).content.decode()
    assert "Save" not in change
    assert client.post(reverse("admin:tickets_timer_delete", args=[own.pk])).status_code == 403
    assert timer_of(developer) is not None
