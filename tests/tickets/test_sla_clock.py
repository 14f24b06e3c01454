"""The SLA clock on tickets: dues in the contract's business hours, pauses
while a ticket waits on the client, calendar versions, flags, the page, the
API, and setting a calendar (page and API)."""

import contextlib
import datetime
import zoneinfo
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone as django_timezone
from django_scopes import scopes_disabled
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.flags import flags_check_ticket
from billing.models import ExceptionFlag
from clients.models import SLACalendar
from clients.services.sla_calendar import sla_calendar_set
from msops.tenancy.scoping import activate_organization
from tickets.models import Ticket, TicketPause
from tickets.services import ticket_update
from tickets.services.sla import SLA_RISK_SHARE, business_calendar, sla_target_state

AMS = zoneinfo.ZoneInfo("Europe/Amsterdam")  # the test organization's timezone
Kind = ExceptionFlag.Kind
OFFICE = [[["09:00", "17:00"]]] * 5 + [[], []]


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=AMS)


@contextlib.contextmanager
def clock(when: datetime.datetime):
    """ "Now" is ``when`` for everything that asks Django (as seed_demo does)."""

    class Then(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return when.astimezone(tz) if tz else when.replace(tzinfo=None)

    with mock.patch.object(django_timezone, "datetime", Then):
        yield


@pytest.fixture(autouse=True)
def _unscoped():
    """The tests read rows directly; the services and pages enter their own scope."""
    with scopes_disabled():
        yield


@pytest.fixture
def office_hours(org, terms, account_manager):
    """The contract's calendar since January: Monday to Friday 09:00–17:00 in
    the practice's timezone, with 2026-03-19 closed."""
    with clock(at(2026, 1, 1, 8)), activate_organization(org):
        return sla_calendar_set(
            contract=terms.contract,
            data={"hours": OFFICE, "closed_days": ["2026-03-19"]},
            actor=account_manager,
        )


def change(ticket: Ticket, when: datetime.datetime, actor, **changes) -> Ticket:
    with clock(when), activate_organization(ticket.organization):
        current = Ticket.objects.get(pk=ticket.pk)
        return ticket_update(ticket=current, actor=actor, version=current.version, **changes)


def flags_at(ticket: Ticket, when: datetime.datetime) -> set[str]:
    with clock(when), activate_organization(ticket.organization):
        flags_check_ticket(organization=ticket.organization, ticket_id=ticket.pk)
        return set(ExceptionFlag.objects.filter(ticket=ticket).values_list("kind", flat=True)) & {
            Kind.SLA_RESPONSE_AT_RISK,
            Kind.SLA_RESPONSE_BREACHED,
            Kind.SLA_RESOLUTION_AT_RISK,
            Kind.SLA_RESOLUTION_BREACHED,
        }


# --- dues -------------------------------------------------------------------------
def test_a_ticket_opened_on_friday_afternoon_is_due_in_business_hours(office_hours, open_ticket):
    ticket = open_ticket(opened_at=at(2026, 3, 13, 16, 30))  # normal: 60 / 480 min
    assert ticket.sla_calendar == office_hours
    assert ticket.first_response_due == at(2026, 3, 16, 9, 30)
    assert ticket.resolution_due == at(2026, 3, 16, 16, 30)
    assert ticket.first_response_risk_at == at(2026, 3, 16, 9, 15)  # 45 of 60 minutes
    assert ticket.resolution_risk_at == at(2026, 3, 16, 14, 30)  # 360 of 480 minutes
    assert SLA_RISK_SHARE == 0.75


def test_an_extra_closed_day_of_the_calendar_is_skipped(office_hours, open_ticket):
    ticket = open_ticket(opened_at=at(2026, 3, 18, 16, 30))  # Thursday the 19th is closed
    assert ticket.first_response_due == at(2026, 3, 20, 9, 30)


def test_a_ticket_without_a_calendar_runs_round_the_clock(open_ticket):
    ticket = open_ticket(opened_at=at(2026, 3, 13, 16, 30))
    assert ticket.sla_calendar is None
    assert ticket.first_response_due == at(2026, 3, 13, 17, 30)
    assert ticket.resolution_due == at(2026, 3, 14, 0, 30)
    assert ticket.first_response_risk_at == at(2026, 3, 13, 17, 15)


def test_a_calendar_change_affects_only_tickets_opened_after_it(
    office_hours, open_ticket, terms, account_manager, org
):
    before = open_ticket(opened_at=at(2026, 3, 16, 16, 30))
    with clock(at(2026, 3, 17, 8)), activate_organization(org):
        every_day = sla_calendar_set(
            contract=terms.contract,
            data={"hours": [[["00:00", "24:00"]]] * 7},
            actor=account_manager,
        )
    after = open_ticket(opened_at=at(2026, 3, 17, 16, 30))
    before.refresh_from_db()
    assert before.sla_calendar == office_hours
    assert before.first_response_due == at(2026, 3, 17, 9, 30)
    assert after.sla_calendar == every_day
    assert after.first_response_due == at(2026, 3, 17, 17, 30)
    assert SLACalendar.objects.filter(contract=terms.contract).count() == 2


# --- pauses -----------------------------------------------------------------------
def test_waiting_on_the_client_pauses_the_clock_and_pushes_the_dues(
    office_hours, open_ticket, developer
):
    ticket = open_ticket(opened_at=at(2026, 3, 16, 9, 0))
    assert ticket.resolution_due == at(2026, 3, 16, 17, 0)
    waiting = change(ticket, at(2026, 3, 16, 9, 30), developer, status=Ticket.Status.WAITING)
    assert waiting.first_responded_at == at(2026, 3, 16, 9, 30)
    assert waiting.response_minutes == 30
    pause = TicketPause.objects.get(ticket=ticket)
    assert pause.started_at == at(2026, 3, 16, 9, 30)
    assert pause.ended_at is None and pause.started_by == developer

    resumed = change(ticket, at(2026, 3, 16, 11, 30), developer, status=Ticket.Status.IN_PROGRESS)
    pause.refresh_from_db()
    assert pause.ended_at == at(2026, 3, 16, 11, 30)
    assert pause.business_minutes == 120
    assert pause.ended_by == developer
    assert resumed.resolution_due == at(2026, 3, 17, 11, 0)  # pushed by the 2 h paused
    assert resumed.resolution_risk_at == at(2026, 3, 16, 17, 0)  # 360 min: Monday's close


def test_a_pause_overnight_holds_only_its_business_time(office_hours, open_ticket, developer):
    ticket = open_ticket(opened_at=at(2026, 3, 16, 9, 0))
    change(ticket, at(2026, 3, 16, 16, 0), developer, status=Ticket.Status.WAITING)
    resumed = change(ticket, at(2026, 3, 17, 10, 0), developer, status=Ticket.Status.IN_PROGRESS)
    assert TicketPause.objects.get(ticket=ticket).business_minutes == 120
    assert resumed.resolution_due == at(2026, 3, 17, 11, 0)


def test_resolving_records_the_clock_minutes_of_that_resolution(
    office_hours, open_ticket, developer
):
    ticket = open_ticket(opened_at=at(2026, 3, 16, 9, 0))
    change(ticket, at(2026, 3, 16, 10, 0), developer, status=Ticket.Status.WAITING)
    resolved = change(ticket, at(2026, 3, 17, 10, 0), developer, status=Ticket.Status.RESOLVED)
    # 60 minutes before the pause; the pause (Monday 10:00 – Tuesday 10:00) holds 8 h.
    assert resolved.resolution_minutes == 60
    assert TicketPause.objects.get(ticket=ticket).ended_at == at(2026, 3, 17, 10, 0)
    reopened = change(ticket, at(2026, 3, 17, 11, 0), developer, status=Ticket.Status.IN_PROGRESS)
    again = change(ticket, at(2026, 3, 17, 12, 0), developer, status=Ticket.Status.RESOLVED)
    assert reopened.resolved_at is None
    # 60 + 60: the hour it sat resolved (10:00–11:00) is off the clock.
    assert again.resolution_minutes == 120


def test_reopening_puts_the_time_it_sat_resolved_off_the_clock(
    office_hours, open_ticket, developer
):
    ticket = open_ticket(opened_at=at(2026, 3, 16, 9, 0))  # resolution due Monday 17:00
    change(ticket, at(2026, 3, 16, 9, 30), developer, status=Ticket.Status.IN_PROGRESS)
    change(ticket, at(2026, 3, 16, 10, 0), developer, status=Ticket.Status.RESOLVED)
    # Reopened on Wednesday 10:00, two days after the old due.
    reopened = change(ticket, at(2026, 3, 18, 10, 0), developer, status=Ticket.Status.IN_PROGRESS)
    pause = TicketPause.objects.get(ticket=ticket)
    assert (pause.started_at, pause.ended_at) == (at(2026, 3, 16, 10, 0), at(2026, 3, 18, 10, 0))
    assert pause.reason == "Resolved, then reopened"
    assert pause.business_minutes == 7 * 60 + 8 * 60 + 60  # Monday 10–17, Tuesday, Wednesday 9–10
    assert pause.ended_by == developer
    # 60 minutes ran before the resolution: 420 left from Wednesday 10:00.
    assert reopened.resolution_due == at(2026, 3, 18, 17, 0)
    assert reopened.resolution_risk_at == at(2026, 3, 18, 15, 0)
    assert reopened.first_response_due == at(2026, 3, 16, 10, 0)  # met: kept
    assert flags_at(ticket, at(2026, 3, 18, 10, 5)) == set()
    again = change(ticket, at(2026, 3, 18, 11, 0), developer, status=Ticket.Status.RESOLVED)
    assert again.resolution_minutes == 120


def test_reopening_straight_to_waiting_keeps_both_pauses(office_hours, open_ticket, developer):
    ticket = open_ticket(opened_at=at(2026, 3, 16, 9, 0))
    change(ticket, at(2026, 3, 16, 10, 0), developer, status=Ticket.Status.CLOSED)
    change(ticket, at(2026, 3, 16, 11, 0), developer, status=Ticket.Status.WAITING)
    pauses = list(TicketPause.objects.filter(ticket=ticket).order_by("started_at"))
    assert [(p.started_at, p.ended_at) for p in pauses] == [
        (at(2026, 3, 16, 10, 0), at(2026, 3, 16, 11, 0)),
        (at(2026, 3, 16, 11, 0), None),
    ]


def test_a_priority_change_recomputes_the_dues_with_the_calendar_and_pauses(
    office_hours, open_ticket, developer
):
    ticket = open_ticket(opened_at=at(2026, 3, 13, 16, 0))
    change(ticket, at(2026, 3, 13, 16, 10), developer, status=Ticket.Status.WAITING)
    change(ticket, at(2026, 3, 16, 9, 30), developer, status=Ticket.Status.IN_PROGRESS)
    urgent = change(ticket, at(2026, 3, 16, 9, 40), developer, priority="urgent")
    # Urgent: 120 min to resolve; 10 min on Friday, then the pause until 09:30 Monday.
    assert urgent.resolution_due == at(2026, 3, 16, 11, 20)
    assert urgent.resolution_risk_at == at(2026, 3, 16, 10, 50)


def test_a_priority_change_after_the_first_response_keeps_its_due(
    office_hours, open_ticket, developer
):
    ticket = open_ticket(opened_at=at(2026, 3, 16, 9, 0))  # normal: response due 10:00
    change(ticket, at(2026, 3, 16, 9, 10), developer, status=Ticket.Status.IN_PROGRESS)
    urgent = change(ticket, at(2026, 3, 16, 9, 20), developer, priority="urgent")
    # Urgent would have wanted a response by 09:15: the met target keeps its due.
    assert urgent.first_response_due == at(2026, 3, 16, 10, 0)
    assert urgent.first_response_risk_at == at(2026, 3, 16, 9, 45)
    assert urgent.resolution_due == at(2026, 3, 16, 11, 0)
    assert urgent.resolution_risk_at == at(2026, 3, 16, 10, 30)


def test_a_priority_change_before_the_first_response_moves_both_dues(
    office_hours, open_ticket, developer
):
    ticket = open_ticket(opened_at=at(2026, 3, 16, 9, 0))
    urgent = change(ticket, at(2026, 3, 16, 9, 5), developer, priority="urgent")
    assert urgent.first_response_due == at(2026, 3, 16, 9, 15)
    assert urgent.resolution_due == at(2026, 3, 16, 11, 0)


def test_a_priority_change_of_a_resolved_ticket_keeps_its_resolution_due(
    office_hours, open_ticket, developer
):
    ticket = open_ticket(opened_at=at(2026, 3, 16, 9, 0))
    change(ticket, at(2026, 3, 16, 9, 10), developer, status=Ticket.Status.WAITING)
    change(ticket, at(2026, 3, 16, 9, 40), developer, status=Ticket.Status.RESOLVED)
    urgent = change(ticket, at(2026, 3, 16, 9, 50), developer, priority="urgent")
    assert urgent.resolution_due == at(2026, 3, 16, 17, 0)


# --- flags ------------------------------------------------------------------------
def test_at_risk_and_breach_follow_the_clock_not_the_wall(office_hours, open_ticket):
    ticket = open_ticket(opened_at=at(2026, 3, 13, 16, 30))
    # Sunday evening: three quarters of the wall time to Monday 09:30 has gone,
    # but no business time has.
    assert flags_at(ticket, at(2026, 3, 15, 18, 0)) == set()
    assert flags_at(ticket, at(2026, 3, 16, 9, 20)) == {Kind.SLA_RESPONSE_AT_RISK}
    assert Kind.SLA_RESPONSE_BREACHED in flags_at(ticket, at(2026, 3, 16, 9, 40))


def test_old_tickets_without_risk_times_keep_the_old_rule(open_ticket):
    ticket = open_ticket(opened_at=at(2026, 3, 13, 16, 30))
    Ticket.objects.filter(pk=ticket.pk).update(first_response_risk_at=None, resolution_risk_at=None)
    assert flags_at(ticket, at(2026, 3, 13, 17, 20)) == {Kind.SLA_RESPONSE_AT_RISK}


def test_a_breach_before_the_ticket_went_waiting_stays_flagged(
    office_hours, open_ticket, developer
):
    ticket = open_ticket(opened_at=at(2026, 3, 16, 9, 0))  # resolution due Monday 17:00
    change(ticket, at(2026, 3, 16, 9, 5), developer, status=Ticket.Status.IN_PROGRESS)
    change(ticket, at(2026, 3, 17, 9, 30), developer, status=Ticket.Status.WAITING)
    assert flags_at(ticket, at(2026, 3, 17, 10, 0)) == {Kind.SLA_RESOLUTION_BREACHED}


def test_a_ticket_waiting_on_the_client_is_neither_at_risk_nor_breached(
    office_hours, open_ticket, developer
):
    ticket = open_ticket(opened_at=at(2026, 3, 16, 9, 0))
    change(ticket, at(2026, 3, 16, 10, 0), developer, status=Ticket.Status.WAITING)
    assert flags_at(ticket, at(2026, 3, 18, 10, 0)) == set()
    change(ticket, at(2026, 3, 18, 10, 0), developer, status=Ticket.Status.IN_PROGRESS)
    # Resumed: 7 h left from Wednesday 10:00 (Thursday is closed) → due Wednesday 17:00.
    assert flags_at(ticket, at(2026, 3, 18, 16, 0)) == {Kind.SLA_RESOLUTION_AT_RISK}


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    minutes=st.integers(min_value=0, max_value=5 * 24 * 60),
    paused_after=st.none() | st.integers(min_value=0, max_value=5 * 24 * 60),
)
def test_the_flag_sweep_and_the_python_rule_agree(
    office_hours, open_ticket, developer, minutes, paused_after
):
    ticket = Ticket.objects.filter(title="Rule agreement").first() or open_ticket(
        title="Rule agreement", opened_at=at(2026, 3, 13, 15, 0)
    )
    TicketPause.objects.filter(ticket=ticket).delete()
    now = at(2026, 3, 13, 15, 1) + datetime.timedelta(minutes=minutes)
    paused_since = None
    if paused_after is not None:
        # A pause that began before or after either due (but not after now).
        paused_since = min(at(2026, 3, 13, 15, 0) + datetime.timedelta(minutes=paused_after), now)
        TicketPause.objects.create(
            organization=ticket.organization, ticket=ticket, started_at=paused_since
        )
    ExceptionFlag.objects.filter(ticket=ticket).delete()
    expected = set()
    for due, risk, kinds in (
        (ticket.first_response_due, ticket.first_response_risk_at,
         (Kind.SLA_RESPONSE_BREACHED, Kind.SLA_RESPONSE_AT_RISK)),
        (ticket.resolution_due, ticket.resolution_risk_at,
         (Kind.SLA_RESOLUTION_BREACHED, Kind.SLA_RESOLUTION_AT_RISK)),
    ):  # fmt: skip
        state = sla_target_state(
            due=due, risk_at=risk, done_at=None, paused_since=paused_since, now=now
        )
        if state:
            expected.add(kinds[0] if state == "breached" else kinds[1])
    assert flags_at(ticket, now) == expected


# --- page and API ---------------------------------------------------------------
def test_the_ticket_page_names_the_clock_and_lists_the_pauses(
    office_hours, open_ticket, developer, login, org
):
    ticket = open_ticket(opened_at=at(2026, 3, 16, 9, 0))
    change(ticket, at(2026, 3, 16, 10, 0), developer, status=Ticket.Status.WAITING)
    change(ticket, at(2026, 3, 16, 12, 0), developer, status=Ticket.Status.IN_PROGRESS)
    url = reverse("tickets:ticket_detail", kwargs={"org": org.slug, "number": ticket.number})
    page = login(developer).get(url).content.decode()
    assert "SLA clock: business hours of Acme support (Europe/Amsterdam)" in page
    assert 'data-testid="ticket-pause"' in page
    assert "2:00" in page


def test_the_api_shows_the_clock_and_the_pauses(office_hours, open_ticket, developer, api):
    ticket = open_ticket(opened_at=at(2026, 3, 16, 9, 0))
    change(ticket, at(2026, 3, 16, 10, 0), developer, status=Ticket.Status.WAITING)
    change(ticket, at(2026, 3, 16, 12, 0), developer, status=Ticket.Status.IN_PROGRESS)
    body = api(developer).get(reverse("api:ticket-detail", kwargs={"pk": ticket.pk})).json()
    assert body["sla_calendar"] == office_hours.pk
    assert body["response_minutes"] == 60
    assert body["resolution_minutes"] is None
    assert body["first_response_risk_at"] and body["resolution_risk_at"]
    assert [(p["business_minutes"], p["ended_at"] is not None) for p in body["pauses"]] == [
        (120, True)
    ]
    listed = api(developer).get(reverse("api:ticket-list")).json()
    assert listed["results"][0]["pauses"][0]["business_minutes"] == 120


def test_the_clock_fields_cannot_be_written_through_the_api(open_ticket, developer, api):
    ticket = open_ticket()
    response = api(developer).patch(
        reverse("api:ticket-detail", kwargs={"pk": ticket.pk}),
        {"version": ticket.version, "response_minutes": 1, "pauses": []},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["response_minutes"] is None


# --- setting a calendar -----------------------------------------------------------
def sla_calendar_url(org, contract) -> str:
    return reverse("clients:contract_sla_calendar", kwargs={"org": org.slug, "pk": contract.pk})


FORM = {
    "monday": "09:00-17:30",
    "tuesday": "09:00-17:30",
    "wednesday": "09:00-12:00, 13:00-17:30",
    "thursday": "09:00-17:30",
    "friday": "09:00-17:30",
    "saturday": "",
    "sunday": "",
    "time_zone": "Europe/London",
    "holiday_country": "GB",
    "holiday_subdivision": "ENG",
    "closed_days": "2026-12-24\n2026-12-31",
}


def test_an_account_manager_sets_a_new_calendar_from_the_client_page(
    terms, account_manager, login, org
):
    browser = login(account_manager)
    response = browser.post(sla_calendar_url(org, terms.contract), FORM, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    calendar = SLACalendar.objects.get(contract=terms.contract)
    assert calendar.hours[2] == [["09:00", "12:00"], ["13:00", "17:30"]]
    assert calendar.holiday_country == "GB" and calendar.closed_days == ["2026-12-24", "2026-12-31"]
    assert calendar.created_by == account_manager
    assert 'data-testid="sla-calendar-week"' in response.content.decode()
    page = browser.get(
        reverse("clients:client_detail", kwargs={"org": org.slug, "pk": terms.client.pk})
    ).content.decode()
    assert "Europe/London" in page and "public holidays of GB-ENG" in page
    assert 'data-testid="set-sla-calendar"' in page


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("monday", "9-17", "HH:MM"),
        ("tuesday", "17:00-09:00", "start before"),
        ("wednesday", "09:00-12:00, 11:00-13:00", "overlap"),
        ("time_zone", "Mars/Olympus", "timezone"),
        ("holiday_country", "XX", "public holidays"),
        ("holiday_subdivision", "NOPE", "subdivision"),
        ("closed_days", "2026-13-01", "YYYY-MM-DD"),
    ],
)
def test_a_bad_calendar_shows_its_error_beside_the_field(
    terms, account_manager, login, org, field, value, words
):
    response = login(account_manager).post(
        sla_calendar_url(org, terms.contract), {**FORM, field: value}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    form = response.context["panel"].form
    assert field in form.errors and words in " ".join(form.errors[field])
    assert not SLACalendar.objects.filter(contract=terms.contract).exists()


def test_a_week_without_open_time_is_refused(terms, account_manager, login, org):
    closed = {
        **FORM,
        **{day: "" for day in ("monday", "tuesday", "wednesday", "thursday", "friday")},
    }
    response = login(account_manager).post(
        sla_calendar_url(org, terms.contract), closed, HTTP_HX_REQUEST="true"
    )
    assert "open time" in response.content.decode()
    assert not SLACalendar.objects.filter(contract=terms.contract).exists()


def test_a_developer_may_not_set_a_calendar_and_sees_no_form(
    terms, developer, login, org, office_hours
):
    browser = login(developer)
    assert browser.post(sla_calendar_url(org, terms.contract), FORM).status_code == 403
    page = browser.get(
        reverse("clients:client_detail", kwargs={"org": org.slug, "pk": terms.client.pk})
    ).content.decode()
    assert 'data-testid="sla-calendar-current"' in page
    assert 'data-testid="set-sla-calendar"' not in page


def test_the_api_lists_the_versions_and_adds_one(terms, account_manager, api, office_hours):
    client = api(account_manager)
    url = reverse("api:sla-calendar-list")
    created = client.post(
        url,
        {"contract": terms.contract.pk, "hours": OFFICE, "holiday_country": "NL"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["in_force"] is True
    versions = client.get(url, {"contract": terms.contract.pk}).json()["results"]
    assert [v["in_force"] for v in versions] == [True, False]
    current = client.get(url, {"contract": terms.contract.pk, "in_force": "true"}).json()
    assert [v["id"] for v in current["results"]] == [created.json()["id"]]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"hours": [[["09:00", "17:00"]]] * 3}, "hours"),
        ({"hours": [[["09:00", "12:00"], ["11:00", "13:00"]]] + [[]] * 6}, "hours"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"holiday_country": "XX"}, "holiday_country"),
        ({"closed_days": ["2026-02-30"]}, "closed_days"),
        ({"closed_days": "tomorrow"}, "closed_days"),
    ],
)
def test_a_bad_calendar_is_a_400_naming_the_field(terms, account_manager, api, payload, field):
    response = api(account_manager).post(
        reverse("api:sla-calendar-list"), {"contract": terms.contract.pk, **payload}, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not SLACalendar.objects.filter(contract=terms.contract).exists()


def test_a_developer_cannot_add_a_calendar_through_the_api(terms, developer, api):
    response = api(developer).post(
        reverse("api:sla-calendar-list"), {"contract": terms.contract.pk}, format="json"
    )
    assert response.status_code == 403


# --- calendar codes and zone -------------------------------------------------------
@pytest.mark.parametrize(
    ("country", "subdivision", "stored"),
    [
        ("de", "augsburg", ("DE", "Augsburg")),
        ("FR", "ZONE A", ("FR", "Zone A")),
        ("au", "nsw western", ("AU", "NSW Western")),
        ("gb", "eng", ("GB", "ENG")),
    ],
)
def test_holiday_codes_are_stored_as_the_holidays_package_spells_them(
    terms, account_manager, org, country, subdivision, stored
):
    with activate_organization(org):
        calendar = sla_calendar_set(
            contract=terms.contract,
            data={"holiday_country": country, "holiday_subdivision": subdivision},
            actor=account_manager,
        )
    assert (calendar.holiday_country, calendar.holiday_subdivision) == stored
    assert business_calendar(calendar=calendar).holidays_of(2026)  # the package accepts them


def test_a_calendar_without_a_zone_keeps_the_practice_zone_of_when_it_was_set(
    terms, account_manager, org, open_ticket
):
    with clock(at(2026, 1, 1, 8)), activate_organization(org):
        calendar = sla_calendar_set(
            contract=terms.contract, data={"hours": OFFICE}, actor=account_manager
        )
    assert calendar.time_zone == "Europe/Amsterdam"
    org.timezone = "America/New_York"
    org.save()
    ticket = open_ticket(opened_at=at(2026, 3, 16, 9, 0))
    # Still Amsterdam's 09:00–17:00, not New York's.
    assert ticket.first_response_due == at(2026, 3, 16, 10, 0)


# --- admin ----------------------------------------------------------------------------
def test_the_pause_admin_is_read_only(rf):
    from django.contrib import admin
    from django.contrib.auth.models import AnonymousUser

    model_admin = admin.site._registry[TicketPause]
    request = rf.get("/")
    request.user = AnonymousUser()
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


# --- backfill migration -------------------------------------------------------------------
def test_the_backfill_gives_old_tickets_their_clock_fields(open_ticket, org):
    import importlib

    from django.apps import apps
    from django.db import connection

    backfill = importlib.import_module("tickets.migrations.0008_sla_clock_backfill").backfill
    waiting = open_ticket(opened_at=at(2026, 3, 13, 16, 30), title="Old waiting")
    done = open_ticket(opened_at=at(2026, 3, 13, 16, 30), title="Old resolved")
    already = open_ticket(opened_at=at(2026, 3, 13, 16, 30), title="Already paused")
    blank = {"first_response_risk_at": None, "resolution_risk_at": None}
    Ticket.objects.filter(pk=waiting.pk).update(
        status="waiting", updated_at=at(2026, 3, 13, 18, 0), **blank
    )
    Ticket.objects.filter(pk=done.pk).update(
        status="resolved",
        first_responded_at=at(2026, 3, 13, 16, 50, 59),
        resolved_at=at(2026, 3, 14, 10, 0),
        **blank,
    )
    Ticket.objects.filter(pk=already.pk).update(status="waiting")
    TicketPause.objects.create(organization=org, ticket=already, started_at=at(2026, 3, 13, 17))

    backfill(apps, mock.Mock(connection=connection))

    pause = TicketPause.objects.get(ticket=waiting)
    assert pause.started_at == at(2026, 3, 13, 18, 0) and pause.ended_at is None
    assert pause.reason == "Waiting on client"
    assert TicketPause.objects.filter(ticket=already).count() == 1
    done.refresh_from_db()
    assert (done.response_minutes, done.resolution_minutes) == (20, 17 * 60 + 30)
    # Round the clock: due 60 / 480 minutes after 16:30.
    assert done.first_response_risk_at == at(2026, 3, 13, 17, 15)
    assert done.resolution_risk_at == at(2026, 3, 13, 22, 30)
    waiting.refresh_from_db()
    assert waiting.response_minutes is None and waiting.first_response_risk_at is not None
