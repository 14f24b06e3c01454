"""The finance pages: the month's pre-invoice review (exact money, who sees
which clients, the draft job's progress), a client's period (lines,
exceptions settled inline, lock, unlock, exports, adjustments), "explain
this line", a contract's usage, and what the home page shows.

Finance and admins act; account managers read their own clients' months;
developers get 403; another organization's rows are 404."""

import datetime
import html
import json
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from billing.models import (
    Adjustment,
    BillingDecision,
    BillingPeriod,
    DraftRun,
    ExceptionFlag,
    InvoiceDraft,
    InvoiceLine,
    PeriodEvent,
    ReviewItem,
)
from billing.services.periods import draft_run_execute, drafts_compute, period_get
from clients.models import Contract, Treatment
from msops.tenancy.models import Role
from tests.billing.allowance_data import allowance_crossed
from tests.billing.finance_helpers import MONTH, Status, contract_of, on, ticket_of, work
from tests.factories import (
    ClientFactory,
    MembershipFactory,
    ScopeRuleFactory,
    TimeEntryFactory,
)

HTMX = {"HX-Request": "true"}
# Measured with last month's drafts saved: the month page 20 (4 of every page,
# the live price of the month and its exceptions, the saved drafts); the
# period page 25 (+ its lines, events, contracts and the members to send back
# to). A budget only goes up with a reason in the commit.
MONTH_PAGE_BUDGET = 22
PERIOD_PAGE_BUDGET = 24
D = Decimal
AUGUST = datetime.date(2025, 8, 1)
OCTOBER = datetime.date(2025, 10, 1)


def url(name, org, **kwargs):
    return reverse(f"billing:{name}", kwargs={"org": org.slug, **kwargs})


def text(response) -> str:
    """The page as a reader sees it: no tags, one space between words."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def fresh(obj):
    with scopes_disabled():
        obj.refresh_from_db()
    return obj


@pytest.fixture
def world(org, account_manager, developer):
    """September 2025, organization in EUR, every member's time at 60.00/h:

    - Acme (account manager's): retainer, fee 2000.00, 10 h included, 120.00/h
      billable, time rounded up to 15 min. 2:00 h included, 0:50 h billable
      (charged 1:00 h = 120.00), 0:45 h without a decision (blocks).
      Draft 2120.00; cost 215.00; August: the fee alone, 2000.00.
    - Beta (nobody's): time and materials at 100.00/h as logged. 1:30 h
      billable = 150.00; cost 90.00; nothing in August. Ready.
    - Gamma: time and materials in USD at 100.00/h. 0:30 h = USD 50.00.
    """
    worker = MembershipFactory(organization=org, cost_rate=D("60.00"))
    acme = ClientFactory(organization=org, name="Acme", account_manager=account_manager)
    retainer = contract_of(
        org, Contract.Kind.RETAINER, client=acme, name="Acme retainer", fee=D("2000.00"),
        included_minutes=600, hourly_rate=D("120.00"), rounding_increment_minutes=15,
    )  # fmt: skip
    included = ticket_of(acme, "Mail is down", retainer)
    report = ticket_of(acme, "Monthly report export", retainer)
    waiting = ticket_of(acme, "VPN drops", retainer)
    rule = ScopeRuleFactory(
        organization=org,
        contract=retainer,
        request_type=report.request_type,
        treatment=Treatment.INCLUDED,
        expected_minutes=60,
        effective_from=retainer.starts_on,
    )
    with scopes_disabled():
        decision = BillingDecision.objects.create(
            organization=org,
            ticket=report,
            classification="billable",
            suggested_classification="included",
            reason="The client asked for a new export, not support.",
            decided_by=developer,
            overrides_rule=True,
        )
    work(included, worker, on(3), 120)
    work(report, worker, on(10), 50, Status.BILLABLE, decision=decision)
    work(waiting, worker, on(12), 45, Status.UNDECIDED)

    beta = ClientFactory(organization=org, name="Beta")
    tm = contract_of(org, Contract.Kind.TIME_AND_MATERIALS, client=beta, hourly_rate=D("100.00"))
    work(ticket_of(beta, "Printer", tm), worker, on(5), 90, Status.BILLABLE)

    gamma = ClientFactory(organization=org, name="Gamma")
    usd = contract_of(
        org, Contract.Kind.TIME_AND_MATERIALS, client=gamma, currency="USD",
        hourly_rate=D("100.00"),
    )  # fmt: skip
    work(ticket_of(gamma, "Laptop", usd), worker, on(8), 30, Status.BILLABLE)
    return {
        "acme": acme,
        "beta": beta,
        "gamma": gamma,
        "retainer": retainer,
        "report": report,
        "waiting": waiting,
        "decision": decision,
        "rule": rule,
        "worker": worker,
    }


def period_of(client, month=MONTH) -> BillingPeriod:
    with scopes_disabled():
        return period_get(client=client, month=month)


def row_of(body: str, client_name: str) -> str:
    """The month table's row of a client, as text."""
    start = body.index(f'data-client="{client_name}"')
    return body[start : body.index("</tr>", start)]


# --- the month's review ---------------------------------------------------------------------
def test_the_month_shows_each_clients_draft_change_margin_and_exceptions(
    login, org, finance, world
):
    response = login(finance).get(url("finance_month", org, month=MONTH))
    assert response.status_code == 200
    body = response.content.decode()
    acme = " ".join(row_of(body, "Acme").split())
    assert "EUR 2,120.00" in acme  # 2000.00 fee + 1:00 h × 120.00
    assert "+EUR 120.00" in acme  # against August's 2000.00
    assert "EUR 1,905.00" in acme and "(89.9 %)" in acme  # 2120.00 − 215.00
    assert "1 blocking" in acme
    beta = " ".join(row_of(body, "Beta").split())
    assert "EUR 150.00" in beta and "new" in beta  # nothing in August
    assert "EUR 60.00" in beta and "(40.0 %)" in beta  # 150.00 − 90.00
    assert "Ready" in beta
    gamma = " ".join(row_of(body, "Gamma").split())
    assert "USD 50.00" in gamma and "—" in gamma  # no margin outside EUR
    page = text(response)
    assert "3 clients · 2 ready · 1 blocked" in page
    assert "Total EUR EUR 2,270.00 +EUR 270.00 EUR 1,965.00 (86.6 %)" in page
    assert "Total USD USD 50.00" in page
    assert 'data-testid="compute-drafts"' in body


def test_the_month_compares_with_the_saved_draft_of_the_month_before(login, org, finance, world):
    """Last month's saved draft, not a live price, is what changed."""
    august = period_of(world["acme"], AUGUST)
    with scopes_disabled():
        drafts_compute(organization=org, month=AUGUST, client_ids=[world["acme"].pk])
        InvoiceDraft.objects.filter(period=august).update(total=D("2100.00"))
    response = login(finance).get(url("finance_month", org, month=MONTH))
    assert "+EUR 20.00" in " ".join(row_of(response.content.decode(), "Acme").split())


def test_finance_opens_the_current_month_without_naming_it(login, org, finance, world):
    response = login(finance).get(url("finance_current", org))
    assert response.status_code == 200
    assert "Pre-invoice review" in text(response)


def test_an_account_manager_reads_only_their_own_clients(login, org, account_manager, world):
    response = login(account_manager).get(url("finance_month", org, month=MONTH))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-client="Acme"' in body
    assert 'data-client="Beta"' not in body and 'data-client="Gamma"' not in body
    assert 'data-testid="compute-drafts"' not in body
    client = login(account_manager)
    assert client.post(url("finance_compute", org, month=MONTH)).status_code == 403
    beta = period_of(world["beta"])
    assert client.get(url("finance_period", org, pk=beta.pk)).status_code == 403
    acme = period_of(world["acme"])
    page = client.get(url("finance_period", org, pk=acme.pk))
    assert page.status_code == 200
    assert 'data-testid="lock"' not in page.content.decode()
    assert 'data-testid="classify-form"' not in page.content.decode()
    assert client.post(url("finance_period_lock", org, pk=acme.pk)).status_code == 403


def test_a_developer_has_no_access(login, org, developer, world):
    client = login(developer)
    period = period_of(world["acme"])
    assert client.get(url("finance_current", org)).status_code == 403
    assert client.get(url("finance_month", org, month=MONTH)).status_code == 403
    assert client.get(url("finance_period", org, pk=period.pk)).status_code == 403
    assert client.post(url("finance_compute", org, month=MONTH)).status_code == 403
    for name in (
        "finance_period_start_review", "finance_period_lock", "finance_period_unlock",
        "finance_period_export", "finance_adjustment_create", "finance_exception_classify",
        "finance_exception_write_off", "finance_exception_resolve_flag", "finance_send_back",
    ):  # fmt: skip
        assert client.post(url(name, org, pk=period.pk), {"blocker": "x"}).status_code == 403


def test_another_organizations_rows_are_404(login, org, other_org, stranger, world):
    period = period_of(world["acme"])
    with scopes_disabled():
        drafts_compute(organization=org, month=MONTH, client_ids=[world["acme"].pk])
        line = InvoiceLine.objects.filter(period=period).first()
    client = login(stranger)
    # Our organization's URL: not a member.
    assert client.get(url("finance_period", org, pk=period.pk)).status_code == 404
    # Their own organization's URL with our rows.
    assert client.get(url("finance_period", other_org, pk=period.pk)).status_code == 404
    assert client.get(url("finance_line", other_org, pk=line.pk)).status_code == 404
    assert client.get(url("contract_usage", other_org, pk=world["retainer"].pk)).status_code == 404
    assert (
        client.get(
            url("finance_client_month", other_org, month=MONTH, pk=world["acme"].pk)
        ).status_code
        == 404
    )
    assert client.post(url("finance_period_lock", other_org, pk=period.pk)).status_code == 404
    assert "Acme" not in text(client.get(url("finance_month", other_org, month=MONTH)))


def test_a_clients_month_goes_to_its_period_once_opened(login, org, finance, world):
    period = period_of(world["beta"])
    response = login(finance).get(
        url("finance_client_month", org, month=MONTH, pk=world["beta"].pk)
    )
    assert response.status_code == 302
    assert response["Location"] == url("finance_period", org, pk=period.pk)


@pytest.mark.parametrize("role", [Role.FINANCE, Role.ACCOUNT_MANAGER])
def test_reading_a_clients_month_before_its_period_is_opened_writes_nothing(
    login, org, members, world, role
):
    response = login(members[role]).get(
        url("finance_client_month", org, month=MONTH, pk=world["acme"].pk)
    )
    assert response.status_code == 200
    page = text(response)
    assert "This month's period is not opened yet" in page
    assert "Total EUR EUR 2,120.00" in page and "1 exception blocks the lock" in page
    body = response.content.decode()
    assert 'data-testid="classify-form"' not in body and 'data-testid="lock"' not in body
    assert ('data-testid="open-period"' in body) is (role == Role.FINANCE)
    with scopes_disabled():
        assert not BillingPeriod.objects.filter(month=MONTH).exists()


def test_finance_opens_a_clients_period_to_act_on_it(login, org, finance, account_manager, world):
    month_url = url("finance_client_month", org, month=MONTH, pk=world["acme"].pk)
    assert login(account_manager).post(month_url).status_code == 403
    with scopes_disabled():
        assert not BillingPeriod.objects.filter(month=MONTH).exists()
    response = login(finance).post(month_url)
    with scopes_disabled():
        period = BillingPeriod.objects.get(client=world["acme"], month=MONTH)
    assert response.status_code == 302
    assert response["Location"] == url("finance_period", org, pk=period.pk)
    assert login(finance).post(month_url)["Location"] == response["Location"]  # the same one


def test_the_month_pages_links_open_each_clients_month(login, org, finance, world):
    client = login(finance)
    body = client.get(url("finance_month", org, month=MONTH)).content.decode()
    link = url("finance_client_month", org, month=MONTH, pk=world["beta"].pk)
    assert f'href="{link}"' in body
    assert client.get(link).status_code == 200


@pytest.mark.parametrize("month", ["9999-12", "1899-12", "2025-13", "2025-00"])
def test_a_month_out_of_range_is_a_404(login, org, finance, world, month):
    client = login(finance)
    base = f"/o/{org.slug}/billing/finance/{month}/"
    assert client.get(base).status_code == 404
    assert client.get(f"{base}clients/{world['acme'].pk}/").status_code == 404
    assert client.post(f"{base}compute/").status_code == 404


def test_the_first_and_last_months_open_without_links_beyond_them(login, org, finance, world):
    client = login(finance)
    first = client.get(f"/o/{org.slug}/billing/finance/1900-01/")
    last = client.get(f"/o/{org.slug}/billing/finance/9998-12/")
    assert first.status_code == 200 and last.status_code == 200
    assert 'data-testid="previous-month"' not in first.content.decode()
    assert 'data-testid="next-month"' in first.content.decode()
    assert 'data-testid="next-month"' not in last.content.decode()
    assert 'data-testid="previous-month"' in last.content.decode()


@pytest.mark.parametrize("clients", [2, 50])
def test_the_month_page_has_a_fixed_query_budget(
    login, org, finance, clients, django_assert_max_num_queries
):
    worker = MembershipFactory(organization=org, cost_rate=D("50.00"))
    for i in range(clients):
        client = ClientFactory(
            organization=org, account_manager=MembershipFactory(organization=org)
        )
        contract = contract_of(org, Contract.Kind.RETAINER, client=client, fee=D("100.00"))
        work(ticket_of(client, f"Ticket {i}", contract), worker, on(2 + i % 20), 30)
        work(ticket_of(client, f"Waiting {i}", contract), worker, on(3), 15, Status.UNDECIDED)
    with scopes_disabled():
        drafts_compute(organization=org, month=AUGUST)
        for period in BillingPeriod.objects.filter(month=MONTH)[:1]:
            BillingPeriod.objects.filter(pk=period.pk).update(status="locked")
    client = login(finance)
    with django_assert_max_num_queries(MONTH_PAGE_BUDGET):
        response = client.get(url("finance_month", org, month=MONTH))
    assert response.content.decode().count('data-testid="month-row"') == clients


@pytest.mark.parametrize("tickets", [2, 50])
def test_the_period_page_has_a_fixed_query_budget(
    login, org, finance, tickets, django_assert_max_num_queries
):
    worker = MembershipFactory(organization=org, cost_rate=D("50.00"))
    client_obj = ClientFactory(
        organization=org, account_manager=MembershipFactory(organization=org)
    )
    contract = contract_of(org, Contract.Kind.RETAINER, client=client_obj, fee=D("100.00"))
    for i in range(tickets):
        work(ticket_of(client_obj, f"Billable {i}", contract), worker, on(2), 30, Status.BILLABLE)
        work(ticket_of(client_obj, f"Waiting {i}", contract), worker, on(3), 15, Status.UNCLEAR)
    period = period_of(client_obj)
    with scopes_disabled():
        drafts_compute(organization=org, month=MONTH)
    client = login(finance)
    with django_assert_max_num_queries(PERIOD_PAGE_BUDGET):
        response = client.get(url("finance_period", org, pk=period.pk))
    body = response.content.decode()
    assert body.count('data-testid="blocker"') == tickets
    assert body.count('data-testid="explain"') == tickets + 1  # and the fee


# --- the draft job --------------------------------------------------------------------------
def test_compute_all_drafts_shows_a_progress_bar_until_the_run_is_done(
    login, org, finance, world, django_capture_on_commit_callbacks
):
    client = login(finance)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(url("finance_compute", org, month=MONTH), headers=HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<progress" in body and 'hx-trigger="every 1s"' in body
    with scopes_disabled():
        run = DraftRun.objects.get(organization=org, month=MONTH)
    progress = url("finance_month", org, month=MONTH) + "?part=progress&was=running"
    polling = client.get(progress, headers=HTMX)
    assert 'hx-trigger="every 1s"' in polling.content.decode()
    assert "HX-Trigger" not in polling
    with scopes_disabled():
        draft_run_execute(organization=org, run_id=run.pk)
    done = client.get(progress, headers=HTMX)
    assert "every 1s" not in done.content.decode()
    assert "Drafts saved" in text(done) and "3 clients" in text(done)
    assert done["HX-Trigger"] == "drafts-computed"
    with scopes_disabled():
        assert InvoiceDraft.objects.filter(period__month=MONTH).count() == 3  # EUR×2, USD
    table = client.get(url("finance_month", org, month=MONTH) + "?part=table", headers=HTMX)
    assert 'id="month-table"' in table.content.decode() and "<html" not in table.content.decode()


def test_computing_refuses_an_account_manager_even_through_htmx(login, org, account_manager, world):
    response = login(account_manager).post(url("finance_compute", org, month=MONTH), headers=HTMX)
    assert response.status_code == 403


# --- a client's period ----------------------------------------------------------------------
def test_the_period_page_groups_lines_by_contract_with_totals_and_exceptions(
    login, org, finance, world
):
    period = period_of(world["acme"])
    response = login(finance).get(url("finance_period", org, pk=period.pk))
    assert response.status_code == 200
    page = text(response)
    assert "Acme retainer" in page
    assert "Retainer fee" in page and "EUR 2,000.00" in page
    assert "#" + str(world["report"].number) in page
    assert "1:00 h EUR 120.00/h EUR 120.00" in page  # billable: charged 1:00 h
    assert "Total EUR EUR 2,120.00" in page
    assert "1 exception blocks the lock" in page
    body = response.content.decode()
    assert body.count('data-testid="blocker"') == 1
    assert 'data-kind="undecided"' in body
    for form in ("classify-form", "write-off-form", "send-back-form"):
        assert f'data-testid="{form}"' in body
    assert "No draft is saved yet" in page  # so no line can be explained yet
    assert 'data-testid="explain"' not in body


def test_classifying_an_exception_inline_settles_it_and_saves_the_draft(login, org, finance, world):
    period = period_of(world["acme"])
    key = f"undecided:{world['waiting'].pk}"
    prefix = f"classify-undecided-{world['waiting'].pk}"
    response = login(finance).post(
        url("finance_exception_classify", org, pk=period.pk),
        {
            "blocker": key,
            f"{prefix}-ticket": world["waiting"].pk,
            f"{prefix}-classification": "included",
        },
        headers=HTMX,
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.startswith('\n<div id="period-main"') or 'id="period-main"' in body[:200]
    assert f"Classified included: #{world['waiting'].number}." in text(response)
    assert 'data-testid="blocker"' not in body
    assert "Nothing blocks September" in text(response)
    # The draft follows: each line can now be explained.
    assert body.count('data-testid="explain"') == body.count('data-testid="line"')
    with scopes_disabled():
        assert InvoiceDraft.objects.get(period=period).total == D("2120.00")


def test_bad_input_on_an_exception_is_a_form_error_in_place(login, org, finance, world):
    period = period_of(world["acme"])
    ticket = world["waiting"]
    key = f"undecided:{ticket.pk}"
    client = login(finance)
    # No classification chosen.
    response = client.post(
        url("finance_exception_classify", org, pk=period.pk),
        {"blocker": key, f"classify-undecided-{ticket.pk}-ticket": ticket.pk},
        headers=HTMX,
    )
    assert "Choose included or billable." in text(response)
    # A write-off without a reason; without htmx the page answers 400 with the error.
    response = client.post(
        url("finance_exception_write_off", org, pk=period.pk),
        {"blocker": key, f"write_off-undecided-{ticket.pk}-ticket": ticket.pk},
    )
    assert response.status_code == 400
    assert "A write-off needs a reason." in text(response)
    # Another client's ticket.
    other = ticket_of(world["beta"], "Not Acme's")
    response = client.post(
        url("finance_exception_classify", org, pk=period.pk),
        {
            "blocker": key,
            f"classify-undecided-{ticket.pk}-ticket": other.pk,
            f"classify-undecided-{ticket.pk}-classification": "billable",
        },
        headers=HTMX,
    )
    assert "The ticket is not this client's." in text(response)
    with scopes_disabled():
        assert not BillingDecision.objects.filter(ticket__in=[ticket, other]).exists()


def test_writing_off_an_exception_with_a_reason(login, org, finance, world):
    period = period_of(world["acme"])
    ticket = world["waiting"]
    prefix = f"write_off-undecided-{ticket.pk}"
    response = login(finance).post(
        url("finance_exception_write_off", org, pk=period.pk),
        {"blocker": f"undecided:{ticket.pk}", f"{prefix}-ticket": ticket.pk,
         f"{prefix}-reason": "Our VPN change caused it."},
        headers=HTMX,
    )  # fmt: skip
    assert f"Written off: #{ticket.number}." in text(response)
    assert 'data-kind="write_off"' in response.content.decode()
    with scopes_disabled():
        decision = BillingDecision.objects.get(ticket=ticket)
    assert decision.written_off and decision.reason == "Our VPN change caused it."


def test_sending_an_exception_back_reaches_the_owners_home(
    login, org, finance, account_manager, world
):
    period = period_of(world["acme"])
    ticket = world["waiting"]
    prefix = f"send_back-undecided-{ticket.pk}"
    page = login(finance).get(url("finance_period", org, pk=period.pk)).content.decode()
    # The question goes back to the one who can answer: here the account manager.
    assert f'<option value="{account_manager.pk}" selected>' in page
    response = login(finance).post(
        url("finance_send_back", org, pk=period.pk),
        {"blocker": f"undecided:{ticket.pk}", f"{prefix}-ticket": ticket.pk,
         f"{prefix}-to": account_manager.pk, f"{prefix}-note": "Included or billable?"},
        headers=HTMX,
    )  # fmt: skip
    assert "Sent back to" in text(response)
    with scopes_disabled():
        item = ReviewItem.objects.get(kind=ReviewItem.Kind.SENT_BACK)
    assert item.owner == account_manager and item.ticket == ticket
    home = login(account_manager).get(reverse("tenancy:organization_home", args=[org.slug]))
    assert 'data-testid="sent-back-count">1<' in home.content.decode()
    assert "Included or billable?" in text(home)


def test_sending_back_needs_a_note_and_a_member(login, org, finance, stranger, world):
    period = period_of(world["acme"])
    ticket = world["waiting"]
    prefix = f"send_back-undecided-{ticket.pk}"
    response = login(finance).post(
        url("finance_send_back", org, pk=period.pk),
        {"blocker": f"undecided:{ticket.pk}", f"{prefix}-ticket": ticket.pk,
         f"{prefix}-to": stranger.pk, f"{prefix}-note": ""},
        headers=HTMX,
    )  # fmt: skip
    page = text(response)
    assert "Choose a member of this organization." in page
    assert "Say what you need from them." in page
    with scopes_disabled():
        assert not ReviewItem.objects.exists()


def test_resolving_a_flag_inline(login, org, finance, world):
    with scopes_disabled():
        flag = ExceptionFlag.objects.create(
            organization=org,
            kind=ExceptionFlag.Kind.OVER_EXPECTED,
            subject_key=f"ticket:{world['report'].pk}",
            ticket=world["report"],
            client=world["acme"],
            detail="Logged 50 min; expected about 30 min",
        )
    period = period_of(world["acme"])
    client = login(finance)
    assert (
        'data-testid="resolve-flag-form"'
        in client.get(url("finance_period", org, pk=period.pk)).content.decode()
    )
    prefix = f"resolve_flag-flag-{flag.pk}"
    response = client.post(
        url("finance_exception_resolve_flag", org, pk=period.pk),
        {"blocker": f"flag:{flag.pk}", f"{prefix}-flag": flag.pk,
         f"{prefix}-note": "Agreed with the client"},
        headers=HTMX,
    )  # fmt: skip
    assert "Flag resolved." in text(response)
    assert f'data-key="flag:{flag.pk}"' not in response.content.decode()
    assert fresh(flag).status == ExceptionFlag.Status.RESOLVED


def test_lock_is_refused_with_the_reason_while_exceptions_block(login, org, finance, world):
    period = period_of(world["acme"])
    response = login(finance).post(
        url("finance_period_lock", org, pk=period.pk), {"version": period.version}, headers=HTMX
    )
    assert "Not locked: 1 exception still blocks this month (time without a decision)" in text(
        response
    )
    assert fresh(period).status == BillingPeriod.Status.OPEN


def test_a_ready_period_locks_then_explains_why_nothing_can_change(login, org, finance, world):
    period = period_of(world["beta"])
    client = login(finance)
    response = client.post(url("finance_period_start_review", org, pk=period.pk))
    assert response.status_code == 302
    assert fresh(period).status == BillingPeriod.Status.IN_REVIEW
    response = client.post(
        url("finance_period_lock", org, pk=period.pk), {"version": fresh(period).version},
        headers=HTMX,
    )  # fmt: skip
    assert "Beta 2025-09 is locked." in text(response)
    assert fresh(period).status == BillingPeriod.Status.LOCKED
    page = text(client.get(url("finance_period", org, pk=period.pk)))
    assert "This month is locked: nothing in it can change." in page
    assert "Only an admin can unlock it" in page
    assert "Review started" in page and "Locked" in page
    with scopes_disabled():
        actions = list(PeriodEvent.objects.filter(period=period).values_list("action", flat=True))
    assert actions == ["review_started", "locked"]


def test_a_locked_periods_actions_answer_with_the_lock(login, org, finance, world):
    period = period_of(world["acme"])
    with scopes_disabled():
        BillingPeriod.objects.filter(pk=period.pk).update(status=BillingPeriod.Status.LOCKED)
    ticket = world["waiting"]
    prefix = f"classify-undecided-{ticket.pk}"
    client = login(finance)
    response = client.post(
        url("finance_exception_classify", org, pk=period.pk),
        {"blocker": f"undecided:{ticket.pk}", f"{prefix}-ticket": ticket.pk,
         f"{prefix}-classification": "included"},
    )  # fmt: skip
    assert response.status_code == 400
    assert "The billing period 2025-09 of Acme is locked" in text(response)
    response = client.post(url("finance_period_lock", org, pk=period.pk), headers=HTMX)
    assert "The billing period 2025-09 of Acme is locked" in text(response)


def test_a_stale_version_is_refused(login, org, finance, world):
    period = period_of(world["beta"])
    response = login(finance).post(
        url("finance_period_start_review", org, pk=period.pk),
        {"version": period.version + 5},
        headers=HTMX,
    )
    assert "Someone changed this period since you opened it" in text(response)
    assert fresh(period).status == BillingPeriod.Status.OPEN


# --- exports, unlock, adjustments -----------------------------------------------------------
def _locked(org, finance, client_obj) -> BillingPeriod:
    from billing.services.periods import period_lock

    period = period_of(client_obj)
    with scopes_disabled():
        return period_lock(period=period, actor=finance)


def test_an_open_period_gives_no_file(login, org, finance, world):
    period = period_of(world["beta"])
    response = login(finance).post(
        url("finance_period_export", org, pk=period.pk), {"format": "xero"}
    )
    assert response.status_code == 400
    assert "Content-Disposition" not in response
    assert "Lock the period before exporting it" in text(response)
    assert fresh(period).status == BillingPeriod.Status.OPEN


@pytest.mark.parametrize(
    "fmt,filename,needles",
    [
        ("xero", "beta-2025-09-xero.csv", ["*ContactName", "Printer,1.5,100.00"]),
        ("quickbooks", "beta-2025-09-quickbooks.csv", ["Beta", "Printer", "150.00"]),
        ("json", "beta-2025-09.json", ['"total": "150.00"']),
        ("entries", "beta-2025-09-time-entries.csv", ["2025-09-05", "90"]),
    ],
)
def test_a_locked_period_downloads_and_records_the_export(
    login, org, finance, world, fmt, filename, needles
):
    period = _locked(org, finance, world["beta"])
    response = login(finance).post(url("finance_period_export", org, pk=period.pk), {"format": fmt})
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'
    content = response.content.decode()
    for needle in needles:
        assert needle in content
    if fmt == "json":
        assert json.loads(content)["period"]
    assert fresh(period).status == BillingPeriod.Status.EXPORTED
    with scopes_disabled():
        assert PeriodEvent.objects.filter(period=period, action="exported").count() == 1


def test_only_an_admin_unlocks_and_only_with_a_reason(login, org, finance, admin_member, world):
    period = _locked(org, finance, world["beta"])
    assert login(finance).post(url("finance_period_unlock", org, pk=period.pk)).status_code == 403
    client = login(admin_member)
    page = client.get(url("finance_period", org, pk=period.pk)).content.decode()
    assert 'data-testid="unlock"' in page
    response = client.post(
        url("finance_period_unlock", org, pk=period.pk), {"version": period.version}, headers=HTMX
    )
    assert "Say why the period is unlocked: it is recorded." in text(response)
    response = client.post(
        url("finance_period_unlock", org, pk=period.pk),
        {"version": period.version, "reason": "The client disputed a line"},
        headers=HTMX,
    )
    assert "Unlocked: the period is in review again." in text(response)
    assert fresh(period).status == BillingPeriod.Status.IN_REVIEW
    assert "The client disputed a line" in text(response)  # in the history


def test_an_adjustment_lands_where_the_page_said(login, org, finance, world):
    period = _locked(org, finance, world["beta"])
    client = login(finance)
    page = client.get(url("finance_period", org, pk=period.pk))
    assert 'data-testid="lands-in">October 2025<' in page.content.decode()
    response = client.post(
        url("finance_adjustment_create", org, pk=period.pk),
        {"description": "Goodwill credit", "amount": "-25.00", "reason": "Printer was ours"},
        headers=HTMX,
    )
    assert "Adjustment of EUR -25.00 added: billed in 2025-10." in text(response)
    with scopes_disabled():
        adjustment = Adjustment.objects.get()
    assert adjustment.period.month == OCTOBER and adjustment.corrects == period
    assert "Goodwill credit" in text(response)


def test_an_adjustment_needs_a_reason_and_an_amount(login, org, finance, world):
    period = _locked(org, finance, world["beta"])
    response = login(finance).post(
        url("finance_adjustment_create", org, pk=period.pk),
        {"description": "Credit", "amount": "lots", "reason": ""},
        headers=HTMX,
    )
    page = text(response)
    assert "Give an amount such as 120.00 or -120.00." in page
    assert "An adjustment needs a reason." in page
    with scopes_disabled():
        assert not Adjustment.objects.exists()


def test_an_adjustment_on_an_open_period_shows_the_services_reason(login, org, finance, world):
    period = period_of(world["beta"])
    response = login(finance).post(
        url("finance_adjustment_create", org, pk=period.pk),
        {"description": "Credit", "amount": "-5.00", "reason": "Because"},
    )
    assert response.status_code == 400


# --- explain this line ----------------------------------------------------------------------
def _saved_line(org, client, kind) -> InvoiceLine:
    with scopes_disabled():
        drafts_compute(organization=org, month=MONTH, client_ids=[client.pk])
        return InvoiceLine.objects.get(period__client=client, kind=kind)


def test_explain_says_what_was_done_by_whom_under_which_rule_and_who_decided(
    login, org, finance, developer, world
):
    line = _saved_line(org, world["acme"], InvoiceLine.Kind.TIME)
    response = login(finance).get(url("finance_line", org, pk=line.pk))
    assert response.status_code == 200
    page = text(response)
    worker = world["worker"]
    assert "Wed 10 Sep 2025" in page
    assert (worker.user.get_full_name() or worker.user.username) in page
    assert "0:50" in page and "Monthly report export" in page
    assert "0:50 h worked, 1:00 h charged" in page
    assert (
        "How the amount came: 50 min logged, 60 min charged (per entry rounded up to 15 min);"
        " 60 min × 120.0000/h = 120.00"
    ) in page or "60 min × 120.00/h = 120.00" in page
    assert "terms from 1 January 2025" in page and "billable time at EUR 120.00 per hour" in page
    assert "each entry rounded up to 15 minutes" in page
    rule_words = f"{world['report'].request_type.name} — included, about 60 min"
    assert rule_words in page
    decider = developer.user.get_full_name() or developer.user.username
    assert f"{decider} decided the work on #{world['report'].number} is billable" in page
    assert "The client asked for a new export, not support." in page
    assert "differs from the rule's suggestion (included)" in page


def test_explain_reads_only_its_own_organizations_sources(login, org, other_org, finance, world):
    line = _saved_line(org, world["beta"], InvoiceLine.Kind.TIME)
    foreign = TimeEntryFactory(ticket__client__organization=other_org, notes="CANARY foreign entry")
    with scopes_disabled():
        InvoiceLine.objects.filter(pk=line.pk).update(
            sources={**line.sources, "entries": [*line.sources["entries"], foreign.pk]}
        )
    page = text(login(finance).get(url("finance_line", org, pk=line.pk)))
    assert "CANARY" not in page
    assert page.count("Printer") >= 1


def test_explain_is_for_finance_and_the_clients_account_manager(
    login, org, account_manager, developer, world
):
    acme_line = _saved_line(org, world["acme"], InvoiceLine.Kind.FEE)
    beta_line = _saved_line(org, world["beta"], InvoiceLine.Kind.TIME)
    am = login(account_manager)
    assert am.get(url("finance_line", org, pk=acme_line.pk)).status_code == 200
    assert am.get(url("finance_line", org, pk=beta_line.pk)).status_code == 403
    assert login(developer).get(url("finance_line", org, pk=acme_line.pk)).status_code == 403


def test_explain_shows_a_split_entrys_minutes_on_each_line(login, org, finance):
    """An entry crossing the retainer's allowance: 30 of its 100 minutes on
    the included line, 70 on the overage line — each page says its part."""
    crossed = allowance_crossed(org, MembershipFactory(organization=org))
    client = login(finance)
    overage = text(client.get(url("finance_line", org, pk=crossed.overage.pk)))
    assert "1:40 (1:10 of it here)" in overage
    assert "Tue 2 Sep 2025" not in overage  # the first entry is not on it
    included = text(client.get(url("finance_line", org, pk=crossed.included.pk)))
    assert "1:40 (0:30 of it here)" in included
    assert "Tue 2 Sep 2025" in included and "0:30 (" not in included  # whole on it


def test_a_saved_line_links_to_its_explanation(login, org, finance, world):
    line = _saved_line(org, world["beta"], InvoiceLine.Kind.TIME)
    period = line.period
    page = login(finance).get(url("finance_period", org, pk=period.pk)).content.decode()
    assert url("finance_line", org, pk=line.pk) in page


# --- usage ----------------------------------------------------------------------------------
def test_usage_of_a_contract_this_month(login, org, developer, account_manager):
    today = datetime.date.today()
    client = ClientFactory(organization=org, name="Delta", account_manager=account_manager)
    retainer = contract_of(
        org, Contract.Kind.RETAINER, client=client, included_minutes=600,
        hourly_rate=D("100.00"),
    )  # fmt: skip
    worker = MembershipFactory(organization=org)
    day = today.replace(day=1)
    work(ticket_of(client, "Included", retainer), worker, day, 90)
    work(ticket_of(client, "Billable", retainer), worker, day, 30, Status.BILLABLE)
    work(ticket_of(client, "Waiting", retainer), worker, day, 45, Status.PENDING_APPROVAL)
    response = login(account_manager).get(url("contract_usage", org, pk=retainer.pk), headers=HTMX)
    assert response.status_code == 200
    page = text(response)
    assert "<html" not in response.content.decode()
    assert "1:30 of 10:00 h used" in page and "8:30 h left" in page
    assert "Billable so far: 0:30 h, EUR 50.00" in page
    assert "waiting for approval: 0:45 h" in page
    # The account manager's home shows the same for their clients.
    home = text(login(account_manager).get(reverse("tenancy:organization_home", args=[org.slug])))
    assert "Your clients' contracts in" in home and "Delta" in home
    assert "1:30 of 10:00 h used" in home


def test_the_usage_beside_the_rule_shows_money_only_to_who_reads_the_clients(
    login, org, members, account_manager
):
    """The ticket page loads it for everyone: a developer, or an account
    manager on someone else's client, sees the minutes, not the amounts."""
    day = datetime.date.today().replace(day=1)
    mine = ClientFactory(organization=org, account_manager=account_manager)
    theirs = ClientFactory(organization=org, account_manager=MembershipFactory(organization=org))
    worker = MembershipFactory(organization=org)
    contracts = {}
    for key, client in (("mine", mine), ("theirs", theirs)):
        contracts[key] = contract_of(
            org, Contract.Kind.RETAINER, client=client, included_minutes=600,
            hourly_rate=D("100.00"),
        )  # fmt: skip
        work(ticket_of(client, "Included", contracts[key]), worker, day, 90)
        work(ticket_of(client, "Billable", contracts[key]), worker, day, 30, Status.BILLABLE)
        work(ticket_of(client, "Asked", contracts[key]), worker, day, 45, Status.PENDING_APPROVAL)
    cases = [
        (Role.DEVELOPER, "mine", False),
        (Role.ACCOUNT_MANAGER, "mine", True),
        (Role.ACCOUNT_MANAGER, "theirs", False),
        (Role.FINANCE, "theirs", True),
        (Role.ADMIN, "mine", True),
    ]
    for role, key, money in cases:
        response = login(members[role]).get(
            url("contract_usage", org, pk=contracts[key].pk), headers=HTMX
        )
        page = text(response)
        assert "1:30 of 10:00 h used" in page and "8:30 h left" in page, (role, key)
        assert "waiting for approval: 0:45 h" in page, (role, key)
        assert "Billable so far: 0:30 h" in page, (role, key)
        assert ("EUR" in page) is money, (role, key)


def test_the_client_page_loads_each_contracts_usage_in_place(login, org, developer, world):
    body = (
        login(developer)
        .get(reverse("clients:client_detail", args=[org.slug, world["acme"].pk]))
        .content.decode()
    )
    assert f'hx-get="{url("contract_usage", org, pk=world["retainer"].pk)}"' in body
    assert 'hx-trigger="load"' in body


def test_the_ticket_page_loads_the_contracts_usage_beside_the_rule(login, org, developer, terms):
    from tests.factories import TicketFactory

    contract = terms["contract"]
    ticket = TicketFactory(
        organization=org, client=terms["client"], contract=contract,
        request_type=terms["rules"]["troubleshooting"].request_type,
    )  # fmt: skip
    page = login(developer).get(reverse("tickets:ticket_detail", args=[org.slug, ticket.number]))
    body = page.content.decode()
    assert 'data-testid="ticket-usage"' in body
    assert f'hx-get="{url("contract_usage", org, pk=contract.pk)}"' in body


def test_the_usage_page_of_a_block_shows_its_balance(login, org, developer):
    from clients.models import BlockTopUp

    client = ClientFactory(organization=org)
    block = contract_of(org, Contract.Kind.BLOCK, client=client, hourly_rate=D("90.00"))
    today = datetime.date.today().replace(day=1)
    with scopes_disabled():
        BlockTopUp.objects.create(
            organization=org, contract=block, added_on=today, minutes=600, price=D("900.00")
        )
    work(ticket_of(client, "Drawn", block), MembershipFactory(organization=org), today, 120)
    page = text(login(developer).get(url("contract_usage", org, pk=block.pk)))
    assert "8:00 h left in the block" in page and "2:00 h used" in page


# --- navigation -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "role,shown",
    [
        (Role.FINANCE, True),
        (Role.ADMIN, True),
        (Role.ACCOUNT_MANAGER, True),
        (Role.DEVELOPER, False),
    ],
)
def test_the_finance_link_is_in_the_navigation_of_who_reads_money(login, org, members, role, shown):
    home = login(members[role]).get(reverse("tenancy:organization_home", args=[org.slug]))
    assert ('data-testid="nav-finance"' in home.content.decode()) is shown


def test_locking_a_month_that_is_not_over_says_what_it_refuses(login, org, finance, world):
    from msops.timezones import organization_today

    client = login(finance)
    past = text(client.get(url("finance_period", org, pk=period_of(world["beta"]).pk)))
    assert "is not over yet" not in past
    this_month = period_of(world["beta"], organization_today(org).replace(day=1))
    page = text(client.get(url("finance_period", org, pk=this_month.pk)))
    assert "is not over yet: once locked, time logged for its remaining days is refused" in page
