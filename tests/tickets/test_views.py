import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from msops.tenancy.models import Role
from msops.tenancy.scoping import activate_organization
from tests.factories import (
    BillingMomentFactory,
    ClientFactory,
    MembershipFactory,
    RequestTypeFactory,
    TicketFactory,
    TimeEntryFactory,
)
from tests.tickets.helpers import count, fresh
from tickets.models import BillingMoment, Ticket, TimeEntry

HTMX = {"HX-Request": "true"}


def url(name, org, **kwargs):
    return reverse(f"tickets:{name}", kwargs={"org": org.slug, **kwargs})


def rows(response) -> list[str]:
    """The ticket titles of a list page, in order."""
    body = response.content.decode()
    return [
        chunk.split("</a>")[0].split(">")[-1]
        for chunk in body.split('data-testid="ticket-row">')[1:]
        for chunk in [chunk.split("<td>", 3)[2]]
    ]


def org_today(org):
    return timezone.localdate(timezone=org.tzinfo)


# --- list ---------------------------------------------------------------------------
@pytest.fixture
def listed(org, terms, developer, account_manager):
    """Three tickets that differ in every filtered column."""
    other_client = ClientFactory(organization=org, name="Bakery Bros")
    other_type = RequestTypeFactory(organization=org, name="New feature")
    return {
        "printer": TicketFactory(
            organization=org,
            client=terms.client,
            request_type=terms.request_type,
            number=7,
            title="Printer offline",
            status="new",
            priority="low",
            assignee=developer,
            logged_minutes=30,
        ),
        "vpn": TicketFactory(
            organization=org,
            client=other_client,
            request_type=other_type,
            number=8,
            title="VPN drops",
            status="in_progress",
            priority="urgent",
            assignee=account_manager,
            logged_minutes=90,
        ),
        "mail": TicketFactory(
            organization=org,
            client=terms.client,
            request_type=other_type,
            number=42,
            title="Mailbox full",
            status="closed",
            priority="normal",
            logged_minutes=0,
        ),
    }


def test_the_list_shows_this_organizations_tickets_only(login, developer, org, listed, stranger):
    TicketFactory(organization=stranger.organization, title="Their secret ticket")
    response = login(developer).get(url("ticket_list", org))
    assert response.status_code == 200
    assert sorted(rows(response)) == ["Mailbox full", "Printer offline", "VPN drops"]
    assert "Their secret ticket" not in response.content.decode()


@pytest.mark.parametrize(
    "query,expected",
    [
        ({"status": "in_progress"}, ["VPN drops"]),
        ({"status": "open"}, ["Printer offline", "VPN drops"]),
        ({"priority": "low"}, ["Printer offline"]),
        ({"q": "mailbox"}, ["Mailbox full"]),
        ({"q": "#42"}, ["Mailbox full"]),
        ({"q": "8"}, ["VPN drops"]),
        ({"unassigned": "1"}, ["Mailbox full"]),
    ],
)
def test_the_list_filters_and_searches(login, developer, org, listed, query, expected):
    response = login(developer).get(url("ticket_list", org), {**query, "sort": "title"})
    assert rows(response) == expected


def test_the_list_filters_by_client_assignee_and_request_type(
    login, developer, org, listed, terms, account_manager
):
    client = login(developer)
    assert rows(
        client.get(url("ticket_list", org), {"client": terms.client.pk, "sort": "title"})
    ) == [
        "Mailbox full",
        "Printer offline",
    ]
    assert rows(client.get(url("ticket_list", org), {"assignee": account_manager.pk})) == [
        "VPN drops"
    ]
    other_type = listed["vpn"].request_type
    assert rows(
        client.get(url("ticket_list", org), {"request_type": other_type.pk, "sort": "number"})
    ) == ["VPN drops", "Mailbox full"]


def test_another_organizations_id_in_a_filter_is_shown_as_invalid_and_ignored(
    login, developer, org, listed, other_org
):
    foreign = ClientFactory(organization=other_org, name="Foreign client")
    response = login(developer).get(url("ticket_list", org), {"client": foreign.pk})
    assert response.status_code == 200
    assert len(rows(response)) == 3
    assert "Select a valid choice" in response.content.decode()


@pytest.mark.parametrize(
    "sort,expected",
    [
        ("number", ["Printer offline", "VPN drops", "Mailbox full"]),
        ("-number", ["Mailbox full", "VPN drops", "Printer offline"]),
        ("priority", ["Printer offline", "Mailbox full", "VPN drops"]),
        ("-logged_minutes", ["VPN drops", "Printer offline", "Mailbox full"]),
        ("client", ["Printer offline", "Mailbox full", "VPN drops"]),
        ("-client", ["VPN drops", "Mailbox full", "Printer offline"]),
        ("status", ["Printer offline", "VPN drops", "Mailbox full"]),
    ],
)
def test_the_list_sorts_by_its_columns(login, developer, org, listed, sort, expected):
    response = login(developer).get(url("ticket_list", org), {"sort": sort})
    assert rows(response) == expected


def test_an_unknown_sort_falls_back_to_the_newest_first(login, developer, org, listed):
    response = login(developer).get(url("ticket_list", org), {"sort": "password"})
    assert response.status_code == 200 and len(rows(response)) == 3


def test_my_tickets_are_those_assigned_to_me(login, developer, org, listed):
    response = login(developer).get(url("ticket_list", org), {"mine": "1"})
    assert rows(response) == ["Printer offline"]
    assert "<h1>My tickets</h1>" in response.content.decode()


def test_the_list_has_25_tickets_a_page(login, developer, org, terms):
    for number in range(1, 31):
        TicketFactory(organization=org, client=terms.client, number=number, title=f"T{number:02d}")
    client = login(developer)
    first = client.get(url("ticket_list", org), {"sort": "number"})
    second = client.get(url("ticket_list", org), {"sort": "number", "page": "2"})
    assert len(rows(first)) == 25 and rows(second) == [f"T{n}" for n in range(26, 31)]
    assert "Page 2 of 2" in second.content.decode()


def test_an_htmx_request_gets_only_the_results(login, developer, org, listed):
    response = login(developer).get(url("ticket_list", org), {"status": "open"}, headers=HTMX)
    body = response.content.decode()
    assert "<html" not in body and 'id="ticket-filters"' not in body
    assert body.strip().startswith('<section id="ticket-results"')
    assert sorted(rows(response)) == ["Printer offline", "VPN drops"]


# --- new ticket ------------------------------------------------------------------------
def test_a_developer_opens_a_ticket_from_the_form(login, developer, org, terms):
    client = login(developer)
    assert client.get(url("ticket_create", org)).status_code == 200
    response = client.post(
        url("ticket_create", org),
        {
            "client": terms.client.pk,
            "request_type": terms.request_type.pk,
            "title": "Laptop won't boot",
            "priority": "high",
            "source": "phone",
            "assignee": developer.pk,
        },
    )
    with activate_organization(org):
        ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("ticket_detail", org, number=ticket.number)
    assert (ticket.number, ticket.opened_by, ticket.contract) == (1, developer, terms.contract)


@pytest.mark.parametrize("role", [Role.ACCOUNT_MANAGER, Role.ADMIN])
def test_managers_open_tickets_too(login, members, org, terms, role):
    response = login(members[role]).post(
        url("ticket_create", org),
        {
            "client": terms.client.pk,
            "request_type": terms.request_type.pk,
            "title": "Onboard new hire",
            "priority": "normal",
            "source": "email",
        },
    )
    assert response.status_code == 302 and count(Ticket) == 1


def test_finance_reads_tickets_but_does_not_open_them(login, finance, org, terms):
    client = login(finance)
    assert client.get(url("ticket_list", org)).status_code == 200
    assert client.get(url("ticket_create", org)).status_code == 403
    assert client.post(url("ticket_create", org), {"title": "x"}).status_code == 403
    assert count(Ticket) == 0


def test_an_invalid_new_ticket_shows_field_errors_and_saves_nothing(
    login, developer, org, terms, other_org
):
    foreign = ClientFactory(organization=other_org, name="Foreign")
    response = login(developer).post(
        url("ticket_create", org),
        {"client": foreign.pk, "request_type": terms.request_type.pk, "title": ""},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Select a valid choice" in body and "This field is required." in body
    assert count(Ticket) == 0 and count(BillingMoment) == 0


# --- ticket page -----------------------------------------------------------------------
def test_the_ticket_page_shows_billing_notes_and_the_rule_beside_the_work(
    login, developer, org, open_ticket
):
    ticket = open_ticket()
    response = login(developer).get(url("ticket_detail", org, number=ticket.number))
    body = response.content.decode()
    assert response.status_code == 200
    assert "PO number required on every invoice." in body
    assert "Troubleshooting — included, about 60 min" in body
    assert "Covered by the support agreement." in body
    assert "EUR 120.00" in body  # the rate, with its currency
    assert "Ticket opened under a request type" in body  # the moment


def test_the_ticket_page_shows_time_entries_and_the_total_as_h_mm(
    login, developer, org, open_ticket, log_time
):
    ticket = open_ticket()
    log_time(ticket, developer, minutes=45, notes="Reseated the cable")
    log_time(ticket, developer, minutes=50)
    body = login(developer).get(url("ticket_detail", org, number=ticket.number)).content.decode()
    assert "Reseated the cable" in body
    assert "1:35 logged" in body


def test_finance_sees_the_ticket_without_the_forms(login, finance, org, open_ticket):
    ticket = open_ticket()
    body = login(finance).get(url("ticket_detail", org, number=ticket.number)).content.decode()
    assert "Log time" not in body
    assert url("ticket_log_time", org, pk=ticket.pk) not in body
    assert url("ticket_update", org, pk=ticket.pk) not in body
    assert "PO number required on every invoice." in body


def test_another_organizations_ticket_is_a_404(login, developer, org, stranger):
    theirs = TicketFactory(organization=stranger.organization)
    assert login(developer).get(url("ticket_detail", org, number=theirs.number)).status_code == 404


def test_the_ticket_page_is_addressed_by_the_number_and_old_id_links_redirect(
    login, developer, org, open_ticket
):
    TicketFactory(organization=org)  # ids and numbers part ways
    ticket = open_ticket()
    page = url("ticket_detail", org, number=ticket.number)
    assert page == f"/o/{org.slug}/tickets/{ticket.number}/" and ticket.number != ticket.pk
    browser = login(developer)
    assert f"#{ticket.number} " in browser.get(page).content.decode()
    response = browser.get(url("ticket_by_id", org, pk=ticket.pk))
    assert response.status_code == 301 and response["Location"] == page
    missing = browser.get(url("ticket_detail", org, number=ticket.number + 1))
    assert missing.status_code == 404


# --- logging time ----------------------------------------------------------------------
def test_logging_time_saves_the_entry_and_returns_to_the_ticket(login, developer, org, open_ticket):
    ticket = open_ticket()
    response = login(developer).post(
        url("ticket_log_time", org, pk=ticket.pk),
        {"work_date": org_today(org).isoformat(), "minutes": "1:30", "notes": "Driver update"},
    )
    assert response.status_code == 302
    with activate_organization(org):
        entry = TimeEntry.objects.get()
    assert (entry.minutes, entry.person, entry.notes) == (90, developer, "Driver update")
    assert fresh(ticket).logged_minutes == 90


def test_logging_time_with_htmx_returns_the_time_entries_partial(
    login, developer, org, open_ticket
):
    ticket = open_ticket()
    response = login(developer).post(
        url("ticket_log_time", org, pk=ticket.pk),
        {"work_date": org_today(org).isoformat(), "minutes": "45"},
        headers=HTMX,
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.strip().startswith('<section id="time-entries"')
    assert "0:45 logged" in body and 'data-testid="time-entry"' in body
    assert "45 min on" in body  # the confirmation, inside the partial


@pytest.mark.parametrize(
    "minutes,work_date,field,message",
    [
        ("0", 0, "minutes", "Log at least 1 minute."),
        ("-5", 0, "minutes", "Log at least 1 minute."),
        ("1441", 0, "minutes", "One entry can be at most 24 hours (1440 minutes)."),
        ("lots", 0, "minutes", "Enter minutes (45) or hours:minutes (1:30)."),
        ("30", 1, "work_date", "Time can&#x27;t be logged for a future date"),
        ("30", None, "work_date", "This field is required."),
    ],
)
@pytest.mark.parametrize("htmx", [False, True])
def test_invalid_time_shows_the_field_error_and_saves_nothing(
    login, developer, org, open_ticket, minutes, work_date, field, message, htmx
):
    ticket = open_ticket()
    data = {"minutes": minutes}
    if work_date is not None:
        data["work_date"] = (org_today(org) + datetime.timedelta(days=work_date)).isoformat()
    response = login(developer).post(
        url("ticket_log_time", org, pk=ticket.pk), data, headers=HTMX if htmx else {}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert message in body and "errorlist" in body
    assert ("<html" in body) is not htmx
    assert count(TimeEntry) == 0
    assert fresh(ticket).logged_minutes == 0


def test_a_double_submitted_log_time_form_logs_once(login, developer, org, open_ticket):
    ticket = open_ticket()
    data = {"work_date": org_today(org).isoformat(), "minutes": "20", "idempotency_key": "abc"}
    client = login(developer)
    client.post(url("ticket_log_time", org, pk=ticket.pk), data, headers=HTMX)
    second = client.post(url("ticket_log_time", org, pk=ticket.pk), data, headers=HTMX)
    assert "was already logged" in second.content.decode()
    assert count(TimeEntry) == 1 and fresh(ticket).logged_minutes == 20


def test_finance_cannot_log_time(login, finance, org, open_ticket):
    ticket = open_ticket()
    response = login(finance).post(
        url("ticket_log_time", org, pk=ticket.pk),
        {"work_date": org_today(org).isoformat(), "minutes": "20"},
    )
    assert response.status_code == 403 and count(TimeEntry) == 0


def test_log_time_answers_only_post(login, developer, org, open_ticket):
    ticket = open_ticket()
    assert login(developer).get(url("ticket_log_time", org, pk=ticket.pk)).status_code == 405


# --- removing time -----------------------------------------------------------------------
def test_a_developer_removes_their_own_entry(login, developer, org, open_ticket, log_time):
    ticket = open_ticket()
    entry = log_time(ticket, developer, minutes=40).entry
    response = login(developer).post(url("time_entry_delete", org, pk=entry.pk), headers=HTMX)
    assert response.status_code == 200 and "0:00 logged" in response.content.decode()
    assert count(TimeEntry) == 0 and fresh(ticket).logged_minutes == 0


def test_a_developer_cannot_remove_a_colleagues_entry(login, developer, org, open_ticket, log_time):
    colleague = MembershipFactory(organization=org, role=Role.DEVELOPER)
    ticket = open_ticket()
    entry = log_time(ticket, colleague).entry
    assert login(developer).post(url("time_entry_delete", org, pk=entry.pk)).status_code == 403
    assert count(TimeEntry) == 1


def test_a_locked_entry_is_not_removed_and_the_page_says_why(
    login, admin_member, developer, org, open_ticket, log_time
):
    ticket = open_ticket()
    entry = log_time(ticket, developer, minutes=40).entry
    with activate_organization(org):
        TimeEntry.objects.filter(pk=entry.pk).update(locked=True)
    client = login(admin_member)
    page = client.get(url("ticket_detail", org, number=ticket.number)).content.decode()
    assert "locked" in page and url("time_entry_delete", org, pk=entry.pk) not in page
    response = client.post(url("time_entry_delete", org, pk=entry.pk), headers=HTMX)
    assert "This entry is locked: its billing period is closed." in response.content.decode()
    assert count(TimeEntry) == 1 and fresh(ticket).logged_minutes == 40


# --- status, priority, assignee ------------------------------------------------------------
def test_changing_the_status_saves_and_bumps_the_version(login, developer, org, open_ticket):
    ticket = open_ticket()
    response = login(developer).post(
        url("ticket_update", org, pk=ticket.pk),
        {
            "status": "in_progress",
            "priority": "high",
            "phase": "investigation",
            "assignee": developer.pk,
            "version": 1,
        },
    )
    assert response.status_code == 302
    stored = fresh(ticket)
    assert (stored.status, stored.priority, stored.assignee, stored.version) == (
        "in_progress",
        "high",
        developer,
        2,
    )


def test_a_stale_form_shows_the_conflict_and_changes_nothing(
    login, developer, account_manager, org, open_ticket
):
    ticket = open_ticket()
    form = {"status": "resolved", "priority": "normal", "phase": "investigation", "version": 1}
    login(account_manager).post(
        url("ticket_update", org, pk=ticket.pk), {**form, "status": "waiting"}
    )
    client = login(developer)
    response = client.post(url("ticket_update", org, pk=ticket.pk), form)
    body = response.content.decode()
    assert response.status_code == 409
    assert "Someone else changed this ticket" in body and "Nothing was saved" in body
    assert "It is now <strong>Waiting on client</strong>" in body
    assert 'name="version" value="2"' in body  # the form now carries the current version
    assert fresh(ticket).status == "waiting" and fresh(ticket).resolved_at is None

    htmx = client.post(url("ticket_update", org, pk=ticket.pk), form, headers=HTMX)
    assert htmx.status_code == 200  # htmx swaps 2xx answers only
    assert htmx.content.decode().strip().startswith('<section id="ticket-status"')
    assert 'data-testid="conflict"' in htmx.content.decode()


def test_an_htmx_status_change_returns_the_status_partial(login, developer, org, open_ticket):
    ticket = open_ticket()
    response = login(developer).post(
        url("ticket_update", org, pk=ticket.pk),
        {"status": "waiting", "priority": "normal", "phase": "investigation", "version": 1},
        headers=HTMX,
    )
    body = response.content.decode()
    assert '<section id="ticket-status"' in body and "<html" not in body
    assert 'data-testid="ticket-status">Waiting on client<' in body


def test_finance_cannot_change_a_ticket(login, finance, org, open_ticket):
    ticket = open_ticket()
    response = login(finance).post(
        url("ticket_update", org, pk=ticket.pk),
        {"status": "closed", "priority": "normal", "phase": "investigation", "version": 1},
    )
    assert response.status_code == 403 and fresh(ticket).status == "new"


# --- organization home ----------------------------------------------------------------------
def test_a_developers_home_counts_what_needs_them_now(login, developer, org, terms):
    mine = TicketFactory(organization=org, client=terms.client, assignee=developer, number=1)
    TicketFactory(organization=org, client=terms.client, number=2)
    TicketFactory(
        organization=org, client=terms.client, assignee=developer, status="closed", number=3
    )
    BillingMomentFactory(ticket=mine)
    body = login(developer).get(reverse("tenancy:organization_home", kwargs={"org": org.slug}))
    page = body.content.decode()
    assert '<article data-testid="count-my-open-tickets"><strong>1</strong>' in page
    assert '<article data-testid="count-open-tickets"><strong>2</strong>' in page
    assert '<article data-testid="count-open-moments-mine"><strong>1</strong>' in page
    assert f"{url('ticket_list', org)}?mine=1&amp;status=open" in page


def test_finances_home_counts_open_moments_and_undecided_time(login, finance, org, terms):
    ticket = TicketFactory(organization=org, client=terms.client)
    BillingMomentFactory(ticket=ticket)
    TimeEntryFactory(ticket=ticket, work_date=org_today(org), billing_status="undecided")
    TimeEntryFactory(ticket=ticket, work_date=org_today(org), billing_status="included")
    page = login(finance).get(reverse("tenancy:organization_home", kwargs={"org": org.slug}))
    body = page.content.decode()
    assert '<article data-testid="count-unsettled-entries"><strong>1</strong>' in body
    assert '<article data-testid="count-open-moments"><strong>1</strong>' in body
    assert "count-open-tickets" not in body


def test_logging_past_the_expected_time_raises_a_billing_moment(login, developer, org, open_ticket):
    ticket = open_ticket()  # the rule expects about 60 min
    login(developer).post(
        url("ticket_log_time", org, pk=ticket.pk),
        {"work_date": org_today(org).isoformat(), "minutes": "1:15"},
    )
    assert count(BillingMoment, ticket=ticket, kind="expected_time_passed", status="open") == 1


def test_correcting_the_request_type_on_the_page_asks_again(
    login, developer, org, open_ticket, terms
):
    ticket = open_ticket()
    new_type = RequestTypeFactory(organization=org, name="Change request")
    response = login(developer).post(
        reverse("tickets:ticket_update", kwargs={"org": org.slug, "pk": ticket.pk}),
        {
            "status": ticket.status,
            "priority": ticket.priority,
            "phase": ticket.phase,
            "assignee": ticket.assignee_id or "",
            "request_type": new_type.pk,
            "version": ticket.version,
        },
    )
    assert response.status_code == 302
    with activate_organization(org):
        assert fresh(ticket).request_type == new_type
        assert BillingMoment.objects.filter(
            ticket=ticket, kind=BillingMoment.Kind.REQUEST_TYPE_CHANGED, status="open"
        ).exists()


def test_a_developers_new_ticket_form_names_them_as_assignee(
    login, org, developer, account_manager
):
    url = reverse("tickets:ticket_create", kwargs={"org": org.slug})
    mine = login(developer).get(url).content.decode()
    assert f'<option value="{developer.pk}" selected>' in mine
    theirs = login(account_manager).get(url).content.decode()
    assert f'<option value="{account_manager.pk}" selected>' not in theirs
