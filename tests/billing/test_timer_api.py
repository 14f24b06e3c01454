"""The timers and timesheet API: your own timer (GET, start, switch, stop,
discard) with the role matrix and its refusals, and a person's week as JSON
with who may read whose."""

import datetime

import pytest
from django.utils import timezone

from msops.tenancy.models import Role
from tests.factories import MembershipFactory, TicketFactory, TimeEntryFactory
from tests.tickets.helpers import count
from tickets.models import Ticket, TimeEntry, Timer

TIMERS = "/api/v1/timers/"
SHEET = "/api/v1/timesheet/"


@pytest.fixture
def tickets(scoped, open_ticket):
    """Two open tickets, opened a week ago."""
    opened = [open_ticket(), open_ticket(title="VPN drops every hour")]
    Ticket.objects.filter(pk__in=[t.pk for t in opened]).update(
        opened_at=timezone.now() - datetime.timedelta(days=7)
    )
    return opened


@pytest.mark.parametrize(
    "role,expected",
    [(Role.DEVELOPER, 201), (Role.ACCOUNT_MANAGER, 201), (Role.ADMIN, 201), (Role.FINANCE, 403)],
)
def test_who_runs_a_timer(api, members, tickets, role, expected):
    client = api(members[role])
    response = client.post(f"{TIMERS}start/", {"ticket": tickets[0].pk})
    assert response.status_code == expected
    assert count(Timer) == (1 if expected == 201 else 0)
    for action in ("stop", "discard"):
        if expected == 403:
            assert client.post(f"{TIMERS}{action}/").status_code == 403
    assert client.get(TIMERS).status_code == (200 if expected == 201 else 403)


def test_no_timer_reads_as_null(api, scoped, developer):
    response = api(developer).get(TIMERS)
    assert response.status_code == 200 and response.json() == {"timer": None}


def test_start_stop_and_the_running_timer(api, tickets, developer):
    client = api(developer)
    response = client.post(f"{TIMERS}start/", {"ticket": tickets[0].pk, "note": "Spooler"})
    assert response.status_code == 201
    body = response.json()
    assert body["stopped"] is None
    assert body["timer"]["ticket_number"] == tickets[0].number
    assert body["timer"]["note"] == "Spooler" and body["timer"]["elapsed_seconds"] >= 0
    again = client.post(f"{TIMERS}start/", {"ticket": tickets[0].pk})
    assert again.status_code == 200 and again.json()["timer"]["id"] == body["timer"]["id"]
    assert client.get(TIMERS).json()["timer"]["id"] == body["timer"]["id"]

    Timer.objects.filter(pk=body["timer"]["id"]).update(
        started_at=timezone.now() - datetime.timedelta(minutes=29, seconds=30)
    )
    response = client.post(f"{TIMERS}stop/", {"notes": "Cleared the queue"})
    assert response.status_code == 200
    entry = response.json()["time_entry"]
    assert (entry["ticket"], entry["minutes"], entry["notes"]) == (
        tickets[0].pk,
        30,
        "Cleared the queue",
    )
    assert sum(p["minutes"] for p in entry["portions"]) == 30
    assert client.get(TIMERS).json() == {"timer": None}

    response = client.post(f"{TIMERS}stop/")
    assert response.status_code == 409
    assert response.json()["code"] == "refused" and response.json()["detail"] == (
        "No timer is running."
    )
    assert count(TimeEntry) == 1


def test_a_second_ticket_is_a_409_naming_the_first_unless_switching(api, tickets, developer):
    client = api(developer)
    client.post(f"{TIMERS}start/", {"ticket": tickets[0].pk})
    response = client.post(f"{TIMERS}start/", {"ticket": tickets[1].pk})
    assert response.status_code == 409 and response.json()["code"] == "refused"
    assert f"Your timer is running on #{tickets[0].number}" in response.json()["detail"]
    response = client.post(f"{TIMERS}start/", {"ticket": tickets[1].pk, "switch": True})
    assert response.status_code == 201
    body = response.json()
    assert body["timer"]["ticket"] == tickets[1].pk
    assert body["stopped"]["ticket"] == tickets[0].pk and body["stopped"]["minutes"] == 1


def test_discarding_answers_what_was_thrown_away(api, tickets, developer):
    client = api(developer)
    started = client.post(f"{TIMERS}start/", {"ticket": tickets[0].pk}).json()["timer"]
    response = client.post(f"{TIMERS}discard/")
    assert response.status_code == 200 and response.json()["discarded"] == {
        **started,
        "elapsed_seconds": response.json()["discarded"]["elapsed_seconds"],
    }
    assert client.post(f"{TIMERS}discard/").json() == {"discarded": None}
    assert count(Timer) == count(TimeEntry) == 0


def test_a_timer_reads_and_acts_on_its_own_person_only(api, tickets, developer, account_manager):
    api(developer).post(f"{TIMERS}start/", {"ticket": tickets[0].pk})
    other = api(account_manager)
    assert other.get(TIMERS).json() == {"timer": None}
    assert other.post(f"{TIMERS}stop/").status_code == 409
    assert other.post(f"{TIMERS}discard/").json() == {"discarded": None}
    assert count(Timer, person=developer) == 1


def test_a_ticket_of_another_organization_is_a_400(api, scoped, developer, other_org):
    foreign = TicketFactory(organization=other_org)
    response = api(developer).post(f"{TIMERS}start/", {"ticket": foreign.pk})
    assert response.status_code == 400 and "ticket" in response.json()["fields"]
    assert count(Timer) == 0


# --- the timesheet ---------------------------------------------------------------------------
@pytest.fixture
def week_of_work(scoped, developer):
    ticket = TicketFactory(organization=scoped, number=12, title="Printer")
    for day, minutes, status in [(3, 90, "included"), (4, 30, "billable"), (9, 60, "included")]:
        TimeEntryFactory(ticket=ticket, person=developer, work_date=datetime.date(2025, 3, day),
                         minutes=minutes, billing_status=status)  # fmt: skip
    return ticket


def test_the_timesheet_is_the_grid_as_json(api, week_of_work, developer):
    response = api(developer).get(SHEET, {"week": "2025-W10"})
    assert response.status_code == 200
    body = response.json()
    assert (body["week"], body["start"], body["end"]) == ("2025-W10", "2025-03-03", "2025-03-09")
    assert body["days"][0] == "2025-03-03" and len(body["days"]) == 7
    assert body["rows"] == [
        {
            "ticket": week_of_work.pk,
            "ticket_number": 12,
            "ticket_title": "Printer",
            "minutes": [90, 30, 0, 0, 0, 0, 60],
            "total": 180,
        }
    ]
    assert body["day_totals"] == [90, 30, 0, 0, 0, 0, 60] and body["total"] == 180
    assert {s["status"]: s["total"] for s in body["by_status"]} == {
        "included": 150,
        "billable": 30,
        "waiting": 0,
        "excluded": 0,
    }
    assert body["person"] == developer.pk


@pytest.mark.parametrize(
    "role,expected",
    [(Role.DEVELOPER, 403), (Role.ACCOUNT_MANAGER, 200), (Role.ADMIN, 200), (Role.FINANCE, 200)],
)
def test_who_reads_another_persons_timesheet(api, week_of_work, scoped, role, expected):
    reader = MembershipFactory(organization=scoped, role=role)
    owner = TimeEntry.objects.filter(organization=scoped).first().person
    response = api(reader).get(SHEET, {"week": "2025-W10", "person": owner.pk})
    assert response.status_code == expected
    if expected == 200:
        assert response.json()["total"] == 180


def test_a_wrong_week_or_a_foreign_person_is_a_400(
    api, scoped, developer, account_manager, other_org
):
    client = api(account_manager)
    response = client.get(SHEET, {"week": "2025-10"})
    assert response.status_code == 400 and "week" in response.json()["fields"]
    stranger = MembershipFactory(organization=other_org)
    response = client.get(SHEET, {"person": stranger.pk})
    assert response.status_code == 400 and "person" in response.json()["fields"]
