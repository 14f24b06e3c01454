"""Each role's organization home says what needs this person now, with
numbers counted by hand on seeded data, each linking where it says; and the
home keeps one query budget per role whatever the number of rows."""

import datetime
import html
import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from billing.models import BillingPeriod, ReviewItem, ReviewQueue, ScopeCheck
from clients.models import BlockTopUp, Contract
from msops.tenancy.models import Role
from msops.timezones import organization_today, organization_week_start
from tests.billing.finance_helpers import contract_of, ticket_of, work
from tests.factories import (
    BillingMomentFactory,
    ClientFactory,
    MembershipFactory,
    TicketFactory,
)
from tickets.models import BillingMoment, TimeEntry

Status = TimeEntry.BillingStatus
Kind = BillingMoment.Kind
D = Decimal


def home(org) -> str:
    return reverse("tenancy:organization_home", kwargs={"org": org.slug})


def tickets_url(org) -> str:
    return reverse("tickets:ticket_list", kwargs={"org": org.slug})


def ticket_url(ticket) -> str:
    return reverse(
        "tickets:ticket_detail", kwargs={"org": ticket.organization.slug, "number": ticket.number}
    )


class _Marked(HTMLParser):
    """Every element with a ``data-testid``: its text (one space between
    words) and the links inside it, in page order."""

    VOID = {"br", "input", "img", "hr", "meta", "link", "source", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict]] = []
        self.open: list[tuple[str, dict | None]] = []

    def _gap(self):
        for _, item in self.open:  # a tag ends a word (the cards' number is a block)
            if item is not None:
                item["text"].append(" ")

    def handle_starttag(self, tag, attrs):
        self._gap()
        attrs = dict(attrs)
        entry = None
        if "data-testid" in attrs:
            entry = {"text": [], "links": [], "class": attrs.get("class") or ""}
            self.found.append((attrs["data-testid"], entry))
        if tag == "a" and attrs.get("href"):
            for _, item in self.open:
                if item is not None:
                    item["links"].append(attrs["href"])
            if entry is not None:
                entry["links"].append(attrs["href"])
        if tag not in self.VOID:
            self.open.append((tag, entry))

    def handle_endtag(self, tag):
        self._gap()
        while self.open:
            open_tag, _ = self.open.pop()
            if open_tag == tag:
                break

    def handle_data(self, data):
        for _, item in self.open:
            if item is not None:
                item["text"].append(data)


class Page:
    def __init__(self, response):
        assert response.status_code == 200
        self.html = response.content.decode()
        parser = _Marked()
        parser.feed(self.html)
        self._found = parser.found

    def all(self, testid: str) -> list[dict]:
        return [
            {**item, "text": " ".join(html.unescape("".join(item["text"])).split())}
            for found, item in self._found
            if found == testid
        ]

    def one(self, testid: str) -> dict:
        (item,) = self.all(testid)
        return item

    def text(self, testid: str) -> str:
        return self.one(testid)["text"]

    def has(self, testid: str) -> bool:
        return bool(self.all(testid))


def count_of(page: Page, testid: str) -> int:
    """The big number of a count card."""
    return int(re.match(r"\d+", page.text(testid)).group())


def at(moment: datetime.datetime, minutes: int) -> datetime.datetime:
    return moment - datetime.timedelta(minutes=minutes)


# --- developer ------------------------------------------------------------------------------
@pytest.fixture
def dev_world(org, developer):
    """Tickets of every kind around a developer, and what the home should say."""
    someone = MembershipFactory(organization=org)
    client = ClientFactory(organization=org, name="Acme")
    now = timezone.now()
    with scopes_disabled():
        over = TicketFactory(
            organization=org, client=client, assignee=developer, title="Mail is slow",
            logged_minutes=90, classification="included",
        )  # fmt: skip
        BillingMomentFactory(
            ticket=over, kind=Kind.EXPECTED_TIME_PASSED, threshold_minutes=60,
            created_at=at(now, 10), detail="1:30 h logged; the rule expects about 1:00 h.",
        )  # fmt: skip
        fresh = TicketFactory(
            organization=org, client=client, assignee=developer, title="New laptop"
        )
        BillingMomentFactory(
            ticket=fresh, kind=Kind.TICKET_OPENED, created_at=at(now, 30),
            detail="Hardware — excluded",
        )  # fmt: skip
        BillingMomentFactory(
            ticket=fresh, kind=Kind.OUT_OF_SCOPE, created_at=at(now, 20), detail="Ask first"
        )
        unheld = TicketFactory(
            organization=org, client=client, opened_by=developer, assignee=None,
            title="Printer jam",
        )  # fmt: skip
        BillingMomentFactory(ticket=unheld, kind=Kind.TICKET_OPENED, created_at=at(now, 5))
        # Not mine: opened by me but someone holds it; someone else's; decided.
        held = TicketFactory(organization=org, client=client, opened_by=developer, assignee=someone)
        BillingMomentFactory(ticket=held)
        theirs = TicketFactory(organization=org, client=client, assignee=someone)
        BillingMomentFactory(ticket=theirs)
        decided = TicketFactory(organization=org, client=client, assignee=developer)
        BillingMomentFactory(ticket=decided, status=BillingMoment.Status.DECIDED)
        # Waiting on the client: mine (two), someone else's, and mine but resolved.
        waiting = [
            TicketFactory(
                organization=org,
                client=client,
                assignee=developer,
                status="waiting",
                title=f"Waiting {i}",
                opened_at=at(now, 100 - i),
            )
            for i in range(2)
        ]
        TicketFactory(organization=org, client=client, assignee=someone, status="waiting")
        TicketFactory(organization=org, client=client, assignee=developer, status="resolved")
    return {"over": over, "fresh": fresh, "unheld": unheld, "waiting": waiting, "held": held}


def test_a_developers_open_questions_are_their_tickets_waiting_for_a_decision_newest_first(
    login, org, developer, dev_world
):
    page = Page(login(developer).get(home(org)))

    assert page.text("my-open-questions-count") == "3"  # over, fresh, unheld
    questions = page.all("open-question")
    assert [q["links"][0] for q in questions] == [
        ticket_url(dev_world[key]) + "#billing-prompt" for key in ("unheld", "over", "fresh")
    ]
    texts = [q["text"] for q in page.all("open-question-text")]
    assert texts[1] == "1:30 logged vs about 1:00 — still included?"
    assert texts[0].startswith("What is this work?")
    # The newest of the ticket's two questions, and a word about the other.
    assert texts[2] == (
        "Flagged as outside normal support (Ask first) — billable, or ask for approval?"
    )
    assert "(and 1 more question)" in questions[2]["text"]
    assert f"#{dev_world['over'].number} Mail is slow" in questions[1]["text"]


def test_the_open_questions_link_lists_the_same_tickets(login, org, developer, dev_world):
    client = login(developer)
    page = Page(client.get(home(org)))

    link = page.one("my-open-questions-all")["links"][0]

    assert link == f"{tickets_url(org)}?mine_or_opened=1&moments=open"
    assert page.text("my-open-questions-all") == "All 3 in the ticket list"
    listed = Page(client.get(link))
    assert listed.text("ticket-count") == "3 tickets"
    assert len(listed.all("decide-mark")) == 3


def test_a_developer_sees_ten_questions_and_how_many_there_are(login, org, developer):
    with scopes_disabled():
        for _ in range(12):
            BillingMomentFactory(ticket=TicketFactory(organization=org, assignee=developer))

    page = Page(login(developer).get(home(org)))

    assert page.text("my-open-questions-count") == "12"
    assert len(page.all("open-question")) == 10
    assert page.text("my-open-questions-all") == "All 12 in the ticket list"


def test_a_developers_tickets_waiting_on_the_client_are_listed_longest_waiting_first(
    login, org, developer, dev_world
):
    page = Page(login(developer).get(home(org)))

    assert page.text("my-waiting-count") == "2"
    assert [item["links"][0] for item in page.all("waiting-ticket")] == [
        ticket_url(dev_world["waiting"][0]),
        ticket_url(dev_world["waiting"][1]),
    ]
    assert page.one("my-waiting-all")["links"] == [f"{tickets_url(org)}?mine=1&status=waiting"]


def test_a_developer_with_nothing_waiting_reads_so(login, org, developer):
    page = Page(login(developer).get(home(org)))

    assert page.text("my-open-questions-count") == "0"
    assert not page.has("open-question") and not page.has("my-open-questions-all")
    assert page.text("my-waiting-count") == "0" and not page.has("waiting-ticket")
    assert not page.has("home-scope-checks") and not page.has("count-period-blockers")


def test_the_developers_home_leaves_a_block_for_the_running_timer():
    from django.template import loader

    template = loader.get_template("tenancy/organization_home.html").template
    names = {node.name for node in template.nodelist.get_nodes_by_type(_block_node())}
    assert "running_timer" in names


def _block_node():
    from django.template.loader_tags import BlockNode

    return BlockNode


# --- account manager ------------------------------------------------------------------------
@pytest.fixture
def am_world(org, account_manager, developer):
    """An account manager's clients: contracts at 85 %, 150 % and 20 % of their
    allowance this month, one without an allowance; open scope checks of
    theirs (and others' and a settled one); this week's review items."""
    today = organization_today(org)
    day = today.replace(day=1)
    worker = MembershipFactory(organization=org)
    other_am = MembershipFactory(organization=org, role=Role.ACCOUNT_MANAGER)
    clients = {}
    for name, used, allowance in [("Acme", 510, 600), ("Beta", 90, 60), ("Gamma", 60, 300)]:
        client = ClientFactory(organization=org, name=name, account_manager=account_manager)
        contract = contract_of(
            org, Contract.Kind.RETAINER, client=client, name=f"{name} support",
            included_minutes=allowance, hourly_rate=D("120.00"),
        )  # fmt: skip
        work(ticket_of(client, f"{name} work", contract), worker, day, used)
        clients[name] = (client, contract)
    hourly = ClientFactory(organization=org, name="Delta", account_manager=account_manager)
    contract_of(org, Contract.Kind.TIME_AND_MATERIALS, client=hourly, hourly_rate=D("90.00"))
    now = timezone.now()
    checks = []
    with scopes_disabled():
        for i, logged in enumerate([90, 30, 45, 15]):
            ticket = TicketFactory(
                organization=org, client=clients["Acme"][0], contract=clients["Acme"][1],
                logged_minutes=logged, title=f"Server {i}",
            )  # fmt: skip
            checks.append(
                ScopeCheck.objects.create(
                    organization=org,
                    ticket=ticket,
                    requested_by=developer,
                    account_manager=account_manager,
                    estimate_minutes=120,
                    reason="More",
                    client_explanation="More work",
                    created_at=at(now, 100 - i),
                    rate=D("120.00"),  # the rate when approval was asked
                    currency="EUR",
                )
            )
        theirs = TicketFactory(organization=org, client=clients["Beta"][0])
        ScopeCheck.objects.create(
            organization=org, ticket=theirs, requested_by=developer, account_manager=other_am,
            estimate_minutes=60, reason="More", client_explanation="More",
        )  # fmt: skip
        settled = TicketFactory(organization=org, client=clients["Beta"][0])
        ScopeCheck.objects.create(
            organization=org, ticket=settled, requested_by=developer,
            account_manager=account_manager, estimate_minutes=60, reason="More",
            client_explanation="More", status=ScopeCheck.Status.APPROVED,
        )  # fmt: skip
        queue = ReviewQueue.objects.create(
            organization=org, week_start=organization_week_start(org)
        )
        last_week = ReviewQueue.objects.create(
            organization=org, week_start=organization_week_start(org) - datetime.timedelta(days=7)
        )
        for i, (item_queue, owner, status) in enumerate([
            (queue, account_manager, "open"),
            (queue, account_manager, "open"),
            (queue, account_manager, "resolved"),
            (queue, other_am, "open"),
            (last_week, account_manager, "open"),
        ]):  # fmt: skip
            ReviewItem.objects.create(
                organization=org, queue=item_queue, kind=ReviewItem.Kind.UNCLEAR_DECISION,
                subject_key=f"item:{i}", ticket=theirs, reason="Unclear",
                owner=owner, status=status,
            )  # fmt: skip
    return {"clients": clients, "checks": checks}


def test_an_account_manager_sees_their_scope_checks_oldest_first_with_time_and_money(
    login, org, account_manager, am_world
):
    page = Page(login(account_manager).get(home(org)))

    queue = reverse("billing:scope_check_queue", kwargs={"org": org.slug})
    assert count_of(page, "count-scope-checks") == 4
    assert page.one("count-scope-checks")["links"] == [queue]
    rows = page.all("home-scope-check")
    assert [row["links"][0] for row in rows] == [
        ticket_url(check.ticket) for check in am_world["checks"][:3]
    ]
    assert [item["text"] for item in page.all("home-scope-check-logged")] == [
        "1:30 h logged so far",
        "0:30 h logged so far",
        "0:45 h logged so far",
    ]
    # 90 min at 120.00/h; 30 min; 45 min.
    assert [item["text"] for item in page.all("home-scope-check-money")] == [
        "EUR 180.00 at EUR 120.00/h",
        "EUR 60.00 at EUR 120.00/h",
        "EUR 90.00 at EUR 120.00/h",
    ]
    assert page.one("home-scope-checks-all")["links"] == [queue]
    assert page.text("home-scope-checks-all") == "All 4 scope checks, oldest first"


def test_an_account_manager_sees_the_clients_near_or_over_their_allowance(
    login, org, account_manager, am_world
):
    page = Page(login(account_manager).get(home(org)))

    alerts = page.all("allowance-alert")
    beta, acme = am_world["clients"]["Beta"], am_world["clients"]["Acme"]
    detail = "clients:client_detail"
    assert [alert["links"][0] for alert in alerts] == [
        reverse(detail, kwargs={"org": org.slug, "pk": beta[0].pk}) + f"#contract-{beta[1].pk}",
        reverse(detail, kwargs={"org": org.slug, "pk": acme[0].pk}) + f"#contract-{acme[1].pk}",
    ]
    marks = page.all("allowance-mark")
    assert [(m["text"], m["class"]) for m in marks] == [
        ("Over", "badge badge-over"),
        ("Near", "badge badge-near"),
    ]
    assert [p["text"] for p in page.all("allowance-percent")] == ["150 % used", "85 % used"]


def test_a_block_is_near_by_its_top_ups_used_as_the_allowance_alerts_count_them(
    login, org, account_manager
):
    """All its top-ups against all work on it, decided or not — not this
    month's share (60 of the 180 minutes left would read 33 %)."""
    client = ClientFactory(organization=org, name="Blocky", account_manager=account_manager)
    contract = contract_of(
        org, Contract.Kind.BLOCK, client=client, name="Blocky hours", hourly_rate=D("100.00"),
    )  # fmt: skip
    with scopes_disabled():
        BlockTopUp.objects.create(
            organization=org, contract=contract, added_on=contract.starts_on, minutes=600
        )
    worker = MembershipFactory(organization=org)
    ticket = ticket_of(client, "Blocky work", contract)
    first = organization_today(org).replace(day=1)
    work(ticket, worker, contract.starts_on + datetime.timedelta(days=40), 420)  # months ago
    work(ticket, worker, first, 60)
    work(ticket, worker, first, 30, status=TimeEntry.BillingStatus.UNDECIDED)

    page = Page(login(account_manager).get(home(org)))

    assert [m["text"] for m in page.all("allowance-mark")] == ["Near"]
    assert [p["text"] for p in page.all("allowance-percent")] == ["85 % used"]  # 510 of 600


def test_an_account_manager_sees_their_open_items_in_this_weeks_review(
    login, org, account_manager, am_world
):
    page = Page(login(account_manager).get(home(org)))

    assert count_of(page, "count-review-mine") == 2
    review = reverse("billing:review_current", kwargs={"org": org.slug})
    link = page.one("count-review-mine")["links"][0]
    assert link == f"{review}?owner=me"
    listed = login(account_manager).get(link).content.decode()
    assert listed.count('data-testid="review-item"') == 2


def test_a_scope_check_asked_without_a_rate_shows_its_time_but_no_money(
    login, org, account_manager, developer
):
    client = ClientFactory(organization=org, account_manager=account_manager)
    with scopes_disabled():
        ticket = TicketFactory(organization=org, client=client, logged_minutes=30)
        ScopeCheck.objects.create(
            organization=org, ticket=ticket, requested_by=developer,
            account_manager=account_manager, estimate_minutes=60, reason="More",
            client_explanation="More",
        )  # fmt: skip

    page = Page(login(account_manager).get(home(org)))

    assert page.text("home-scope-check-logged") == "0:30 h logged so far"
    assert page.all("home-scope-check-money") == []


# --- finance --------------------------------------------------------------------------------
FIXED_NOW = datetime.datetime(2025, 9, 20, 10, 0, tzinfo=datetime.UTC)
SEPTEMBER = datetime.date(2025, 9, 1)


@pytest.fixture
def fixed_today(monkeypatch):
    """The clock of the home's reads stands at ``now`` (default FIXED_NOW)."""
    from billing.selectors import home as home_selectors
    from msops import timezones

    def _at(now: datetime.datetime = FIXED_NOW):
        monkeypatch.setattr(
            home_selectors,
            "organization_today",
            lambda organization, now_=None: timezones.organization_today(organization, now=now),
        )

    return _at


@pytest.fixture
def finance_world(org):
    """September 2025: three tickets of Acme and Beta with time nobody decided
    (one blocker each), one of Gamma decided (none), and Zeta's undecided time
    in a locked period (closed: not counted)."""
    worker = MembershipFactory(organization=org)
    clients = {}
    for name in ("Acme", "Beta", "Gamma", "Zeta"):
        client = ClientFactory(organization=org, name=name)
        clients[name] = (client, contract_of(org, Contract.Kind.RETAINER, client=client))
    for name, status in [
        ("Acme", Status.UNDECIDED),
        ("Acme", Status.UNDECIDED),
        ("Beta", Status.UNDECIDED),
        ("Gamma", Status.INCLUDED),
        ("Zeta", Status.UNDECIDED),
    ]:
        client, contract = clients[name]
        work(ticket_of(client, contract=contract), worker, SEPTEMBER.replace(day=3), 30, status)
    with scopes_disabled():
        BillingPeriod.objects.create(
            organization=org, client=clients["Zeta"][0], month=SEPTEMBER,
            status=BillingPeriod.Status.LOCKED,
        )  # fmt: skip
    return clients


def test_finance_sees_what_blocks_the_current_month_and_the_days_left(
    login, org, finance, finance_world, fixed_today
):
    fixed_today()

    page = Page(login(finance).get(home(org)))

    assert count_of(page, "count-period-blockers") == 3
    assert "blocking September's invoices (2 clients)" in page.text("count-period-blockers")
    assert page.one("count-period-blockers")["links"] == [
        reverse("billing:finance_current", kwargs={"org": org.slug})
    ]
    assert page.text("count-days-to-period-end") == "10 days to the end of September (30 September)"
    assert page.has("count-unsettled-entries")


def test_the_month_end_is_the_practices_own(login, org, finance, fixed_today):
    """23:30 UTC on 30 September is already 1 October in Amsterdam."""
    fixed_today(datetime.datetime(2025, 9, 30, 23, 30, tzinfo=datetime.UTC))

    page = Page(login(finance).get(home(org)))

    assert page.text("count-days-to-period-end") == "30 days to the end of October (31 October)"
    assert count_of(page, "count-period-blockers") == 0


def test_on_the_last_day_finance_reads_that_it_is_today(login, org, finance, fixed_today):
    fixed_today(datetime.datetime(2025, 9, 30, 12, 0, tzinfo=datetime.UTC))

    page = Page(login(finance).get(home(org)))

    assert page.text("count-days-to-period-end") == (
        "0 days left: today is the last day of September"
    )


# --- admin ----------------------------------------------------------------------------------
def test_an_admin_sees_open_moments_unassigned_tickets_and_the_team(
    login, org, admin_member, developer
):
    with scopes_disabled():
        for assignee in (None, None, developer):
            BillingMomentFactory(ticket=TicketFactory(organization=org, assignee=assignee))
        BillingMomentFactory(
            ticket=TicketFactory(organization=org, assignee=None),
            status=BillingMoment.Status.DECIDED,
        )

    page = Page(login(admin_member).get(home(org)))

    assert count_of(page, "count-open-moments") == 3
    assert page.one("count-open-moments")["links"] == [f"{tickets_url(org)}?moments=open"]
    assert count_of(page, "count-unassigned-tickets") == 3
    # The members are on the team page once there is one; until then, here.
    try:
        team = reverse("tenancy:team", kwargs={"org": org.slug})
    except NoReverseMatch:
        assert not page.has("home-team-link")
        assert page.has("home-members")
    else:
        assert page.one("home-team-link")["links"] == [team]
        assert not page.has("home-members")


@pytest.mark.parametrize("role", [Role.DEVELOPER, Role.ACCOUNT_MANAGER, Role.FINANCE])
def test_only_admins_get_the_members_table(login, org, members, role):
    assert not Page(login(members[role]).get(home(org))).has("home-members")


def test_a_home_never_shows_another_organizations_rows(
    login, org, other_org, developer, account_manager
):
    stranger_dev = MembershipFactory(organization=other_org, role=Role.DEVELOPER)
    with scopes_disabled():
        BillingMomentFactory(ticket=TicketFactory(organization=other_org, assignee=stranger_dev))

    page = Page(login(developer).get(home(org)))

    assert page.text("my-open-questions-count") == "0"


# --- query budgets --------------------------------------------------------------------------
# Measured at 12 rows of everything (past the ten questions, five tickets and
# three scope checks shown); 4 of them are every page's (session, user,
# membership, the organization switcher) and 1 the navigation's counts.
HOME_BUDGETS = {
    # + sent back, the two counts, my questions, my tickets waiting on the
    # client, my running timer (the menu's indicator and the home's card share it)
    Role.DEVELOPER: 12,
    # + the month's pricing of my clients (usage), the oldest scope checks
    # (one query: priced at the rate each was asked under) and my timer
    Role.ACCOUNT_MANAGER: 25,
    # + the current month's pricing and what blocks it
    Role.FINANCE: 20,
    # + the members, my timer
    Role.ADMIN: 11,
}


def busy_world(org, members, rows: int) -> None:
    """``rows`` of everything each home shows, spread over distinct clients,
    contracts, request types and people so a missing join shows."""
    developer = members[Role.DEVELOPER]
    manager = members[Role.ACCOUNT_MANAGER]
    today = organization_today(org)
    queue = ReviewQueue.objects.create(organization=org, week_start=organization_week_start(org))
    for i in range(rows):
        client = ClientFactory(organization=org, account_manager=manager)
        contract = contract_of(org, Contract.Kind.RETAINER, client=client, included_minutes=60)
        worker = MembershipFactory(organization=org)
        mine = ticket_of(client, f"Mine {i}")  # no contract of its own: the rule looks it up
        unheld = ticket_of(client, f"Unheld {i}", contract)
        waiting = ticket_of(client, f"Waiting {i}", contract)
        with scopes_disabled():
            type(mine).objects.filter(pk=mine.pk).update(assignee=developer, logged_minutes=i)
            type(mine).objects.filter(pk=unheld.pk).update(opened_by=developer)
            type(mine).objects.filter(pk=waiting.pk).update(assignee=developer, status="waiting")
            BillingMomentFactory(ticket=mine, raised_by=worker)
            BillingMomentFactory(ticket=mine, kind=Kind.OUT_OF_SCOPE, raised_by=worker)
            BillingMomentFactory(ticket=unheld, raised_by=worker)
            ScopeCheck.objects.create(
                organization=org, ticket=mine, requested_by=worker, account_manager=manager,
                estimate_minutes=60, reason="More", client_explanation="More",
            )  # fmt: skip
            ReviewItem.objects.create(
                organization=org, queue=queue, kind=ReviewItem.Kind.UNCLEAR_DECISION,
                subject_key=f"ticket:{mine.pk}", ticket=mine, client=client, reason="Unclear",
                owner=manager,
            )  # fmt: skip
        work(mine, worker, today, 50 + i, Status.UNDECIDED)


@pytest.mark.parametrize("rows", [2, 12])
@pytest.mark.parametrize("role", list(HOME_BUDGETS))
def test_every_home_has_a_fixed_query_budget(
    login, org, members, role, rows, django_assert_max_num_queries
):
    busy_world(org, members, rows)
    client = login(members[role])

    with django_assert_max_num_queries(HOME_BUDGETS[role]):
        response = client.get(home(org))

    assert response.status_code == 200
