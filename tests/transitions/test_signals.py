"""Signals for preparing transitions (transitions/signals.py): undocumented
context per person and transition health per client, each counted from
seeded data against hand-made expectations, on their pages and in the API,
for the roles that may read them, in a fixed number of queries."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models import TextField, Value
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scopes_disabled
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.flags import flags_sweep
from billing.models import ExceptionFlag
from clients.models import Client
from msops.tenancy.models import Organization, Role
from msops.tenancy.scoping import activate_organization
from tests.factories import ClientFactory, MembershipFactory, TicketFactory, TimeEntryFactory
from tickets.models import Ticket, TimeEntry
from transitions.models import ClientBrief, Risk
from transitions.signals import (
    THIN_NOTE_Q,
    AtRisk,
    ClientHealth,
    late_entry_q,
    note_is_thin,
    transition_health,
    undocumented_context,
)

RESOLVED, CLOSED = Ticket.Status.RESOLVED, Ticket.Status.CLOSED


# --- seeding helpers -----------------------------------------------------------------
def at(org, day: datetime.date, hour: int = 12, minute: int = 0) -> datetime.datetime:
    """A moment on ``day`` in the organization's timezone."""
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=org.tzinfo)


def ago(today: datetime.date, days: int) -> datetime.date:
    return today - datetime.timedelta(days=days)


def resolved_ticket(
    org, today, *, assignee, days_ago=5, note="", status=RESOLVED, client=None, resolved_at=None
):
    return TicketFactory(
        organization=org,
        client=client or ClientFactory(organization=org),
        assignee=assignee,
        status=status,
        resolved_at=resolved_at or at(org, ago(today, days_ago)),
        resolution_note=note,
    )


def entry(org, today, *, person, ticket, days_ago=2, notes="Checked the spooler.", late_by=0,
          minutes=30):  # fmt: skip
    """A time entry for work ``days_ago`` days ago, entered ``late_by`` days after it."""
    work_date = ago(today, days_ago)
    return TimeEntryFactory(
        organization=org,
        ticket=ticket,
        person=person,
        work_date=work_date,
        entered_at=at(org, work_date + datetime.timedelta(days=late_by)),
        notes=notes,
        minutes=minutes,
    )


def brief(org, client, reviewed_on, by=None) -> ClientBrief:
    with scopes_disabled():
        return ClientBrief.objects.create(
            organization=org,
            client=client,
            summary="Escalate to the office manager.",
            reviewed_by=by,
            reviewed_at=at(org, reviewed_on) if reviewed_on else None,
        )


def risk(org, client, owner, status=Risk.Status.OPEN) -> Risk:
    with scopes_disabled():
        return Risk.objects.create(
            organization=org, client=client, description="Disk", owner=owner, status=status
        )


def context_of(org, today, person):
    with activate_organization(org):
        report = undocumented_context(organization=org, today=today)
    rows = {row.person.pk: row for row in report.people}
    return rows.get(person.pk), report


def health_of(org, today) -> dict[str, ClientHealth]:
    with activate_organization(org):
        report = transition_health(organization=org, today=today)
    return {row.client.name: row for row in report.clients}


def numbers(signal) -> list[int]:
    return [ticket.number for ticket in signal.examples]


@pytest.fixture
def colleague(org):
    return MembershipFactory(organization=org, role=Role.DEVELOPER, user__username="colleague")


@pytest.fixture
def work(org, today, account_manager):
    """A ticket to log time on, of a client with an account manager and a
    fresh brief (so no client signal comes from it)."""
    client = ClientFactory(organization=org, name="Work Co", account_manager=account_manager)
    brief(org, client, today, by=account_manager)
    return TicketFactory(organization=org, client=client)


# --- resolved without a note ---------------------------------------------------------
def test_tickets_resolved_or_closed_without_a_note_count_for_their_assignee(
    org, today, developer, colleague
):
    latest = resolved_ticket(org, today, assignee=developer, days_ago=3)
    closed = resolved_ticket(org, today, assignee=developer, days_ago=20, status=CLOSED, note=" \n")
    resolved_ticket(org, today, assignee=developer, days_ago=4, note="Replaced the toner.")
    resolved_ticket(org, today, assignee=colleague, days_ago=4)
    resolved_ticket(org, today, assignee=None, days_ago=4)
    TicketFactory(organization=org, assignee=developer, status=Ticket.Status.IN_PROGRESS)

    row, _ = context_of(org, today, developer)
    assert row.resolved_without_note.count == 2
    assert numbers(row.resolved_without_note) == [latest.number, closed.number]
    assert context_of(org, today, colleague)[0].resolved_without_note.count == 1


def test_only_three_examples_are_given_the_latest_first_but_every_ticket_counts(
    org, today, developer
):
    tickets = [resolved_ticket(org, today, assignee=developer, days_ago=d) for d in (9, 1, 5, 7)]
    row, _ = context_of(org, today, developer)
    assert row.resolved_without_note.count == 4
    assert numbers(row.resolved_without_note) == [t.number for t in tickets[1:]]


def test_the_window_is_the_last_90_days_counted_in_the_organizations_timezone(
    org, today, developer, work
):
    """89 days ago is in, 90 and 91 are out. Amsterdam is ahead of UTC: a
    ticket resolved at 00:30 there on the window's first day (still the day
    before in UTC) is in; one resolved at 23:30 the day before is out."""
    assert org.timezone == "Europe/Amsterdam"
    first_day = ago(today, 89)
    inside = resolved_ticket(org, today, assignee=developer, days_ago=89)
    just_inside = resolved_ticket(
        org, today, assignee=developer, resolved_at=at(org, first_day, 0, 30)
    )
    resolved_ticket(org, today, assignee=developer, resolved_at=at(org, ago(today, 90), 23, 30))
    resolved_ticket(org, today, assignee=developer, days_ago=91)
    for days_ago in (89, 90, 91):
        entry(org, today, person=developer, ticket=work, days_ago=days_ago, notes="ok", late_by=5)

    row, report = context_of(org, today, developer)
    assert (report.window.start, report.window.end, report.window.days) == (first_day, today, 90)
    assert sorted(numbers(row.resolved_without_note)) == sorted([inside.number, just_inside.number])
    assert row.resolved_without_note.count == 2
    assert row.thin_notes.count == 1
    assert row.late_entries.count == 1


# --- thin notes ----------------------------------------------------------------------
def test_empty_and_one_word_notes_are_thin_and_two_words_are_not(org, today, developer, work):
    other = TicketFactory(organization=org, client=work.client)
    for days_ago, notes in [(6, ""), (5, "   "), (4, "done"), (3, " fixed.\n")]:
        entry(org, today, person=developer, ticket=work, days_ago=days_ago, notes=notes)
    entry(org, today, person=developer, ticket=other, days_ago=2, notes="Fixed printer")
    entry(org, today, person=developer, ticket=other, days_ago=1, notes="Replaced the fuser unit")

    row, _ = context_of(org, today, developer)
    assert row.thin_notes.count == 4
    assert numbers(row.thin_notes) == [work.number]  # each ticket once
    assert row.late_entries.count == 0


@pytest.mark.parametrize(
    ("notes", "thin"),
    [("", True), (" \t\n", True), ("done", True), ("  Done.  ", True), ("two words", False),
     ("two\nlines", False), ("Rebooted the switch; logged in the wiki.", False)],
)  # fmt: skip
def test_a_note_is_thin_when_it_has_at_most_one_word(notes, thin):
    assert note_is_thin(notes) is thin


_NOTE_TEXT = st.text(
    alphabet=st.sampled_from(list("ab.é \t\n\r\x0b\x0c\u00a0\u2003-")), max_size=12
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(notes=_NOTE_TEXT)
def test_the_thin_note_rule_gives_the_same_answer_in_python_and_in_sql(db, org, notes):
    with scopes_disabled():
        in_sql = (
            Organization.objects.filter(pk=org.pk)
            .annotate(notes=Value(notes, output_field=TextField()))
            .filter(THIN_NOTE_Q)
            .exists()
        )
    assert in_sql is note_is_thin(notes)


# --- late entries --------------------------------------------------------------------
def test_time_entered_more_than_late_entry_days_after_the_work_is_late(org, today, developer, work):
    org.late_entry_days = 3
    org.save()
    entry(org, today, person=developer, ticket=work, days_ago=10, late_by=3)
    late = entry(org, today, person=developer, ticket=work, days_ago=10, late_by=4)
    entry(org, today, person=developer, ticket=work, days_ago=8, late_by=0)

    row, report = context_of(org, today, developer)
    assert report.late_entry_days == 3
    assert row.late_entries.count == 1
    assert numbers(row.late_entries) == [late.ticket.number]


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    tz=st.sampled_from(["Europe/Amsterdam", "America/Los_Angeles", "Pacific/Auckland", "UTC"]),
    late_entry_days=st.integers(0, 4),
    entries=st.lists(st.tuples(st.integers(0, 8), st.integers(0, 47)), min_size=1, max_size=6),
)
def test_late_entries_are_the_entries_the_late_entry_flag_flags(
    db, org, developer, tz, late_entry_days, entries
):
    """The same rule as billing/flags/tickets.py: random entries, lateness
    in hours across midnight in several timezones."""
    with scopes_disabled(), transaction.atomic():
        org.timezone, org.late_entry_days = tz, late_entry_days
        org.save()
        ticket = TicketFactory(organization=org)
        base = datetime.datetime(2026, 11, 10, tzinfo=datetime.UTC)
        for work_offset, hours_later in entries:
            TimeEntryFactory(
                organization=org,
                ticket=ticket,
                person=developer,
                work_date=(base - datetime.timedelta(days=work_offset)).date(),
                entered_at=base + datetime.timedelta(hours=hours_later),
            )
        flags_sweep(organization=org)
        flagged = set(
            ExceptionFlag.objects.filter(
                organization=org, kind=ExceptionFlag.Kind.LATE_ENTRY
            ).values_list("subject_key", flat=True)
        )
        ours = {
            f"entry:{pk}"
            for pk in TimeEntry.objects.filter(late_entry_q(org), organization=org).values_list(
                "pk", flat=True
            )
        }
        assert ours == flagged
        transaction.set_rollback(True)


# --- clients they hold, with a stale brief -------------------------------------------
def test_clients_where_they_logged_more_than_half_the_time_and_the_brief_is_stale(
    org, today, developer, colleague
):
    def client_with_time(name, mine, theirs, *, status=Client.Status.ACTIVE, reviewed=None):
        client = ClientFactory(organization=org, name=name, status=status)
        if reviewed:
            brief(org, client, reviewed)
        ticket = TicketFactory(organization=org, client=client)
        if mine:
            entry(org, today, person=developer, ticket=ticket, minutes=mine)
        if theirs:
            entry(org, today, person=colleague, ticket=ticket, minutes=theirs)
        return client

    no_brief = client_with_time("No brief", 60, 40)
    client_with_time("Half each", 50, 50, reviewed=ago(today, 40))  # exactly 50 %: not most
    client_with_time("Fresh brief", 100, 0, reviewed=ago(today, 10))
    client_with_time("Ended", 100, 0, status=Client.Status.ENDED)
    client_with_time("Reviewed 30 days ago", 100, 0, reviewed=ago(today, 30))  # still current
    reviewed_31 = client_with_time("Reviewed 31 days ago", 90, 10, reviewed=ago(today, 31))
    never_reviewed = client_with_time("Never reviewed", 70, 30)
    brief(org, never_reviewed, None)
    # Only the window's time counts: the developer's 91-day-old hours do not.
    old = client_with_time("Old work", 0, 30)
    entry(org, today, person=developer, ticket=TicketFactory(organization=org, client=old),
          days_ago=91, minutes=600)  # fmt: skip

    row, _ = context_of(org, today, developer)
    assert row.stale_brief_clients.count == 3
    assert [c.pk for c in row.stale_brief_clients.examples] == [
        reviewed_31.pk,  # 90 %
        never_reviewed.pk,  # 70 %
        no_brief.pk,  # 60 %
    ]
    theirs, _ = context_of(org, today, colleague)
    assert [c.name for c in theirs.stale_brief_clients.examples] == ["Old work"]


# --- the people ----------------------------------------------------------------------
def test_active_members_who_work_tickets_are_listed_the_most_to_document_first(
    org, today, developer, account_manager, admin_member, finance, work
):
    gone = MembershipFactory(organization=org, role=Role.DEVELOPER, user__is_active=False)
    resolved_ticket(org, today, assignee=gone)
    resolved_ticket(org, today, assignee=account_manager)
    entry(org, today, person=admin_member, ticket=work, notes="")
    entry(org, today, person=admin_member, ticket=work, notes="x", late_by=1)

    _, report = context_of(org, today, developer)
    assert [(row.person, row.total) for row in report.people] == [
        (admin_member, 2),
        (account_manager, 1),
        (developer, 0),
    ]


# --- transition health ---------------------------------------------------------------
def test_transition_health_per_client_from_seeded_data(
    org, today, developer, colleague, account_manager
):
    steady = ClientFactory(organization=org, name="Steady", account_manager=account_manager)
    brief(org, steady, ago(today, 5), by=account_manager)
    ticket = TicketFactory(organization=org, client=steady)
    entry(org, today, person=developer, ticket=ticket, minutes=90)
    entry(org, today, person=account_manager, ticket=ticket, minutes=30)
    entry(org, today, person=colleague, ticket=ticket, days_ago=91, minutes=900)  # outside
    for status in (Risk.Status.OPEN, Risk.Status.MITIGATED, Risk.Status.CLOSED):
        risk(org, steady, developer, status)

    ClientFactory(organization=org, name="Nobody's")  # no brief, no time, no account manager

    leaning = ClientFactory(organization=org, name="Leaning", account_manager=account_manager)
    brief(org, leaning, ago(today, 40), by=account_manager)
    ticket = TicketFactory(organization=org, client=leaning)
    entry(org, today, person=colleague, ticket=ticket, minutes=80)
    entry(org, today, person=developer, ticket=ticket, minutes=20)
    gone = MembershipFactory(organization=org, user__is_active=False)
    risk(org, leaning, gone)

    ClientFactory(organization=org, name="Gone", status=Client.Status.ENDED)

    rows = health_of(org, today)
    assert list(rows) == ["Leaning", "Nobody's", "Steady"]

    row = rows["Steady"]
    assert (row.brief.reviewed_by, row.stale) == (account_manager, False)
    assert (row.top_person, row.top_minutes, row.logged_minutes) == (developer, 90, 120)
    assert row.top_share == Decimal("75.0") and not row.one_person
    assert (row.orphaned_items, row.open_risks, row.at_risk) == (0, 2, [])

    row = rows["Nobody's"]
    assert (row.brief, row.stale, row.top_person, row.top_share) == (None, True, None, None)
    assert (row.logged_minutes, row.orphaned_items, row.open_risks) == (0, 1, 0)
    assert row.at_risk == [AtRisk.STALE_BRIEF, AtRisk.ORPHANED_ITEMS]

    row = rows["Leaning"]
    assert (row.top_person, row.top_share, row.one_person) == (colleague, Decimal("80.0"), True)
    assert (row.orphaned_items, row.open_risks) == (1, 1)
    assert row.at_risk == [AtRisk.STALE_BRIEF, AtRisk.ONE_PERSON, AtRisk.ORPHANED_ITEMS]


def test_a_share_just_under_80_percent_neither_reads_nor_counts_as_80():
    row = ClientHealth(
        client=Client(name="x"), brief=None, stale=False, logged_minutes=10_000,
        top_person=None, top_minutes=7_999, orphaned_items=0, open_risks=0,
    )  # fmt: skip
    assert row.top_share == Decimal("79.9")
    assert not row.one_person and row.at_risk == []


# --- pages and API: roles ------------------------------------------------------------
CONTEXT_ROLES = {
    Role.DEVELOPER: 403,
    Role.FINANCE: 403,
    Role.ACCOUNT_MANAGER: 200,
    Role.ADMIN: 200,
}
HEALTH_ROLES = {**CONTEXT_ROLES, Role.FINANCE: 200}


def page(name, org) -> str:
    return reverse(f"transitions:{name}", kwargs={"org": org.slug})


@pytest.mark.parametrize("role", list(Role))
def test_the_pages_answer_by_role(login, members, org, role):
    browser = login(members[role])
    assert browser.get(page("undocumented_context", org)).status_code == CONTEXT_ROLES[role]
    assert browser.get(page("transition_health", org)).status_code == HEALTH_ROLES[role]


@pytest.mark.parametrize("role", list(Role))
def test_the_api_answers_by_role(api, members, role):
    client = api(members[role])
    assert client.get("/api/v1/undocumented-context/").status_code == CONTEXT_ROLES[role]
    assert client.get("/api/v1/transition-health/").status_code == HEALTH_ROLES[role]


def test_the_lists_are_read_only(api, admin_member):
    client = api(admin_member)
    for path in ("/api/v1/undocumented-context/", "/api/v1/transition-health/"):
        assert client.post(path, {}, format="json").status_code == 405


def test_a_stranger_gets_a_404_on_our_pages(client, stranger, org):
    client.force_login(stranger.user)
    assert client.get(page("undocumented_context", org)).status_code == 404
    assert client.get(page("transition_health", org)).status_code == 404


# --- pages and API: content ----------------------------------------------------------
@pytest.fixture
def seeded(org, other_org, today, developer, account_manager, work):
    """Our developer with one unnoted resolution, one thin note and one late
    entry, holding a client without a brief; the other organization has the
    same, named so that it would show."""
    org.late_entry_days = 3
    org.save()
    held = ClientFactory(organization=org, name="Held Co", account_manager=account_manager)
    ticket = resolved_ticket(org, today, assignee=developer, client=held)
    entry(org, today, person=developer, ticket=ticket, notes="done")
    entry(org, today, person=developer, ticket=work, days_ago=10, late_by=5)
    entry(org, today, person=account_manager, ticket=work)  # half of Work Co's time
    stranger = MembershipFactory(
        organization=other_org, role=Role.DEVELOPER, user__username="foreign-dev"
    )
    foreign = ClientFactory(organization=other_org, name="Foreign Co")
    foreign_ticket = resolved_ticket(other_org, today, assignee=stranger, client=foreign)
    entry(other_org, today, person=stranger, ticket=foreign_ticket, notes="")
    return {"held": held, "ticket": ticket, "work": work}


def test_the_context_page_shows_each_signal_with_its_links_and_no_other_organization(
    login, account_manager, developer, org, seeded
):
    response = login(account_manager).get(page("undocumented_context", org))
    html = response.content.decode()
    assert response.status_code == 200
    tickets = reverse("tickets:ticket_list", kwargs={"org": org.slug})
    assert f'href="{tickets}?assignee={developer.pk}"' in html
    detail = reverse(
        "tickets:ticket_detail", kwargs={"org": org.slug, "number": seeded["ticket"].number}
    )
    assert f'href="{detail}">#{seeded["ticket"].number}</a>' in html
    brief_url = reverse(
        "transitions:client_brief", kwargs={"org": org.slug, "pk": seeded["held"].pk}
    )
    assert f'href="{brief_url}">Held Co</a>' in html
    assert "Foreign Co" not in html and "foreign-dev" not in html


def test_the_context_api_gives_one_row_per_person_with_counts_and_ticket_numbers(
    api, admin_member, developer, seeded
):
    body = api(admin_member).get("/api/v1/undocumented-context/").json()
    rows = {row["id"]: row for row in body["results"]}
    assert "foreign-dev" not in {row["name"] for row in body["results"]}
    assert rows[developer.pk] == {
        "id": developer.pk,
        "name": developer.user.username,
        "role": "developer",
        "resolved_without_note": 1,
        "resolved_without_note_tickets": [seeded["ticket"].number],
        "thin_notes": 1,
        "thin_note_tickets": [seeded["ticket"].number],
        "late_entries": 1,
        "late_entry_tickets": [seeded["work"].number],
        "stale_brief_clients": 1,
        "stale_brief_client_examples": [{"id": seeded["held"].pk, "name": "Held Co"}],
        "total": 4,
    }
    assert body["results"][0]["id"] == developer.pk  # the most to document first


def test_the_health_page_links_each_client_to_its_brief_and_marks_those_at_risk(
    login, finance, org, seeded
):
    response = login(finance).get(page("transition_health", org))
    html = response.content.decode()
    assert response.status_code == 200
    for client in (seeded["held"], seeded["work"].client):
        url = reverse("transitions:client_brief", kwargs={"org": org.slug, "pk": client.pk})
        assert f'href="{url}">{client.name}</a>' in html
    held = seeded["held"].pk
    assert f'data-testid="health-{held}" data-at-risk="true"' in html  # no brief
    assert f'data-testid="health-{seeded["work"].client.pk}">' in html  # fresh and shared
    assert "Foreign Co" not in html
    assert "undocumented_context" not in html and "/transitions/context/" not in html


def test_the_health_api_gives_one_row_per_client(api, finance, developer, seeded):
    body = api(finance).get("/api/v1/transition-health/").json()
    rows = {row["name"]: row for row in body["results"]}
    assert set(rows) == {"Held Co", "Work Co"}
    held = rows["Held Co"]
    assert held["brief"] is None and held["brief_stale"] is True
    assert (held["top_person"], held["top_person_name"]) == (developer.pk, developer.user.username)
    assert (held["top_person_minutes"], held["logged_minutes"]) == (30, 30)
    assert held["top_share_percent"] == "100.0"
    assert held["at_risk"] == ["stale_brief", "one_person"]
    assert rows["Work Co"]["brief_stale"] is False


def test_the_work_list_links_to_the_pages_its_reader_may_open(login, members, org):
    links = {
        Role.DEVELOPER: (False, False),
        Role.FINANCE: (True, False),
        Role.ACCOUNT_MANAGER: (True, True),
        Role.ADMIN: (True, True),
    }
    for role, (health, context) in links.items():
        html = login(members[role]).get(page("work_list", org)).content.decode()
        assert (page("transition_health", org) in html) is health, role
        assert (page("undocumented_context", org) in html) is context, role


# --- a fixed number of queries -------------------------------------------------------
def _seed_people(org, today, n: int) -> None:
    for i in range(n):
        person = MembershipFactory(organization=org, user__username=f"p{n}-{i}")
        client = ClientFactory(organization=org, name=f"Client {n}-{i}")
        for _ in range(2):
            ticket = resolved_ticket(org, today, assignee=person, client=client)
            entry(org, today, person=person, ticket=ticket, notes="", late_by=1)
            entry(org, today, person=person, ticket=ticket, days_ago=9, late_by=6)
        risk(org, client, person)


def _queries(fetch) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = fetch()
    assert response.status_code == 200
    return len([q for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]])


@pytest.mark.parametrize("name", ["undocumented_context", "transition_health"])
def test_the_pages_take_the_same_number_of_queries_at_2_and_at_20_people(
    login, admin_member, org, today, name
):
    browser = login(admin_member)
    counts = []
    for n in (2, 18):
        _seed_people(org, today, n)
        counts.append(_queries(lambda: browser.get(page(name, org))))
    assert counts[0] == counts[1]


@pytest.mark.parametrize("path", ["undocumented-context", "transition-health"])
def test_the_api_lists_take_the_same_number_of_queries_at_2_and_at_20_people(
    api, admin_member, org, today, django_assert_max_num_queries, path
):
    client = api(admin_member)
    counts = []
    for n in (2, 18):
        _seed_people(org, today, n)
        counts.append(_queries(lambda: client.get(f"/api/v1/{path}/?page_size=50")))
    assert counts[0] == counts[1]
    with django_assert_max_num_queries(counts[1]):
        assert client.get(f"/api/v1/{path}/?page_size=50").json()["count"] >= 20
