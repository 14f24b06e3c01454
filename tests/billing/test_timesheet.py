"""The week timesheet: the grid's numbers (per day, per row, per billing
meaning), the practice's own week, editing a cell in place (log, correct,
remove; several entries and locked periods refused, nothing half saved), and
who may see whose sheet."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import BillingPeriod, EntryPortion
from billing.selectors.timesheet import Week, timesheet, week_of, week_parse
from billing.services import time_entry_log, timesheet_cell_set
from tests.factories import (
    MembershipFactory,
    OrganizationFactory,
    TicketFactory,
    TimeEntryFactory,
)
from tests.tickets.helpers import count, fresh
from tickets.models import Ticket, TimeEntry
from tickets.services import organization_today

HTMX = {"HX-Request": "true"}
# 2025-W10: Monday 3 to Sunday 9 March 2025, well in the past.
MONDAY = datetime.date(2025, 3, 3)


def day(n: int) -> datetime.date:
    return MONDAY + datetime.timedelta(days=n)


@pytest.fixture
def grid(scoped, developer, account_manager):
    """Three tickets of the developer's in 2025-W10 with known meanings, and
    time that must not count (another person's, the week before)."""
    org = scoped
    first, second, third = (
        TicketFactory(organization=org, number=n, title=title)
        for n, title in [(12, "Printer"), (7, "VPN"), (30, "Backups")]
    )
    TimeEntryFactory(ticket=first, person=developer, work_date=day(0), minutes=90,
                     billing_status="included")  # fmt: skip
    TimeEntryFactory(ticket=first, person=developer, work_date=day(1), minutes=30,
                     billing_status="billable")  # fmt: skip
    # Two entries on one day; one of them with two meanings (60 included + 30 waiting).
    TimeEntryFactory(ticket=second, person=developer, work_date=day(0), minutes=45,
                     billing_status="undecided")  # fmt: skip
    split = TimeEntryFactory(ticket=second, person=developer, work_date=day(2), minutes=90,
                             billing_status="split", portion=False)  # fmt: skip
    for position, (minutes, status) in enumerate([(60, "included"), (30, "pending_approval")]):
        EntryPortion.objects.create(
            organization=org, entry=split, ticket=second, position=position, minutes=minutes,
            work_date=split.work_date, status=status, treatment="included",
        )  # fmt: skip
    # Kept from before portions: counted by the entry's own status.
    TimeEntryFactory(ticket=third, person=developer, work_date=day(4), minutes=15,
                     billing_status="non_billable", portion=False)  # fmt: skip
    TimeEntryFactory(ticket=third, person=developer, work_date=day(6), minutes=20,
                     billing_status="unclear")  # fmt: skip
    # Not this sheet's: another person, the week before, the week after.
    TimeEntryFactory(ticket=first, person=account_manager, work_date=day(0), minutes=100)
    TimeEntryFactory(ticket=first, person=developer, work_date=day(-1), minutes=100)
    TimeEntryFactory(ticket=first, person=developer, work_date=day(7), minutes=100)
    return {"first": first, "second": second, "third": third}


def test_the_grid_adds_up_per_day_per_row_and_per_meaning(org, grid, developer):
    sheet = timesheet(organization=org, person=developer, week=Week(MONDAY))
    assert [row.ticket.number for row in sheet.rows] == [7, 12, 30]
    assert {row.ticket.number: [c.minutes for c in row.cells] for row in sheet.rows} == {
        7: [45, 0, 90, 0, 0, 0, 0],
        12: [90, 30, 0, 0, 0, 0, 0],
        30: [0, 0, 0, 0, 15, 0, 20],
    }
    assert [row.total for row in sheet.rows] == [135, 120, 35]
    assert sheet.day_totals == [135, 30, 90, 0, 15, 0, 20]
    assert sheet.total == 290
    by_status = {s.key: (s.days, s.total) for s in sheet.status_totals}
    assert by_status == {
        "included": ([90, 0, 60, 0, 0, 0, 0], 150),
        "billable": ([0, 30, 0, 0, 0, 0, 0], 30),
        "waiting": ([45, 0, 30, 0, 0, 0, 20], 95),
        "excluded": ([0, 0, 0, 0, 15, 0, 0], 15),
    }
    assert sum(total for _, total in by_status.values()) == sheet.total


def test_the_page_shows_the_grid_as_hours_and_minutes(login, grid, developer):
    response = login(developer).get(f"/o/{developer.organization.slug}/billing/timesheet/",
                                    {"week": "2025-W10"})  # fmt: skip
    assert response.status_code == 200
    body = response.content.decode()
    assert "Week 2025-W10: Mon 3 Mar – Sun 9 Mar 2025." in body
    assert 'value="1:30"' in body  # #12 on Monday, editable
    assert body.count('data-testid="row-total"') == 3
    assert "<strong>4:50</strong>" in body
    assert "entries</small>" not in body  # one entry in each cell: every one editable
    assert "week=2025-W09" in body and "week=2025-W11" in body


def test_a_day_with_several_entries_is_not_edited_in_the_grid(login, scoped, developer):
    ticket = TicketFactory(organization=scoped, number=5)
    for minutes in (20, 40):
        TimeEntryFactory(ticket=ticket, person=developer, work_date=day(3), minutes=minutes)
    body = login(developer).get(f"/o/{scoped.slug}/billing/timesheet/?week=2025-W10").content
    assert b"2 entries" in body and b'value="1:00"' not in body
    with pytest.raises(ValidationError) as refused:
        timesheet_cell_set(ticket=ticket, person=developer, work_date=day(3), minutes=90)
    assert "2 entries of yours" in refused.value.messages[0]
    assert "on the ticket page" in refused.value.messages[0]
    assert count(TimeEntry, ticket=ticket) == 2


def test_the_practice_week_starts_on_its_own_day(db):
    sunday_org = OrganizationFactory(week_start=6)
    week = week_parse(sunday_org, "2026-W49")
    assert week.start == datetime.date(2026, 11, 29) and week.start.weekday() == 6
    assert week.label == "2026-W49" and week.end == datetime.date(2026, 12, 5)
    assert week_of(sunday_org, datetime.date(2026, 12, 5)) == week
    assert week.next.label == "2026-W50" and week.previous.label == "2026-W48"
    saturday_org = OrganizationFactory(week_start=5)
    assert week_parse(saturday_org, "2026-W49").start == datetime.date(2026, 11, 28)
    monday_org = OrganizationFactory(week_start=0)
    assert week_parse(monday_org, "2026-w49").start == datetime.date(2026, 11, 30)
    for wrong in ("2026-W54", "2026-49", "W49", "0001-W01", "2026-W00"):
        assert week_parse(monday_org, wrong) is None


def test_a_week_that_is_not_one_is_a_404(login, scoped, developer):
    response = login(developer).get(f"/o/{scoped.slug}/billing/timesheet/?week=2026-W60")
    assert response.status_code == 404


def test_the_page_keeps_its_query_count_whatever_the_week_holds(login, scoped, developer):
    client = login(developer)
    url = f"/o/{scoped.slug}/billing/timesheet/?week=2025-W10"

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    TimeEntryFactory(ticket=TicketFactory(organization=scoped), person=developer,
                     work_date=day(0))  # fmt: skip
    few = queries()
    for n in range(12):
        TimeEntryFactory(ticket=TicketFactory(organization=scoped), person=developer,
                         work_date=day(n % 7))  # fmt: skip
    assert queries() == few


# --- editing a cell --------------------------------------------------------------------------
@pytest.fixture
def ticket(scoped, open_ticket):
    """An open ticket opened well before last week."""
    ticket = open_ticket()
    Ticket.objects.filter(pk=ticket.pk).update(
        opened_at=ticket.opened_at - datetime.timedelta(days=60)
    )
    ticket.refresh_from_db()
    return ticket


@pytest.fixture
def last_monday(scoped):
    """Monday of last week (the practice's week starts on Monday)."""
    return week_of(scoped, organization_today(scoped)).previous.start


def cell(client, ticket, work_date, minutes, htmx=True):
    return client.post(
        f"/o/{ticket.organization.slug}/billing/timesheet/cell/",
        {"ticket": ticket.pk, "day": work_date.isoformat(), "minutes": minutes},
        headers=HTMX if htmx else {},
    )


def entries(ticket, person) -> list[tuple]:
    return sorted(
        TimeEntry.objects.filter(
            organization=ticket.organization, ticket=ticket, person=person
        ).values_list("work_date", "minutes")
    )


def test_typing_a_cell_logs_then_corrects_then_removes_the_days_entry(
    login, ticket, developer, last_monday
):
    client = login(developer)
    response = cell(client, ticket, last_monday, "1:30")
    assert response.status_code == 200
    body = response.content.decode()
    cell_id = f"ts-{ticket.pk}-{last_monday:%Y%m%d}"
    assert body.lstrip().startswith(f'<td id="{cell_id}"') and 'value="1:30"' in body
    assert (
        f'<td id="ts-total-{ticket.pk}" class="money" data-testid="row-total" hx-swap-oob="true">1:30</td>'
        in body
    )
    assert '<tfoot id="timesheet-totals" hx-swap-oob="true">' in body
    assert entries(ticket, developer) == [(last_monday, 90)]
    entry = TimeEntry.objects.get(organization=ticket.organization, ticket=ticket)
    assert entry.billing_status  # given its meaning by billing.services

    cell(client, ticket, last_monday, "45")
    assert entries(ticket, developer) == [(last_monday, 45)]
    assert TimeEntry.objects.get(organization=ticket.organization, ticket=ticket).pk == entry.pk
    assert fresh(ticket).logged_minutes == 45

    body = cell(client, ticket, last_monday, "0").content.decode()
    assert entries(ticket, developer) == [] and fresh(ticket).logged_minutes == 0
    assert "hx-swap-oob" in body and 'data-testid="week-total"><strong>0:00' in body
    cell(client, ticket, last_monday, "")  # empty again: nothing to do
    assert entries(ticket, developer) == []


def test_a_cell_that_is_not_minutes_says_so_and_saves_nothing(
    login, ticket, developer, last_monday
):
    body = cell(login(developer), ticket, last_monday, "lots").content.decode()
    assert "Enter minutes (45) or hours:minutes (1:30)." in body
    assert 'value="lots"' in body and 'aria-invalid="true"' in body
    assert entries(ticket, developer) == []


def test_a_future_day_is_refused_with_the_time_services_message(login, ticket, developer, scoped):
    tomorrow = organization_today(scoped) + datetime.timedelta(days=1)
    body = cell(login(developer), ticket, tomorrow, "30").content.decode()
    assert "Time can&#x27;t be logged for a future date" in body
    assert entries(ticket, developer) == []


def test_a_locked_period_is_an_error_in_the_cell_and_nothing_is_saved(
    login, ticket, developer, last_monday
):
    client = login(developer)
    time_entry_log(ticket=ticket, person=developer, work_date=last_monday, minutes=30)
    BillingPeriod.objects.update_or_create(
        organization=ticket.organization,
        client=ticket.client,
        month=last_monday.replace(day=1),
        defaults={"status": BillingPeriod.Status.LOCKED},
    )
    tuesday = last_monday + datetime.timedelta(days=1)
    if tuesday.month != last_monday.month:  # keep both days in the locked month
        tuesday = last_monday - datetime.timedelta(days=1)
    body = cell(client, ticket, tuesday, "1:00").content.decode()
    assert "is locked: nothing in it can change" in body and 'data-testid="cell-error"' in body
    body = cell(client, ticket, last_monday, "2:00").content.decode()
    assert "is locked" in body
    assert entries(ticket, developer) == [(last_monday, 30)]
    assert fresh(ticket).logged_minutes == 30


def test_a_locked_entry_is_shown_without_a_field_and_refused(login, ticket, developer, last_monday):
    logged = time_entry_log(ticket=ticket, person=developer, work_date=last_monday, minutes=30)
    TimeEntry.objects.filter(organization=ticket.organization, pk=logged.entry.pk).update(
        locked=True
    )
    client = login(developer)
    week = week_of(ticket.organization, last_monday).label
    body = client.get(f"/o/{ticket.organization.slug}/billing/timesheet/?week={week}").content
    assert b"locked</small>" in body and b'value="0:30"' not in body
    with pytest.raises(ValidationError, match="locked"):
        timesheet_cell_set(ticket=ticket, person=developer, work_date=last_monday, minutes=10)
    assert entries(ticket, developer) == [(last_monday, 30)]


def test_without_htmx_a_cell_goes_back_to_its_week(login, ticket, developer, last_monday):
    response = cell(login(developer), ticket, last_monday, "20", htmx=False)
    week = week_of(ticket.organization, last_monday).label
    assert response.status_code == 302
    assert f"week={week}" in response.url and f"add={ticket.pk}" in response.url
    assert entries(ticket, developer) == [(last_monday, 20)]


def test_a_ticket_can_be_added_by_number_or_from_my_open_tickets(login, ticket, developer, scoped):
    client = login(developer)
    url = f"/o/{scoped.slug}/billing/timesheet/?week=2025-W10"
    body = client.get(url).content.decode()
    assert f'<option value="{ticket.pk}">#{ticket.number} {ticket.title}</option>' in body
    body = client.get(f"{url}&number={ticket.number}").content.decode()
    assert f'id="ts-row-{ticket.pk}"' in body
    assert f'<input type="hidden" name="add" value="{ticket.pk}">' in body
    body = client.get(f"{url}&number=99999").content.decode()
    assert "No ticket #99999 in this practice." in body


def test_a_cell_of_another_organizations_ticket_is_a_404(login, scoped, developer, other_org):
    foreign = TicketFactory(organization=other_org)
    response = cell(login(developer), foreign, MONDAY, "30")
    assert response.status_code == 404
    assert count(TimeEntry) == 0


def test_finance_does_not_edit_cells(login, ticket, finance, last_monday):
    assert cell(login(finance), ticket, last_monday, "30").status_code == 403
    assert count(TimeEntry) == 0


# --- whose sheet ----------------------------------------------------------------------------
def test_a_developer_sees_only_their_own_sheet(login, grid, developer, account_manager):
    url = f"/o/{developer.organization.slug}/billing/timesheet/?week=2025-W10"
    client = login(account_manager)
    assert login(developer).get(f"{url}&person={account_manager.pk}").status_code == 403
    assert client.get(f"{url}&person={developer.pk}").status_code == 200


def test_a_manager_reads_anothers_sheet_without_editing_it(login, grid, developer, account_manager):
    url = f"/o/{developer.organization.slug}/billing/timesheet/?week=2025-W10"
    body = login(account_manager).get(f"{url}&person={developer.pk}").content.decode()
    assert "Read only." in body and "<strong>4:50</strong>" in body
    assert 'name="minutes"' not in body
    assert f"person={developer.pk}" in body  # the week links keep the person


def test_a_person_of_another_organization_is_a_404(login, scoped, account_manager, other_org):
    stranger = MembershipFactory(organization=other_org)
    url = f"/o/{scoped.slug}/billing/timesheet/?person={stranger.pk}"
    assert login(account_manager).get(url).status_code == 404
