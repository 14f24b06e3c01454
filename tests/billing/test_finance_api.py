"""Finance API: billing periods (review, lock, unlock, export), the
exceptions that block them and what finance does about each, saved drafts
and lines, adjustments and draft runs. The role matrix (finance and admins
act, account managers read their own clients, developers nothing), 409 for
a locked period and a stale version, 400 with the field, a fixed number of
queries per list."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from billing.models import (
    Adjustment,
    BillingPeriod,
    DraftRun,
    ExceptionFlag,
    InvoiceDraft,
    InvoiceLine,
    PeriodEvent,
    ReviewItem,
)
from billing.services.periods import period_lock
from msops.tenancy.models import Role
from tests.billing.exports_data import AMOUNTS, AUGUST, month_of_work, undecided_work
from tests.billing.finance_helpers import MONTH
from tests.factories import ClientFactory, ContractFactory, MembershipFactory, TicketFactory
from tickets.models import TimeEntry

D = Decimal
ROLES = [Role.DEVELOPER, Role.ACCOUNT_MANAGER, Role.FINANCE, Role.ADMIN]
ACTORS = {Role.FINANCE, Role.ADMIN}
# A token lookup and its last-used stamp are 2 of every call; a list of
# periods is then its count, its page, its drafts and its history.
PERIOD_LIST_BUDGET = 6
LINE_LIST_BUDGET = 4


def api_url(name, **kwargs):
    return reverse(f"api:{name}", kwargs=kwargs or None)


def fresh(obj):
    with scopes_disabled():
        obj.refresh_from_db()
    return obj


@pytest.fixture
def month(org, developer, account_manager):
    """The exports' month (September 2025) for a client the account manager
    manages; its period is open with its drafts saved."""
    return month_of_work(org, developer, account_manager=account_manager, name="Acme")


@pytest.fixture
def locked(month, finance):
    with scopes_disabled():
        period_lock(period=month.period, actor=finance)
    fresh(month.period)
    return month


def someone_elses_period(org, month=MONTH):
    """A period of a client another account manager manages."""
    other = MembershipFactory(organization=org, role=Role.ACCOUNT_MANAGER)
    client = ClientFactory(organization=org, name="Globex", account_manager=other)
    with scopes_disabled():
        return BillingPeriod.objects.create(organization=org, client=client, month=month)


# --- reading periods -----------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
def test_finance_admins_and_account_managers_read_periods_developers_do_not(
    api, members, month, role
):
    client = api(members[role])
    listing = client.get(api_url("billing-period-list"))
    detail = client.get(api_url("billing-period-detail", pk=month.period.pk))
    if role == Role.DEVELOPER:
        assert (listing.status_code, detail.status_code) == (403, 403)
        return
    assert listing.status_code == 200 and detail.status_code == 200
    ids = [row["id"] for row in listing.json()["results"]]
    assert month.period.pk in ids and month.august.pk in ids


def test_a_period_shows_its_drafts_totals_and_what_blocks_it(api, finance, month):
    body = api(finance).get(api_url("billing-period-detail", pk=month.period.pk)).json()
    assert body["client"] == month.client.pk and body["client_name"] == "Acme"
    assert body["month"] == "2025-09" and body["status"] == "open" and body["version"] == 1
    (draft,) = body["drafts"]
    assert draft["currency"] == "EUR" and draft["total"] == "72.08"
    assert body["blocking_exceptions"] == 0 and body["events"] == []
    listing = api(finance).get(api_url("billing-period-list")).json()["results"]
    row = next(r for r in listing if r["id"] == month.period.pk)
    assert row["blocking_exceptions"] is None and row["drafts"] == body["drafts"]


def test_an_account_manager_reads_only_the_periods_of_their_own_clients(
    api, org, account_manager, month
):
    theirs = someone_elses_period(org)
    client = api(account_manager)
    ids = {row["id"] for row in client.get(api_url("billing-period-list")).json()["results"]}
    assert ids == {month.period.pk, month.august.pk}
    assert client.get(api_url("billing-period-detail", pk=theirs.pk)).status_code == 404
    assert client.get(api_url("billing-period-exceptions", pk=theirs.pk)).status_code == 404
    lines = client.get(api_url("invoice-line-list")).json()["results"]
    assert {row["period"] for row in lines} == {month.period.pk}
    drafts = client.get(api_url("invoice-draft-list")).json()["results"]
    assert {row["period"] for row in drafts} == {month.period.pk}


def test_periods_filter_by_month_status_and_client(api, org, finance, month):
    theirs = someone_elses_period(org, month=datetime.date(2025, 10, 1))
    client = api(finance)

    def ids(**params):
        response = client.get(api_url("billing-period-list"), params)
        assert response.status_code == 200, response.json()
        return {row["id"] for row in response.json()["results"]}

    assert ids(month="2025-09") == {month.period.pk}
    assert ids(month="2025-08-17") == {month.august.pk}
    assert ids(status="locked") == {month.august.pk}
    assert ids(status=["open", "locked"]) == {month.period.pk, month.august.pk, theirs.pk}
    assert ids(client=theirs.client_id) == {theirs.pk}
    assert ids(month_from="2025-09") == {month.period.pk, theirs.pk}
    for month in ("September", "9999-12", "1899-12"):
        bad = client.get(api_url("billing-period-list"), {"month": month})
        assert bad.status_code == 400 and "month" in bad.json()["fields"], month


@pytest.mark.parametrize("rows", [2, 50])
def test_the_period_list_costs_the_same_queries_at_2_and_50_rows(
    api, org, finance, django_assert_max_num_queries, rows
):
    clients = [ClientFactory(organization=org, name=f"Client {i}") for i in range(rows)]
    with scopes_disabled():
        for c in clients:
            period = BillingPeriod.objects.create(organization=org, client=c, month=MONTH)
            InvoiceDraft.objects.create(organization=org, period=period, currency="EUR")
            PeriodEvent.objects.create(
                organization=org, period=period, action="review_started", actor=finance
            )
    client = api(finance)
    with django_assert_max_num_queries(PERIOD_LIST_BUDGET):
        response = client.get(api_url("billing-period-list"), {"page_size": 100})
    assert len(response.json()["results"]) == rows


# --- acting on periods: the role matrix ----------------------------------------------------
@pytest.mark.parametrize("role", [Role.DEVELOPER, Role.ACCOUNT_MANAGER])
@pytest.mark.parametrize(
    "name,data",
    [
        ("billing-period-start-review", {}),
        ("billing-period-lock", {}),
        ("billing-period-unlock", {"reason": "Wrong rate"}),
        ("billing-period-export", {"format": "xero"}),
        ("billing-period-exception-classify", {"classification": "billable"}),
        ("billing-period-exception-write-off", {"reason": "Goodwill"}),
        ("billing-period-exception-send-back", {"note": "Please decide"}),
        ("billing-period-exception-resolve-flag", {"note": "Fine"}),
    ],
)
def test_developers_and_account_managers_may_not_act_on_a_period(
    api, members, month, role, name, data
):
    before = fresh(month.period).version
    response = api(members[role]).post(api_url(name, pk=month.period.pk), data)
    assert response.status_code == 403
    assert fresh(month.period).version == before and month.period.status == "open"


@pytest.mark.parametrize("role", ROLES)
def test_only_finance_and_admins_start_a_review(api, members, month, role):
    response = api(members[role]).post(api_url("billing-period-start-review", pk=month.period.pk))
    if role not in ACTORS:
        assert response.status_code == 403
        return
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "in_review" and body["version"] == 2
    assert body["review_started_by"] == members[role].pk
    assert [e["action"] for e in body["events"]] == ["review_started"]


@pytest.mark.parametrize("role", [Role.FINANCE, Role.ADMIN])
def test_finance_and_admins_lock_a_month_nothing_blocks(api, members, month, role):
    response = api(members[role]).post(api_url("billing-period-lock", pk=month.period.pk))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "locked" and body["locked_by"] == members[role].pk
    assert body["locked_by_name"] == members[role].user.username
    assert body["blocking_exceptions"] == 0 and body["drafts"][0]["total"] == "72.08"
    with scopes_disabled():
        assert TimeEntry.objects.filter(ticket__client=month.client, locked=False).count() == 0


def test_a_lock_is_refused_with_400_while_exceptions_block_it(api, finance, developer, month):
    undecided_work(month.client.organization, month.client, month.contract, developer)
    response = api(finance).post(api_url("billing-period-lock", pk=month.period.pk))
    assert response.status_code == 400
    assert "1 exception still blocks this month" in response.json()["fields"]["status"][0]
    assert fresh(month.period).status == "open"


def test_locking_a_locked_period_answers_409(api, finance, locked):
    response = api(finance).post(api_url("billing-period-lock", pk=locked.period.pk))
    assert response.status_code == 409
    assert "is locked" in response.json()["fields"]["status"][0]


@pytest.mark.parametrize("name", ["billing-period-start-review", "billing-period-lock"])
def test_a_stale_version_answers_409_with_the_period_as_it_is_now(api, finance, month, name):
    client = api(finance)
    client.post(api_url("billing-period-start-review", pk=month.period.pk), {"version": 1})
    response = client.post(api_url(name, pk=month.period.pk), {"version": 1})
    assert response.status_code == 409
    body = response.json()
    assert body["current"]["version"] == 2 and body["current"]["status"] == "in_review"
    assert fresh(month.period).status == "in_review"


def test_a_version_that_is_not_a_number_is_a_400_on_the_field(api, finance, month):
    response = api(finance).post(
        api_url("billing-period-lock", pk=month.period.pk), {"version": "two"}
    )
    assert response.status_code == 400 and "version" in response.json()["fields"]


def test_the_current_version_is_accepted(api, finance, month):
    response = api(finance).post(
        api_url("billing-period-start-review", pk=month.period.pk), {"version": 1}
    )
    assert response.status_code == 200 and response.json()["version"] == 2


@pytest.mark.parametrize("role", ROLES)
def test_only_an_admin_unlocks_and_says_why(api, members, locked, role):
    url = api_url("billing-period-unlock", pk=locked.period.pk)
    response = api(members[role]).post(url, {"reason": "Wrong rate on #12"})
    if role != Role.ADMIN:
        assert response.status_code == 403
        assert fresh(locked.period).status == "locked"
        return
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "in_review"
    with scopes_disabled():
        event = PeriodEvent.objects.get(period=locked.period, action="unlocked")
    assert event.note == "Wrong rate on #12" and event.actor == members[role]


def test_an_unlock_without_a_reason_is_a_400_on_the_field(api, admin_member, locked):
    url = api_url("billing-period-unlock", pk=locked.period.pk)
    assert "reason" in api(admin_member).post(url, {}).json()["fields"]
    response = api(admin_member).post(url, {"reason": "   "})
    assert response.status_code == 400 and "reason" in response.json()["fields"]
    assert fresh(locked.period).status == "locked"


# --- locked months refuse changes with 409 -------------------------------------------------
def test_logging_time_into_a_locked_month_through_the_api_answers_409(api, developer, locked):
    ticket = locked.tickets["t2"]
    response = api(developer).post(
        api_url("time-entry-list"),
        {"ticket": ticket.pk, "work_date": "2025-09-15", "minutes": 30},
    )
    assert response.status_code == 409
    assert "locked" in str(response.json())
    with scopes_disabled():
        assert not TimeEntry.objects.filter(ticket=ticket, work_date="2025-09-15").exists()
    open_month = api(developer).post(
        api_url("time-entry-list"),
        {"ticket": ticket.pk, "work_date": "2025-10-15", "minutes": 30},
    )
    assert open_month.status_code == 201


def test_changing_an_entry_of_a_locked_month_through_the_api_answers_409(api, admin_member, locked):
    entry = locked.entries["t2"]
    url = api_url("time-entry-detail", pk=entry.pk)
    assert api(admin_member).patch(url, {"minutes": 10}).status_code == 409
    assert api(admin_member).delete(url).status_code == 409
    assert fresh(entry).minutes == 90


def test_exception_actions_on_a_locked_period_answer_409(api, finance, locked):
    period = locked.period.pk
    ticket = locked.tickets["t1"].pk
    client = api(finance)
    classify = client.post(
        api_url("billing-period-exception-classify", pk=period),
        {"ticket": ticket, "classification": "included", "reason": "x"},
    )
    write_off = client.post(
        api_url("billing-period-exception-write-off", pk=period),
        {"ticket": ticket, "reason": "Goodwill"},
    )
    send_back = client.post(
        api_url("billing-period-exception-send-back", pk=period),
        {"to": finance.pk, "note": "Why?"},
    )
    assert (classify.status_code, write_off.status_code, send_back.status_code) == (
        409,
        409,
        409,
    )


# --- exceptions ----------------------------------------------------------------------------
def test_the_exceptions_of_a_period_name_ticket_minutes_owner_actions_and_key(
    api, account_manager, developer, month
):
    ticket, _ = undecided_work(month.client.organization, month.client, month.contract, developer)
    response = api(account_manager).get(api_url("billing-period-exceptions", pk=month.period.pk))
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    (row,) = body["results"]
    assert row["kind"] == "undecided" and row["label"] == "Time without a decision"
    assert row["ticket"] == ticket.pk and row["ticket_number"] == ticket.number
    assert row["minutes"] == 45 and row["key"] == f"undecided:{ticket.pk}"
    assert row["owner"] == account_manager.pk
    assert row["owner_name"] == account_manager.user.username
    assert row["actions"] == ["classify", "write_off", "send_back"]
    assert row["detail"] == f"45 min on #{ticket.number} Waiting for a decision"
    detail = api(account_manager).get(api_url("billing-period-detail", pk=month.period.pk))
    assert detail.json()["blocking_exceptions"] == 1


def test_finance_classifies_waiting_time_and_the_exception_is_gone(api, finance, developer, month):
    ticket, _ = undecided_work(month.client.organization, month.client, month.contract, developer)
    response = api(finance).post(
        api_url("billing-period-exception-classify", pk=month.period.pk),
        {"ticket": ticket.pk, "classification": "billable", "reason": "Client asked"},
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["action"] == "classify" and body["exceptions"] == {"count": 0, "results": []}
    assert api(finance).post(api_url("billing-period-lock", pk=month.period.pk)).status_code == 200


def test_finance_writes_waiting_time_off_with_a_reason(api, finance, developer, month):
    ticket, _ = undecided_work(month.client.organization, month.client, month.contract, developer)
    url = api_url("billing-period-exception-write-off", pk=month.period.pk)
    missing = api(finance).post(url, {"ticket": ticket.pk})
    assert missing.status_code == 400 and "reason" in missing.json()["fields"]
    done = api(finance).post(url, {"ticket": ticket.pk, "reason": "Our mistake"})
    assert done.status_code == 200 and done.json()["exceptions"]["count"] == 0


def test_finance_sends_a_question_back_to_the_member_who_owns_it(api, finance, developer, month):
    ticket, _ = undecided_work(month.client.organization, month.client, month.contract, developer)
    response = api(finance).post(
        api_url("billing-period-exception-send-back", pk=month.period.pk),
        {"to": developer.pk, "note": "Included or billable?", "ticket": ticket.pk,
         "key": f"undecided:{ticket.pk}"},
    )  # fmt: skip
    assert response.status_code == 200, response.json()
    with scopes_disabled():
        item = ReviewItem.objects.get(pk=response.json()["object_id"])
    assert item.kind == ReviewItem.Kind.SENT_BACK and item.owner == developer
    assert item.note == "Included or billable?" and item.ticket == ticket
    assert response.json()["exceptions"]["count"] == 1  # still blocks until decided


def test_finance_resolves_a_flag_with_a_note(api, finance, month):
    ticket = month.tickets["t2"]
    with scopes_disabled():
        flag = ExceptionFlag.objects.create(
            organization=month.client.organization,
            kind=ExceptionFlag.Kind.OVER_EXPECTED,
            subject_key=f"ticket:{ticket.pk}",
            ticket=ticket,
            client=month.client,
            detail="90 min against 60 expected",
        )
    exceptions = api(finance).get(api_url("billing-period-exceptions", pk=month.period.pk))
    assert [r["key"] for r in exceptions.json()["results"]] == [f"flag:{flag.pk}"]
    url = api_url("billing-period-exception-resolve-flag", pk=month.period.pk)
    assert "note" in api(finance).post(url, {"flag": flag.pk}).json()["fields"]
    response = api(finance).post(url, {"flag": flag.pk, "note": "Agreed with the client"})
    assert response.status_code == 200 and response.json()["exceptions"]["count"] == 0
    assert fresh(flag).status == "resolved"


def test_exception_actions_refuse_bad_input_with_a_400_on_the_field(
    api, org, other_org, finance, month
):
    url = api_url("billing-period-exception-classify", pk=month.period.pk)
    client = api(finance)
    foreign = TicketFactory(organization=other_org)
    elsewhere = TicketFactory(organization=org)  # our ticket, another client
    ticket = month.tickets["t1"].pk
    cases = [
        ({"classification": "billable"}, "ticket"),
        ({"ticket": foreign.pk, "classification": "billable"}, "ticket"),
        ({"ticket": elsewhere.pk, "classification": "billable"}, "ticket"),
        ({"ticket": ticket, "classification": "maybe"}, "classification"),
        ({"ticket": ticket, "classification": "unclear"}, "classification"),
    ]
    for data, field in cases:
        response = client.post(url, data)
        assert response.status_code == 400, (data, response.status_code)
        assert field in response.json()["fields"], (data, response.json())


# --- export --------------------------------------------------------------------------------
def test_exporting_a_locked_period_returns_the_csv_and_records_who_and_when(api, finance, locked):
    before = timezone.now()
    response = api(finance).post(
        api_url("billing-period-export", pk=locked.period.pk), {"format": "xero"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="acme-2025-09-xero.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [D(r["*Quantity"]) * D(r["*UnitAmount"]) for r in rows] == AMOUNTS
    period = fresh(locked.period)
    assert period.status == "exported" and period.exported_by == finance
    assert before <= period.exported_at <= timezone.now()
    with scopes_disabled():
        event = PeriodEvent.objects.get(period=period, action="exported")
    assert event.actor == finance


def test_each_export_is_recorded(api, finance, admin_member, locked):
    url = api_url("billing-period-export", pk=locked.period.pk)
    assert api(finance).post(url, {"format": "quickbooks"}).status_code == 200
    assert api(admin_member).post(url, {"format": "entries"}).status_code == 200
    with scopes_disabled():
        actors = list(
            PeriodEvent.objects.filter(period=locked.period, action="exported")
            .order_by("at", "pk")
            .values_list("actor", flat=True)
        )
    assert actors == [finance.pk, admin_member.pk]
    assert fresh(locked.period).exported_by == admin_member


def test_the_json_export_is_the_period_with_its_drafts_lines_and_sources(api, finance, locked):
    response = api(finance).post(
        api_url("billing-period-export", pk=locked.period.pk), {"format": "json"}
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == "exported" and body["period"]["exported_by"] == "fin-ours"
    assert body["client"] == {"id": locked.client.pk, "name": "Acme"}
    (draft,) = body["drafts"]
    assert draft["total"] == "72.08" and len(draft["lines"]) == 6
    assert draft["lines"][3]["sources"]["entries"] == [locked.entries["t2"].pk]


def test_the_entries_export_is_one_row_per_portion(api, finance, locked):
    response = api(finance).post(
        api_url("billing-period-export", pk=locked.period.pk), {"format": "entries"}
    )
    assert 'filename="acme-2025-09-time-entries.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert sorted(int(r["Minutes"]) for r in rows) == [25, 30, 60, 90]
    assert {r["Notes"] for r in rows} >= {"'=cmd|' /C calc'!A0", "'-2+3"}


def test_an_open_period_is_not_exported(api, finance, month):
    response = api(finance).post(
        api_url("billing-period-export", pk=month.period.pk), {"format": "xero"}
    )
    assert response.status_code == 400 and "status" in response.json()["fields"]
    assert fresh(month.period).status == "open" and month.period.exported_at is None


def test_an_unknown_export_format_is_a_400_on_the_field(api, finance, locked):
    url = api_url("billing-period-export", pk=locked.period.pk)
    response = api(finance).post(url, {"format": "sage"})
    assert response.status_code == 400 and "format" in response.json()["fields"]
    assert fresh(locked.period).status == "locked"


# --- drafts and lines ----------------------------------------------------------------------
def test_a_line_shows_its_sources_and_the_page_that_explains_it(api, org, finance, month):
    lines = api(finance).get(api_url("invoice-line-list"), {"period": month.period.pk})
    rows = lines.json()["results"]
    assert [D(r["amount"]) for r in rows] == AMOUNTS
    line = month.lines()[3]
    body = api(finance).get(api_url("invoice-line-detail", pk=line.pk)).json()
    assert body["kind"] == "time" and body["amount"] == "142.50" and body["quantity"] == "1.5000"
    assert body["ticket"] == month.tickets["t2"].pk
    assert body["ticket_number"] == month.tickets["t2"].number
    assert body["sources"]["entries"] == [month.entries["t2"].pk]
    assert body["sources"]["top_ups"] == [] and len(body["sources"]) == 11
    assert body["sources"]["portion_minutes"] == {}  # no portion is split
    path = reverse("billing:finance_line", kwargs={"org": org.slug, "pk": line.pk})
    assert body["explain"] == f"http://testserver{path}"
    assert rows[3] == body


def test_lines_filter_by_kind_and_drafts_by_period(api, finance, month):
    client = api(finance)
    kinds = client.get(api_url("invoice-line-list"), {"kind": ["time", "adjustment"]})
    assert [r["amount"] for r in kinds.json()["results"]] == ["39.58", "142.50", "-120.00"]
    drafts = client.get(api_url("invoice-draft-list"), {"period": month.period.pk}).json()
    (draft,) = drafts["results"]
    assert draft["total"] == "72.08" and draft["line_count"] == 6 and draft["month"] == "2025-09"


@pytest.mark.parametrize("rows", [2, 50])
def test_the_line_list_costs_the_same_queries_at_2_and_50_rows(
    api, org, finance, django_assert_max_num_queries, rows
):
    client_row = ClientFactory(organization=org)
    with scopes_disabled():
        period = BillingPeriod.objects.create(organization=org, client=client_row, month=MONTH)
        draft = InvoiceDraft.objects.create(organization=org, period=period, currency="EUR")
        ticket = TicketFactory(organization=org, client=client_row)
        InvoiceLine.objects.bulk_create(
            InvoiceLine(
                organization=org, draft=draft, period=period, position=i, kind="time",
                description=f"Line {i}", ticket=ticket, currency="EUR", amount=D("1.00"),
            )
            for i in range(rows)
        )  # fmt: skip
    api_client = api(finance)
    with django_assert_max_num_queries(LINE_LIST_BUDGET):
        response = api_client.get(api_url("invoice-line-list"), {"page_size": 100})
    assert len(response.json()["results"]) == rows


# --- adjustments ---------------------------------------------------------------------------
def test_finance_corrects_a_locked_period_with_an_adjustment_in_the_next_open_one(
    api, finance, locked
):
    response = api(finance).post(
        api_url("adjustment-list"),
        {"corrects": locked.period.pk, "description": "Double-billed call",
         "amount": "-45.50", "reason": "Logged twice", "contract": locked.contract.pk},
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["amount"] == "-45.50" and body["month"] == "2025-10"
    assert body["corrects"] == locked.period.pk and body["corrects_month"] == "2025-09"
    assert body["created_by"] == finance.pk and body["currency"] == "EUR"
    with scopes_disabled():
        adjustment = Adjustment.objects.get(pk=body["id"])
        assert adjustment.period.status == "open" and adjustment.amount == D("-45.50")
    assert fresh(locked.period).status == "locked"


def test_an_adjustment_to_an_open_period_or_without_a_reason_is_a_400_on_the_field(
    api, other_org, finance, month, locked
):
    url = api_url("adjustment-list")
    client = api(finance)
    base = {"corrects": locked.period.pk, "description": "x", "amount": "10.00", "reason": "y"}
    foreign = ClientFactory(organization=other_org)
    foreign_contract = ContractFactory(organization=other_org, client=foreign)
    open_period = someone_elses_period(month.client.organization, month=AUGUST)
    cases = [
        ({**base, "corrects": open_period.pk}, "corrects"),
        ({**base, "reason": ""}, "reason"),
        ({**base, "amount": "ten"}, "amount"),
        ({**base, "amount": "0"}, "amount"),
        ({**base, "contract": foreign_contract.pk}, "contract"),
        ({**base, "corrects": 10**9}, "corrects"),
    ]
    for data, field in cases:
        response = client.post(url, data)
        assert response.status_code == 400, (data, response.status_code)
        assert field in response.json()["fields"], (data, response.json())
    with scopes_disabled():
        assert not Adjustment.objects.exclude(pk=locked.adjustment.pk).exists()


@pytest.mark.parametrize("role", ROLES)
def test_only_finance_and_admins_create_adjustments(api, members, locked, role):
    response = api(members[role]).post(
        api_url("adjustment-list"),
        {"corrects": locked.period.pk, "description": "x", "amount": "5.00", "reason": "y"},
    )
    assert response.status_code == (201 if role in ACTORS else 403)
    listing = api(members[role]).get(api_url("adjustment-list"))
    assert listing.status_code == (403 if role == Role.DEVELOPER else 200)


# --- draft runs ----------------------------------------------------------------------------
def test_finance_starts_a_months_draft_run_and_polls_its_progress(
    api, org, finance, month, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api(finance).post(api_url("draft-run-list"), {"month": "2025-09"})
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["month"] == "2025-09" and body["started_by"] == finance.pk
    polled = api(finance).get(api_url("draft-run-detail", pk=body["id"])).json()
    assert polled["status"] == "done" and polled["percent"] == 100
    assert polled["done"] == polled["total"] >= 1


def test_a_draft_run_already_going_is_returned_instead_of_a_second(api, finance):
    first = api(finance).post(api_url("draft-run-list"), {"month": "2025-09-14"}).json()
    second = api(finance).post(api_url("draft-run-list"), {"month": "2025-09"}).json()
    assert first["id"] == second["id"] and first["status"] == "queued"
    with scopes_disabled():
        assert DraftRun.objects.count() == 1


@pytest.mark.parametrize("role", ROLES)
def test_only_finance_and_admins_start_draft_runs(api, members, role):
    response = api(members[role]).post(api_url("draft-run-list"), {"month": "2025-09"})
    assert response.status_code == (202 if role in ACTORS else 403)


def test_a_draft_run_needs_a_month(api, finance):
    for data in ({}, {"month": "soon"}, {"month": "2025-13"}, {"month": "9999-12"},
                 {"month": "1899-12-31"}):  # fmt: skip
        response = api(finance).post(api_url("draft-run-list"), data)
        assert response.status_code == 400 and "month" in response.json()["fields"], data
    with scopes_disabled():
        assert not DraftRun.objects.exists()


# --- other organizations -------------------------------------------------------------------
def test_another_organizations_period_is_a_404(api, stranger, locked):
    client = api(stranger)
    for name in ("billing-period-detail", "billing-period-exceptions"):
        assert client.get(api_url(name, pk=locked.period.pk)).status_code == 404
    export = client.post(api_url("billing-period-export", pk=locked.period.pk), {"format": "json"})
    assert export.status_code == 404 and fresh(locked.period).status == "locked"
    assert client.get(api_url("billing-period-list")).json()["results"] == []
