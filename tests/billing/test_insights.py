"""The insights page, its CSV and its API: each series worked out by hand on
a small world, who sees which clients, links that lead to the records
behind each number, a flat query count and bad input."""

import csv
import datetime
import html
import io
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from billing.models import (
    BillingDecision,
    DecisionLogEntry,
    ExceptionFlag,
    ReviewItem,
    ReviewQueue,
)
from billing.selectors.insights import insights
from clients.models import Client, Contract, Treatment
from tests.billing.finance_helpers import MONTH, Status, contract_of, on, ticket_of, work
from tests.factories import (
    BillingMomentFactory,
    ClientFactory,
    MembershipFactory,
    RequestTypeFactory,
    ScopeRuleFactory,
    TicketFactory,
)
from tickets.models import BillingMoment
from transitions.models import ClientBrief

D = Decimal
SEPTEMBER = {"from": "2025-09", "to": "2025-09"}
OCTOBER = datetime.date(2025, 10, 1)


def url(name, org, **kwargs):
    return reverse(name, kwargs={"org": org.slug, **kwargs})


def text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def at(day: int, hour: int = 12) -> datetime.datetime:
    return datetime.datetime(2025, 9, day, hour, tzinfo=datetime.UTC)


@pytest.fixture
def world(org, account_manager, developer):
    """September 2025 (organization in EUR, Europe/Amsterdam).

    Acme (the account manager's): a monthly retainer in EUR, 600 min included,
    95.00/h. Request types Mail, Report (excluded by Acme's rule), Server.
      - W: "Mail is down" (Mail) 3 Sep 120 min included           → allowance
      - W: "Monthly report" (Report, rule: excluded) 10 Sep 55 min included
           → excluded not billed: 55 × 95.00 / 60 = 87.0833 → EUR 87.08
      - V: "Server slow" (Server) 12 Sep 45 min included under a decision
           answering "expected time passed" → absorbed: 45 × 95 / 60 = EUR 71.25
      - V: "Server slow" 15 Sep 30 min written off → 30 × 95 / 60 = EUR 47.50
      - W: "Mail is down" 2 Oct 60 min included: outside the range.
      Leakage EUR Sep: 47.50 + 71.25 + 87.08 = EUR 205.83.
      Allowance: 600 min; used 120 + 55 + 45 = 220 min (the write-off
      counts against no allowance) → 36 % (220 × 100 // 600).
    Beta (nobody's): time and materials in USD at 100.00/h. Request type
    Other (catch-all), Printer.
      - W: "Printer jam" (Printer) 5 Sep 90 min written off → USD 150.00
      - W: "Misc" (Other, catch-all) 6 Sep 30 min billable
      Catch-all: 30 of 120 min = 25.0 %, one catch_all flag (20 Sep).

    Questions: Acme — an unclear decision on Mail (4 Sep), an override on
    Report (10 Sep), a rejected scope check on Server (11 Sep), a review item
    about "Mail is down" (week of 8 Sep): 1 + 1 + 1 + 1 = 4. Beta — a client
    declined on Printer (7 Sep), a review item about the client (no ticket):
    2. Per type: Mail 2 (unclear, review item), Report 1, Server 1, Printer 1.

    Late entries: flags on W's Mail entry and both of V's entries. W: 4
    entries in Sep (Mail, Report, Printer, Misc), 1 late = 25.0 %; V: 2
    entries, 2 late = 100.0 %. For the account manager (Acme's work only):
    W 2 entries, 1 late = 50.0 %.

    Concentration: Acme 120 + 55 + 45 + 30 = 250 min, W logged 175 → 70.0 %,
    no brief (stale). Beta 120 min all by W → 100.0 %, brief reviewed today
    (current).
    """
    w = MembershipFactory(organization=org, user__username="wendy", user__first_name="Wendy")
    v = MembershipFactory(organization=org, user__username="victor", user__first_name="Victor")
    acme = ClientFactory(organization=org, name="Acme", account_manager=account_manager)
    retainer = contract_of(
        org, Contract.Kind.RETAINER, client=acme, included_minutes=600, hourly_rate=D("95.00")
    )
    mail_type = RequestTypeFactory(organization=org, name="Mail")
    report_type = RequestTypeFactory(organization=org, name="Report")
    server_type = RequestTypeFactory(organization=org, name="Server")
    ScopeRuleFactory(
        organization=org, contract=retainer, request_type=report_type,
        treatment=Treatment.EXCLUDED, effective_from=retainer.starts_on,
    )  # fmt: skip
    mail = TicketFactory(
        organization=org, client=acme, contract=retainer, request_type=mail_type,
        title="Mail is down",
    )  # fmt: skip
    report = TicketFactory(
        organization=org, client=acme, contract=retainer, request_type=report_type,
        title="Monthly report",
    )  # fmt: skip
    server = TicketFactory(
        organization=org, client=acme, contract=retainer, request_type=server_type,
        title="Server slow",
    )  # fmt: skip
    moment = BillingMomentFactory(ticket=server, kind=BillingMoment.Kind.EXPECTED_TIME_PASSED)
    with scopes_disabled():
        absorbed = BillingDecision.objects.create(
            organization=org, ticket=server, moment=moment, classification="included",
            suggested_classification="included", decided_by=account_manager,
            decided_at=at(12),
        )  # fmt: skip
    mail_entry = work(mail, w, on(3), 120)
    work(report, w, on(10), 55)
    server_entry = work(server, v, on(12), 45, decision=absorbed)
    off_entry = work(server, v, on(15), 30, Status.NON_BILLABLE)
    work(mail, w, OCTOBER.replace(day=2), 60)

    beta = ClientFactory(organization=org, name="Beta")
    tm = contract_of(
        org, Contract.Kind.TIME_AND_MATERIALS, client=beta, currency="USD",
        hourly_rate=D("100.00"),
    )  # fmt: skip
    other = RequestTypeFactory(organization=org, name="Other", is_catch_all=True)
    printer_type = RequestTypeFactory(organization=org, name="Printer")
    printer = TicketFactory(
        organization=org, client=beta, contract=tm, request_type=printer_type, title="Printer jam"
    )
    misc = TicketFactory(
        organization=org, client=beta, contract=tm, request_type=other, title="Misc"
    )
    work(printer, w, on(5), 90, Status.NON_BILLABLE)
    work(misc, w, on(6), 30, Status.BILLABLE)

    with scopes_disabled():
        BillingDecision.objects.create(
            organization=org, ticket=mail, classification="unclear",
            suggested_classification="included", decided_by=w, decided_at=at(4),
        )  # fmt: skip
        log = {
            "override": (DecisionLogEntry.Kind.RULE_OVERRIDDEN, acme, report, 10),
            "rejected": (DecisionLogEntry.Kind.SCOPE_CHECK_REJECTED, acme, server, 11),
            "declined": (DecisionLogEntry.Kind.CLIENT_DECLINED, beta, printer, 7),
        }
        for key, (kind, client, ticket, day) in log.items():
            DecisionLogEntry.objects.create(
                organization=org, kind=kind, client=client, ticket=ticket,
                summary=f"The {key} of {ticket.title}", created_at=at(day),
            )  # fmt: skip
        queue = ReviewQueue.objects.create(organization=org, week_start=datetime.date(2025, 9, 8))
        ReviewItem.objects.create(
            organization=org, queue=queue, kind=ReviewItem.Kind.UNCLEAR_DECISION,
            subject_key=f"ticket:{mail.pk}", ticket=mail, reason="Unclear: Mail is down",
        )  # fmt: skip
        ReviewItem.objects.create(
            organization=org, queue=queue, kind=ReviewItem.Kind.MISSING_BILLING_NOTES,
            subject_key=f"client:{beta.pk}", client=beta, reason="Beta has no billing notes",
        )  # fmt: skip
        ExceptionFlag.objects.create(
            organization=org, kind=ExceptionFlag.Kind.CATCH_ALL, subject_key=f"ticket:{misc.pk}",
            ticket=misc, client=beta, detail="Work logged under the catch-all type Other",
            created_at=at(20),
        )  # fmt: skip
        for entry, client in ((mail_entry, acme), (server_entry, acme), (off_entry, acme)):
            ExceptionFlag.objects.create(
                organization=org, kind=ExceptionFlag.Kind.LATE_ENTRY,
                subject_key=f"entry:{entry.pk}", ticket=entry.ticket, client=client,
                detail=f"Work of {entry.work_date} entered late (#{entry.pk})",
            )  # fmt: skip
        ClientBrief.objects.create(
            organization=org, client=beta, summary="Beta's printers.", reviewed_at=timezone.now()
        )
    return {"acme": acme, "beta": beta, "w": w, "v": v, "mail_type": mail_type}


def report_for(org, viewer):
    with scopes_disabled():
        return insights(organization=org, start=MONTH, end=OCTOBER, viewer=viewer)


# --- the figures ------------------------------------------------------------------
def test_finance_sees_every_series_worked_out_by_hand(org, finance, world):
    report = report_for(org, finance)
    eur, usd = report.leakage
    assert (eur.month, eur.currency, usd.currency) == (MONTH, "EUR", "USD")
    assert eur.cells["written_off"].amount == D("47.50")
    assert eur.cells["absorbed"].amount == D("71.25")
    assert eur.cells["excluded"].amount == D("87.08")
    assert eur.total == D("205.83")
    assert (eur.cells["written_off"].minutes, eur.cells["absorbed"].minutes) == (30, 45)
    assert usd.cells["written_off"].amount == D("150.00") and usd.total == D("150.00")

    (allowance,) = report.allowance
    assert (allowance.client, allowance.allowance_minutes, allowance.used_minutes) == (
        "Acme", 600, 220,
    )  # fmt: skip
    assert allowance.percent == 36

    acme_q, beta_q = report.questions_by_client
    assert (acme_q.name, acme_q.total, beta_q.name, beta_q.total) == ("Acme", 4, "Beta", 2)
    assert acme_q.counts == {"unclear": 1, "overrides": 1, "rejected": 1, "review_items": 1}
    assert beta_q.counts == {"unclear": 0, "overrides": 0, "rejected": 1, "review_items": 1}
    by_type = {r.name: r.total for r in report.questions_by_type}
    assert by_type == {"Mail": 2, "Report": 1, "Server": 1, "Printer": 1}

    (catch_all,) = report.catch_all
    assert (catch_all.client, catch_all.minutes, catch_all.catch_all_minutes) == ("Beta", 120, 30)
    assert (catch_all.share, catch_all.flags) == (D("25.0"), 1)

    late = {r.person: (r.entries, r.late, r.share) for r in report.late_entries}
    assert late == {"Victor": (2, 2, D("100.0")), "Wendy": (4, 1, D("25.0"))}

    concentration = {r.client: (r.minutes, r.person, r.person_minutes, r.share) for r in
                     report.concentration}  # fmt: skip
    assert concentration == {
        "Acme": (250, "Wendy", 175, D("70.0")),
        "Beta": (120, "Wendy", 120, D("100.0")),
    }


def test_an_account_manager_sees_only_their_own_clients(org, account_manager, world):
    report = report_for(org, account_manager)
    assert [(r.currency, r.total) for r in report.leakage] == [("EUR", D("205.83"))]
    assert [r.client for r in report.allowance] == ["Acme"]
    assert [r.name for r in report.questions_by_client] == ["Acme"]
    assert {r.name for r in report.questions_by_type} == {"Mail", "Report", "Server"}
    assert report.catch_all == []
    late = {r.person: (r.entries, r.late) for r in report.late_entries}
    assert late == {"Victor": (2, 2), "Wendy": (2, 1)}
    assert [r.client for r in report.concentration] == ["Acme"]


# --- the page ---------------------------------------------------------------------
def table_rows(body: str, name: str) -> list[list[str]]:
    start = body.index(f'data-testid="insights-table-{name}"')
    table = body[start : body.index("</table>", start)]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    return [
        [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in
         re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in rows
    ][1:]  # fmt: skip


def link_in(body: str, name: str, text_: str, contains: str = "") -> str:
    """The href of the link reading ``text_`` (its href holding ``contains``)
    in series ``name``'s table."""
    start = body.index(f'data-testid="insights-table-{name}"')
    table = body[start : body.index("</table>", start)]
    for href, label in re.findall(r'<a href="([^"]+)">([^<]*)</a>', table):
        if html.unescape(label).strip() == text_ and contains in html.unescape(href):
            return html.unescape(href)
    raise AssertionError(f"No link {text_!r} in {name}")


def test_the_page_shows_a_chart_and_its_table_per_series(login, org, finance, world):
    response = login(finance).get(url("billing:insights", org), SEPTEMBER)
    assert response.status_code == 200
    body = response.content.decode()
    for canvas in ("chart-leakage-EUR", "chart-leakage-USD", "chart-allowance",
                   "chart-questions-by-client", "chart-questions-by-type", "chart-catch-all",
                   "chart-late-entries", "chart-concentration"):  # fmt: skip
        assert f'<canvas id="{canvas}" role="img" aria-label=' in body
    assert 'id="insights-data"' in body and "chart-4.6.2.umd.min.js" in body
    assert table_rows(body, "leakage") == [
        ["2025-09", "EUR", "EUR 47.50", "EUR 71.25", "EUR 87.08", "EUR 205.83", "0:00"],
        ["2025-09", "USD", "USD 150.00", "USD 0.00", "USD 0.00", "USD 150.00", "0:00"],
    ]
    assert table_rows(body, "allowance") == [["Acme", "10:00", "3:40", "36 %"]]
    assert table_rows(body, "concentration") == [
        ["Beta", "2:00", "Wendy", "2:00", "100.0 %", "Current"],
        ["Acme", "4:10", "Wendy", "2:55", "70.0 %", "Stale"],
    ]
    assert '<th scope="col">Month</th>' in body and "<caption>" in body
    assert "<script>" not in body and " style=" not in body


def test_the_chart_library_loads_only_on_the_insights_page(login, org, finance, world):
    response = login(finance).get(url("billing:flag_list", org))
    assert "chart-4.6.2" not in response.content.decode()


def test_the_nav_links_insights_for_money_readers_only(login, org, members, world):
    for role, member in members.items():
        body = login(member).get(url("billing:flag_list", org)).content.decode()
        assert ('data-testid="nav-insights"' in body) == (role != "developer")


def test_a_developer_is_refused(login, org, developer, api, world):
    assert login(developer).get(url("billing:insights", org)).status_code == 403
    assert (
        login(developer).get(url("billing:insights_csv", org), {"series": "leakage"}).status_code
        == 403
    )
    assert api(developer).get("/api/v1/insights/").status_code == 403


def test_the_page_defaults_to_the_last_twelve_months(login, org, finance, world):
    response = login(finance).get(url("billing:insights", org))
    assert response.status_code == 200
    today = timezone.localdate()
    assert f'value="{today:%Y-%m}"' in response.content.decode()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2025-13", "to": "2025-12"}, "from"),
        ({"from": "2025-01", "to": "nope"}, "to"),
        ({"from": "2025-12", "to": "2025-01"}, "from"),
        ({"from": "2020-01", "to": "2025-01"}, "to"),
        ({"from": "10000-01"}, "from"),
    ],
)
def test_a_bad_month_is_a_400_naming_the_field(login, api, org, finance, world, query, field):
    page = login(finance).get(url("billing:insights", org), query)
    assert page.status_code == 400
    assert f'id="insights-{field}-error"' in page.content.decode()
    response = api(finance).get("/api/v1/insights/", query)
    assert response.status_code == 400
    assert field in str(response.json())
    csv_response = login(finance).get(
        url("billing:insights_csv", org), {**query, "series": "leakage"}
    )
    assert csv_response.status_code == 400 and field in csv_response.content.decode()


def test_an_unknown_series_is_a_400_naming_the_field(login, api, org, finance):
    response = login(finance).get(url("billing:insights_csv", org), {"series": "nope"})
    assert response.status_code == 400 and "series" in response.content.decode()
    response = api(finance).get("/api/v1/insights/", {"series": "nope"})
    assert response.status_code == 400 and "series" in response.json()["fields"]


# --- links lead to the records ----------------------------------------------------
def test_each_series_links_to_the_records_behind_its_numbers(login, org, finance, world):
    client = login(finance)
    body = client.get(url("billing:insights", org), SEPTEMBER).content.decode()

    leakage = client.get(link_in(body, "leakage", "EUR 205.83"))
    assert leakage.status_code == 200 and 'data-client="Acme"' in leakage.content.decode()

    tickets = text(client.get(link_in(body, "allowance", "3:40")))
    assert "Mail is down" in tickets and "Monthly report" in tickets
    assert "Printer jam" not in tickets

    overrides = text(client.get(link_in(body, "questions_by_client", "1", "kind=rule_overridden")))
    assert "The override of Monthly report" in overrides
    assert "The rejected of Server slow" not in overrides

    mail_type = link_in(body, "questions_by_type", "2")
    assert f"request_type={world['mail_type'].pk}" in mail_type
    of_type = text(client.get(mail_type))
    assert "Mail is down" in of_type and "Monthly report" not in of_type

    catch_all = client.get(link_in(body, "catch_all", "1"))
    page = text(catch_all)
    assert "1 flag" in page and "catch-all type Other" in page

    late = text(client.get(link_in(body, "late_entries", "2", "late_entry")))  # Victor's two
    assert "2 flags" in late
    server_entries = [e for e in re.findall(r"#(\d+)\)", late)]
    assert len(server_entries) == 2

    brief = client.get(link_in(body, "concentration", "Stale"))
    assert brief.status_code == 200 and "Acme" in text(brief)


def test_the_csv_holds_the_tables_numbers(login, org, finance, world):
    client = login(finance)
    response = client.get(url("billing:insights_csv", org), {**SEPTEMBER, "series": "leakage"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "insights-leakage-2025-09_2025-09.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["Month", "Currency", "Written off"]
    assert rows[1:] == [
        ["2025-09", "EUR", "47.50", "71.25", "87.08", "205.83", "0"],
        ["2025-09", "USD", "150.00", "0.00", "0.00", "150.00", "0"],
    ]
    late = client.get(url("billing:insights_csv", org), {**SEPTEMBER, "series": "late_entries"})
    assert list(csv.reader(io.StringIO(late.content.decode())))[1:] == [
        ["Victor", "2", "2", "100.0"],
        ["Wendy", "4", "1", "25.0"],
    ]
    body = client.get(url("billing:insights", org), SEPTEMBER).content.decode()
    assert table_rows(body, "late_entries") == [
        ["Victor", "2", "2", "100.0 %"],
        ["Wendy", "4", "1", "25.0 %"],
    ]


# --- the API ----------------------------------------------------------------------
def test_the_api_answers_every_series_and_one(api, org, account_manager, finance, world):
    data = api(finance).get("/api/v1/insights/", SEPTEMBER).json()
    assert (data["from_month"], data["to_month"]) == ("2025-09", "2025-09")
    eur = data["leakage"][0]
    assert (eur["currency"], eur["written_off"], eur["absorbed"], eur["excluded"]) == (
        "EUR", "47.50", "71.25", "87.08",
    )  # fmt: skip
    assert eur["total"] == "205.83" and data["leakage"][1]["total"] == "150.00"
    assert data["allowance"][0]["percent"] == 36
    stale = {r["client_name"]: r["brief_stale"] for r in data["concentration"]}
    assert stale == {"Acme": True, "Beta": False}
    one = api(account_manager).get("/api/v1/insights/", {**SEPTEMBER, "series": "leakage"}).json()
    assert set(one) == {"from_month", "to_month", "leakage"}
    assert [r["currency"] for r in one["leakage"]] == ["EUR"]
    assert reverse("api:insights-list") == "/api/v1/insights/"


def test_another_organizations_figures_never_show(api, org, stranger, world):
    data = api(stranger).get("/api/v1/insights/", SEPTEMBER).json()
    assert all(data[k] == [] for k in data if k not in ("from_month", "to_month"))


# --- a flat query count -----------------------------------------------------------
def _queries(org, viewer) -> int:
    with scopes_disabled(), CaptureQueriesContext(connection) as ctx:
        insights(organization=org, start=MONTH, end=OCTOBER, viewer=viewer)
    return len(ctx.captured_queries)


def test_the_query_count_does_not_grow_with_the_tickets(org, finance, account_manager, world):
    def more(n):
        person = MembershipFactory(organization=org)
        client = ClientFactory(organization=org, account_manager=account_manager)
        contract = contract_of(org, Contract.Kind.RETAINER, client=client, included_minutes=60)
        for i in range(n):
            work(ticket_of(client, f"Extra {i}", contract), person, on(1 + i % 28), 15)

    more(3)
    few = (_queries(org, finance), _queries(org, account_manager))
    more(27)
    assert (_queries(org, finance), _queries(org, account_manager)) == few


def test_the_csv_neutralises_names_that_would_run_as_formulas(login, org, finance, world):
    with scopes_disabled():
        Client.objects.filter(organization=org, name="Acme").update(name="=HYPERLINK(1)")
    client = login(finance)
    response = client.get(url("billing:insights_csv", org), {**SEPTEMBER, "series": "allowance"})
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    names = [row[0] for row in rows[1:]]
    assert "'=HYPERLINK(1)" in names and "=HYPERLINK(1)" not in names
    # numbers stay numbers
    assert all(not cell.startswith("'") for row in rows[1:] for cell in row[1:])


def test_one_series_is_computed_alone(org, finance, world):
    with scopes_disabled(), CaptureQueriesContext(connection) as every:
        insights(organization=org, start=MONTH, end=OCTOBER, viewer=finance)
    with scopes_disabled(), CaptureQueriesContext(connection) as one:
        report = insights(
            organization=org, start=MONTH, end=OCTOBER, viewer=finance, only="late_entries"
        )
    assert report.late_entries and not report.leakage and not report.concentration
    assert len(one.captured_queries) < len(every.captured_queries)
