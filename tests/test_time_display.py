"""One way to show time: every time people read is in the practice's timezone,
through msops.display, and pages name the zone once. Texts built in SQL (flag
details, review reasons) read the same on PostgreSQL and on SQLite, and the
late-entry flag counts the practice's days on both. The API's datetimes stay
ISO 8601 in UTC."""

import datetime
import zoneinfo
from unittest import mock

import pytest
from django.core import mail
from django.db import connection, transaction
from django.urls import reverse
from django_scopes import scopes_disabled
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from billing.flags import flags_check_ticket, flags_sweep
from billing.models import DecisionLogEntry, ExceptionFlag, ReviewItem, ScopeCheck
from billing.services import (
    ScopeCheckRequest,
    decision_record,
    scope_check_ask_client,
    scope_check_client_link,
)
from billing.services.review import review_queue_build
from clients.models import Treatment
from msops.display import local_date, local_date_sql, local_time, local_time_sql
from msops.sql import table
from msops.tenancy.models import ApiToken
from msops.tenancy.scoping import activate_organization
from tests.factories import (
    ClientFactory,
    ContractFactory,
    ContractRevisionFactory,
    RequestTypeFactory,
    ScopeRuleFactory,
    SLATargetFactory,
    TimeEntryFactory,
    token_for,
)
from tickets.models import Ticket
from tickets.services import ticket_open

UTC = datetime.UTC
MOMENT = datetime.datetime(2026, 11, 26, 0, 3, tzinfo=UTC)  # 01:03 in Amsterdam
LABEL = "Times in Europe/Amsterdam."


def at(moment: datetime.datetime):
    """Run as if it were ``moment``."""
    return mock.patch("django.utils.timezone.now", return_value=moment)


def body(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def practice(org):
    org.timezone = "Europe/Amsterdam"
    org.late_entry_days = 3
    org.save(update_fields=["timezone", "late_entry_days"])
    return org


@pytest.fixture
def world(practice, account_manager, developer):
    """Acme on a contract with an SLA; new features need approval."""
    account_manager.user.email = "am@example.com"
    account_manager.user.save()
    client = ClientFactory(organization=practice, name="Acme", account_manager=account_manager)
    contract = ContractFactory(
        organization=practice, client=client, starts_on=datetime.date(2025, 1, 1)
    )
    ContractRevisionFactory(organization=practice, contract=contract)
    SLATargetFactory(contract=contract, first_response_minutes=60)
    feature = RequestTypeFactory(organization=practice, name="New feature")
    ScopeRuleFactory(
        organization=practice,
        contract=contract,
        request_type=feature,
        treatment=Treatment.NEEDS_APPROVAL,
        expected_minutes=240,
    )
    with activate_organization(practice):
        ticket = ticket_open(
            organization=practice,
            opened_by=developer,
            client=client,
            request_type=feature,
            title="Monthly sales report",
            assignee=developer,
            opened_at=MOMENT,
        )
    return {"client": client, "ticket": ticket}


def ask_for_approval(ticket: Ticket, developer, account_manager) -> ScopeCheck:
    ticket.refresh_from_db()
    decision_record(
        ticket=ticket,
        actor=developer,
        classification="needs_approval",
        version=ticket.version,
        reason="A new report",
        scope_check=ScopeCheckRequest(estimate_minutes=240),
    )
    return ScopeCheck.objects.get(ticket=ticket)


def flag_detail(ticket: Ticket, kind: str) -> str:
    return ExceptionFlag.objects.get(ticket=ticket, kind=kind).detail


# --- the helper ---------------------------------------------------------------------------
def test_a_time_reads_in_the_practices_timezone_to_the_minute(practice):
    assert local_time(MOMENT, practice) == "2026-11-26 01:03"
    assert local_time(MOMENT, practice, with_zone=True) == "2026-11-26 01:03 (Europe/Amsterdam)"
    summer = datetime.datetime(2026, 7, 25, 22, 30, tzinfo=UTC)
    assert local_time(summer, practice) == "2026-07-26 00:30"  # CEST, two hours ahead


def test_a_date_is_the_practices_day(practice):
    late_evening = datetime.datetime(2026, 11, 25, 23, 30, tzinfo=UTC)
    assert local_date(late_evening, practice) == "2026-11-26"
    practice.timezone = "America/New_York"
    assert local_date(datetime.datetime(2026, 11, 26, 3, 0, tzinfo=UTC), practice) == "2026-11-25"


ZONES = ["Europe/Amsterdam", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe", "UTC"]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    moment=st.datetimes(
        min_value=datetime.datetime(2000, 1, 1), max_value=datetime.datetime(2040, 1, 1)
    ),
    zone=st.sampled_from(ZONES),
)
# Amsterdam's clocks go forward and back at 01:00 UTC; Lord Howe's by half an hour.
@example(moment=datetime.datetime(2026, 3, 29, 0, 59, 59), zone="Europe/Amsterdam")
@example(moment=datetime.datetime(2026, 3, 29, 1, 0), zone="Europe/Amsterdam")
@example(moment=datetime.datetime(2026, 10, 25, 0, 59, 59), zone="Europe/Amsterdam")
@example(moment=datetime.datetime(2026, 10, 25, 1, 0), zone="Europe/Amsterdam")
@example(moment=datetime.datetime(2026, 10, 3, 15, 30), zone="Australia/Lord_Howe")
def test_the_database_writes_times_and_days_as_python_does(world, moment, zone):
    """On PostgreSQL and on SQLite, daylight saving time included."""
    moment = moment.replace(tzinfo=UTC, microsecond=0)
    practice = world["ticket"].organization
    practice.timezone = zone
    ticket = world["ticket"]
    time_sql, time_params = local_time_sql("t.opened_at", practice, with_zone=True)
    date_sql, date_params = local_date_sql("t.opened_at", practice)
    with scopes_disabled(), transaction.atomic():
        Ticket.objects.filter(pk=ticket.pk).update(opened_at=moment)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {time_sql}, CAST({date_sql} AS TEXT) FROM {table(Ticket)} t"  # noqa: S608
                " WHERE t.id = %s",
                [*time_params, *date_params, ticket.pk],
            )
            assert cursor.fetchone() == (
                local_time(moment, practice, with_zone=True),
                local_date(moment, practice),
            )
        transaction.set_rollback(True)


# --- texts built in SQL -------------------------------------------------------------------
def test_an_sla_flag_says_when_it_was_due_in_the_practices_time(world):
    ticket = world["ticket"]
    with scopes_disabled():
        Ticket.objects.filter(pk=ticket.pk).update(first_response_due=MOMENT)
    with activate_organization(world["client"].organization), at(MOMENT + datetime.timedelta(1)):
        flags_check_ticket(organization=ticket.organization, ticket_id=ticket.pk)
        kind = ExceptionFlag.Kind.SLA_RESPONSE_BREACHED
        assert flag_detail(ticket, kind) == "First response due 2026-11-26 01:03 (Europe/Amsterdam)"


@pytest.mark.parametrize(
    "work_date,entered_at,entered_on",
    [
        # 23:30 UTC on the 25th is 00:30 on the 26th in Amsterdam (CET).
        ("2026-11-20", datetime.datetime(2026, 11, 25, 23, 30, tzinfo=UTC), "2026-11-26"),
        # In summer (CEST) the practice's day starts two hours before UTC's.
        ("2026-07-20", datetime.datetime(2026, 7, 25, 22, 30, tzinfo=UTC), "2026-07-26"),
    ],
)
def test_a_late_entry_says_the_practices_day_it_was_entered(
    world, developer, work_date, entered_at, entered_on
):
    ticket = world["ticket"]
    entry = TimeEntryFactory(
        ticket=ticket,
        person=developer,
        work_date=datetime.date.fromisoformat(work_date),
        entered_at=entered_at,
    )
    with activate_organization(ticket.organization):
        flags_sweep(organization=ticket.organization)
        flag = ExceptionFlag.objects.get(kind=ExceptionFlag.Kind.LATE_ENTRY)
    assert flag.subject_key == f"entry:{entry.pk}"
    assert flag.detail == f"Work of {work_date} entered on {entered_on}"


def test_lateness_counts_the_practices_days(world, developer):
    """Work of the 22nd entered at 23:30 UTC on the 25th: three days later in
    UTC, four in Amsterdam, where it was already the 26th — late."""
    ticket = world["ticket"]
    TimeEntryFactory(
        ticket=ticket,
        person=developer,
        work_date=datetime.date(2026, 11, 22),
        entered_at=datetime.datetime(2026, 11, 25, 23, 30, tzinfo=UTC),
    )
    TimeEntryFactory(  # 22:30 UTC is still the 25th in Amsterdam: three days, on time
        ticket=ticket,
        person=developer,
        work_date=datetime.date(2026, 11, 22),
        entered_at=datetime.datetime(2026, 11, 25, 22, 30, tzinfo=UTC),
    )
    with activate_organization(ticket.organization):
        flags_sweep(organization=ticket.organization)
        details = list(
            ExceptionFlag.objects.filter(kind=ExceptionFlag.Kind.LATE_ENTRY).values_list(
                "detail", flat=True
            )
        )
    assert details == ["Work of 2026-11-22 entered on 2026-11-26"]


def test_a_stale_scope_check_in_the_review_says_the_practices_day(
    world, developer, account_manager
):
    ticket = world["ticket"]
    with activate_organization(ticket.organization):
        check = ask_for_approval(ticket, developer, account_manager)
        ScopeCheck.objects.filter(pk=check.pk).update(
            created_at=datetime.datetime(2026, 11, 25, 23, 30, tzinfo=UTC)
        )
        review_queue_build(
            organization=ticket.organization, now=MOMENT + datetime.timedelta(days=3)
        )
        item = ReviewItem.objects.get(kind=ReviewItem.Kind.STALE_SCOPE_CHECK)
    assert item.reason == f"Scope check on #{ticket.number} waiting since 2026-11-26"


# --- texts built in Python ----------------------------------------------------------------
def test_the_client_email_names_the_timezone_of_the_links_expiry(
    world, developer, account_manager, django_capture_on_commit_callbacks
):
    ticket = world["ticket"]
    mail.outbox.clear()
    with activate_organization(ticket.organization), at(MOMENT):
        check = ask_for_approval(ticket, developer, account_manager)
        with django_capture_on_commit_callbacks(execute=True):
            scope_check_ask_client(
                check=check,
                actor=account_manager,
                client_email="cto@client.example",
                link_url=lambda token: f"https://msops.example/c/{token}",
            )
    (email,) = [m for m in mail.outbox if m.to == ["cto@client.example"]]
    # Asked at 01:03 on the 26th, Amsterdam time; the link lasts seven days.
    assert "the link works once, until 2026-12-03 01:03 (Europe/Amsterdam):" in email.body


def test_the_clients_answer_reads_in_the_practices_time(client, world, developer, account_manager):
    ticket = world["ticket"]
    with activate_organization(ticket.organization), at(MOMENT):
        check = scope_check_ask_client(
            check=ask_for_approval(ticket, developer, account_manager),
            actor=account_manager,
            client_email="cto@client.example",
            link_url=lambda token: token,
        )
    url = reverse(
        "public:client_scope_check", kwargs={"token": scope_check_client_link(check=check)}
    )
    with at(MOMENT):
        page = body(client.get(url))
        assert (
            'expires 2026-12-03 01:03 <span data-testid="time-zone">(Europe/Amsterdam)</span>'
            in page
        )
        page = body(client.post(url, {"name": "Carla CTO", "answer": "decline"}))
    assert 'on 2026-11-26 01:03 <span data-testid="time-zone">(Europe/Amsterdam)</span>' in page
    with activate_organization(ticket.organization):
        ticket.refresh_from_db()
        decision = ticket.decisions.order_by("-pk").first()
        assert decision.reason == (
            "Client declined the change (Carla CTO) on 2026-11-26 01:03 (Europe/Amsterdam)."
        )


# --- pages ----------------------------------------------------------------------------------
def test_the_ticket_page_shows_local_times_and_names_the_zone_once(login, world, developer):
    ticket = world["ticket"]
    url = reverse("tickets:ticket_detail", kwargs={"org": "ours", "number": ticket.number})
    page = body(login(developer).get(url))
    assert "opened 2026-11-26 01:03" in page
    assert page.count(LABEL) == 1 and "UTC" not in page


def test_the_flag_list_shows_local_times_and_names_the_zone_once(login, world, account_manager):
    ticket = world["ticket"]
    with scopes_disabled():
        Ticket.objects.filter(pk=ticket.pk).update(first_response_due=MOMENT)
    with activate_organization(ticket.organization), at(MOMENT + datetime.timedelta(hours=1)):
        flags_check_ticket(organization=ticket.organization, ticket_id=ticket.pk)
    page = body(login(account_manager).get(reverse("billing:flag_list", kwargs={"org": "ours"})))
    assert "2026-11-26 02:03" in page  # when the flag was raised
    assert "First response due 2026-11-26 01:03 (Europe/Amsterdam)" in page
    assert page.count(LABEL) == 1 and "UTC" not in page


def test_the_token_list_shows_local_times_and_names_the_zone_once(login, practice, developer):
    token_for(developer)
    with scopes_disabled():
        ApiToken.objects.filter(membership=developer).update(
            created_at=MOMENT, last_used_at=MOMENT + datetime.timedelta(hours=1)
        )
    page = body(login(developer).get(reverse("tenancy:api_token_list", kwargs={"org": "ours"})))
    assert "<td>2026-11-26 01:03</td>" in page and "<td>2026-11-26 02:03</td>" in page
    assert page.count(LABEL) == 1 and "UTC" not in page


def test_the_decision_log_shows_local_times_and_names_the_zone_once(
    login, world, developer, account_manager
):
    ticket = world["ticket"]
    with activate_organization(ticket.organization), at(MOMENT):
        check = scope_check_ask_client(
            check=ask_for_approval(ticket, developer, account_manager),
            actor=account_manager,
            client_email="cto@client.example",
            link_url=lambda token: token,
        )
    with at(MOMENT):
        link = scope_check_client_link(check=check)
        url = reverse("public:client_scope_check", kwargs={"token": link})
        body(login(developer).post(url, {"name": "Carla CTO", "answer": "decline"}))
    with scopes_disabled():
        DecisionLogEntry.objects.update(created_at=MOMENT)
    log = reverse("billing:decision_log", kwargs={"org": "ours", "pk": world["client"].pk})
    page = body(login(account_manager).get(log))
    assert "<td>2026-11-26 01:03</td>" in page
    assert page.count(LABEL) == 1 and "UTC" not in page


def test_a_page_of_another_practice_names_its_own_zone(login, practice, developer):
    practice.timezone = "Asia/Tokyo"
    practice.save(update_fields=["timezone"])
    page = body(login(developer).get(reverse("tenancy:api_token_list", kwargs={"org": "ours"})))
    assert "Times in Asia/Tokyo." in page and LABEL not in page


# --- the API ----------------------------------------------------------------------------------
def test_the_api_keeps_its_datetimes_in_utc_and_its_texts_local(api, world, account_manager):
    ticket = world["ticket"]
    with scopes_disabled():
        Ticket.objects.filter(pk=ticket.pk).update(first_response_due=MOMENT)
    with activate_organization(ticket.organization), at(MOMENT + datetime.timedelta(hours=1)):
        flags_check_ticket(organization=ticket.organization, ticket_id=ticket.pk)
    with scopes_disabled():
        ExceptionFlag.objects.update(created_at=MOMENT)
    response = api(account_manager).get("/api/v1/flags/")
    assert response.status_code == 200
    (flag,) = response.json()["results"]
    assert flag["created_at"] == "2026-11-26T00:03:00Z"
    assert flag["detail"] == "First response due 2026-11-26 01:03 (Europe/Amsterdam)"


def test_the_organizations_zone_is_not_left_active_after_a_page(login, practice, developer):
    from django.utils import timezone

    login(developer).get(reverse("tenancy:api_token_list", kwargs={"org": "ours"}))
    assert timezone.get_current_timezone() == zoneinfo.ZoneInfo("UTC")
