"""The billing pages: the developer's prompt on the ticket page and its
actions, work logged after the fact, the scope-check queue and a client's
decision log."""

import datetime
import re
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from billing.models import BillingDecision, DecisionLogEntry, ScopeCheck
from billing.services import (
    ScopeCheckRequest,
    decision_record,
    scope_check_approve,
    scope_check_ask_client,
    scope_check_client_answer,
    scope_check_client_link,
    scope_check_from_link,
    scope_check_reject,
)
from msops.tenancy.models import Role
from msops.tenancy.scoping import activate_organization
from tests.billing.helpers import decided_entry
from tests.factories import ClientFactory, MembershipFactory, TicketFactory
from tests.tickets.helpers import count, fresh
from tickets.models import BillingMoment, Ticket, TimeEntry
from tickets.services import organization_today

HTMX = {"HX-Request": "true"}


def url(name, org, **kwargs):
    return reverse(f"billing:{name}", kwargs={"org": org.slug, **kwargs})


def ticket_url(ticket):
    return reverse(
        "tickets:ticket_detail", kwargs={"org": ticket.organization.slug, "number": ticket.number}
    )


def body(response) -> str:
    return response.content.decode()


def needs_approval(ticket, actor, estimate=240, reason="A new export is a feature"):
    ticket.refresh_from_db()
    return decision_record(
        ticket=ticket,
        actor=actor,
        classification="needs_approval",
        version=ticket.version,
        reason=reason,
        scope_check=ScopeCheckRequest(estimate_minutes=estimate),
    )


def decide(client, ticket, classification, htmx=True, **data):
    ticket.refresh_from_db()
    payload = {"classification": classification, "version": ticket.version, **data}
    return client.post(
        url("ticket_decide", ticket.organization, pk=ticket.pk),
        payload,
        headers=HTMX if htmx else {},
    )


# --- the prompt ----------------------------------------------------------------------
def test_the_ticket_page_prompts_with_the_moment_rule_suggestion_and_notes(
    scoped, login, developer, open_ticket
):
    ticket = open_ticket()
    response = login(developer).get(ticket_url(ticket))
    assert response.status_code == 200
    page = body(response)
    prompt = page.split('<section id="billing-prompt"')[1].split("</section>")[0]
    assert "Ticket opened under a request type" in prompt
    assert "Troubleshooting — included, about 60 min" in prompt
    assert re.search(r'data-testid="suggested-classification"><strong>Included</strong>', prompt)
    assert "PO required" in prompt
    for value in ("included", "billable", "needs_approval", "unclear"):
        assert f'data-testid="decide-{value}"' in prompt
    assert "Included (suggested)" in prompt
    assert f'id="decision-version" value="{ticket.version}"' in prompt
    assert "Outside normal support" in prompt and "Client asked for a change" in prompt
    assert "Move to implementation" in prompt


def test_excluded_work_is_suggested_billable(scoped, login, developer, open_ticket):
    ticket = open_ticket("hardware")
    page = body(login(developer).get(ticket_url(ticket)))
    assert "Hardware — excluded, billed at the time-and-materials rate" in page
    assert "Billable (suggested)" in page


def test_finance_reads_the_prompt_without_buttons(scoped, login, finance, open_ticket):
    ticket = open_ticket()
    page = body(login(finance).get(ticket_url(ticket)))
    assert "Troubleshooting — included, about 60 min" in page
    assert 'data-testid="decide-included"' not in page
    assert "Outside normal support" not in page


@pytest.mark.parametrize(
    "name", ["ticket_decide", "ticket_out_of_scope", "ticket_change_request",
             "ticket_move_to_implementation"],
)  # fmt: skip
def test_finance_may_not_act_on_the_prompt(scoped, login, finance, open_ticket, name):
    ticket = open_ticket()
    response = login(finance).post(
        url(name, ticket.organization, pk=ticket.pk),
        {"classification": "included", "version": ticket.version},
    )
    assert response.status_code == 403
    assert count(BillingDecision) == 0
    assert fresh(ticket).phase == "investigation"
    assert count(BillingMoment, ticket=ticket) == 1


def test_following_the_suggestion_decides_in_place(scoped, login, developer, open_ticket):
    ticket = open_ticket()
    response = decide(login(developer), ticket, "included")
    assert response.status_code == 200
    page = body(response)
    assert page.count("Decided: included.") == 1  # one confirmation, in the messages
    assert 'data-testid="decision"' in page and "Troubleshooting — included" in page
    assert "Nothing waits for a decision." in page
    # Every part of the page the decision touched comes along out of band,
    # the navigation's counts and the messages too.
    parts = (
        "ticket-header", "ticket-status", "time-entry-box", "applicable-rule",
        "waiting-for-approval", "billing-moments", "billing-history", "messages", "nav-flags",
    )  # fmt: skip
    for part in parts:
        assert re.search(rf'id="{part}"[^>]*hx-swap-oob="true"', page), part
    ticket = fresh(ticket)
    assert ticket.classification == "included" and ticket.version == 2
    assert f'id="decision-version" value="{ticket.version}"' in page
    assert 'name="version" value="2"' in page  # the status box's version too
    decision = BillingDecision.objects.get()
    assert decision.decided_by == developer and not decision.overrides_rule


def test_a_plain_form_post_goes_back_to_the_ticket(scoped, login, developer, open_ticket):
    ticket = open_ticket()
    response = decide(login(developer), ticket, "included", htmx=False)
    assert response.status_code == 302 and response["Location"] == ticket_url(ticket)
    assert fresh(ticket).classification == "included"


def test_going_against_the_rule_needs_a_reason_shown_in_place(
    scoped, login, developer, open_ticket
):
    ticket = open_ticket()
    client = login(developer)
    response = decide(client, ticket, "billable", estimate_minutes="1:30")
    page = body(response)
    assert response.status_code == 200
    assert "The rule suggests included: say why this work is different." in page
    assert count(BillingDecision) == 0 and fresh(ticket).version == 1
    assert 'value="1:30"' in page  # what was typed is kept
    response = decide(client, ticket, "billable", reason="They broke it themselves")
    assert "Decided: billable." in body(response)
    assert DecisionLogEntry.objects.get().kind == "rule_overridden"


def test_a_plain_post_with_an_error_shows_the_page_with_it(scoped, login, developer, open_ticket):
    ticket = open_ticket()
    response = decide(login(developer), ticket, "unclear", htmx=False)
    assert response.status_code == 200
    assert "Say what is unclear" in body(response)
    assert "<h1>#1 Mail is down</h1>" in body(response)


def test_unclear_needs_a_reason(scoped, login, developer, open_ticket):
    ticket = open_ticket()
    client = login(developer)
    assert "Say what is unclear" in body(decide(client, ticket, "unclear"))
    decide(client, ticket, "unclear", reason="Not sure it is their printer")
    assert fresh(ticket).classification == "unclear"


def test_needs_approval_asks_for_an_estimate_then_opens_a_scope_check(
    scoped, login, developer, account_manager, open_ticket, django_capture_on_commit_callbacks
):
    ticket = open_ticket("feature")
    client = login(developer)
    page = body(decide(client, ticket, "needs_approval", reason="A new report"))
    assert "Estimate the extra time in minutes." in page
    assert count(ScopeCheck) == 0
    with django_capture_on_commit_callbacks(execute=True):
        response = decide(
            client,
            ticket,
            "needs_approval",
            reason="A new report",
            estimate_minutes="4:00",
            client_explanation="A monthly sales report: about 4 hours.",
        )
    page = body(response)
    assert "The account manager has been asked to approve." in page
    check = ScopeCheck.objects.get()
    assert (check.estimate_minutes, check.account_manager) == (240, account_manager)
    assert check.client_explanation == "A monthly sales report: about 4 hours."
    assert re.search(r'id="waiting-for-approval" hx-swap-oob="true"', page)
    assert "Waiting for approval" in page
    assert mail.outbox[0].to == ["am@example.com"]


def test_a_stale_version_is_a_conflict_and_what_was_typed_is_kept(
    scoped, login, developer, admin_member, open_ticket
):
    ticket = open_ticket()
    seen = ticket.version
    decision_record(ticket=ticket, actor=admin_member, classification="included", version=seen)
    client = login(developer)
    payload = {"classification": "unclear", "version": seen, "reason": "My typed reason"}
    response = client.post(url("ticket_decide", ticket.organization, pk=ticket.pk), payload,
                           headers=HTMX)  # fmt: skip
    page = body(response)
    assert response.status_code == 200  # htmx swaps 2xx only: the conflict is in the prompt
    assert 'data-testid="decision-conflict"' in page
    assert "Nothing was saved" in page and "<strong>included</strong>" in page
    assert f"(version {seen + 1})" in page
    assert "My typed reason" in page
    assert f'id="decision-version" value="{seen + 1}"' in page
    assert BillingDecision.objects.count() == 1
    response = client.post(url("ticket_decide", ticket.organization, pk=ticket.pk), payload)
    assert response.status_code == 409 and "My typed reason" in body(response)


def test_outside_normal_support_raises_a_moment(scoped, login, developer, open_ticket):
    ticket = open_ticket()
    decision_record(ticket=ticket, actor=developer, classification="included", version=1)
    response = login(developer).post(
        url("ticket_out_of_scope", ticket.organization, pk=ticket.pk),
        {"out_of_scope-note": "They want a new VPN site"},
        headers=HTMX,
    )
    page = body(response)
    assert "Flagged as outside normal support" in page
    assert "They want a new VPN site" in page
    assert '<details id="decide" open>' in page
    moment = BillingMoment.objects.get(ticket=ticket, kind="out_of_scope")
    assert moment.status == "open" and moment.raised_by == developer


def test_the_client_asking_for_a_change_raises_a_moment(scoped, login, developer, open_ticket):
    ticket = open_ticket()
    response = login(developer).post(
        url("ticket_change_request", ticket.organization, pk=ticket.pk),
        {"change_request-note": ""},
    )
    assert response.status_code == 302
    moment = BillingMoment.objects.get(ticket=ticket, kind="change_request")
    assert moment.detail == "The client asked for a change, not a fix."


def test_moving_to_implementation_raises_a_moment_and_refreshes_the_status(
    scoped, login, developer, open_ticket
):
    ticket = open_ticket()
    response = login(developer).post(
        url("ticket_move_to_implementation", ticket.organization, pk=ticket.pk),
        {"version": ticket.version},
        headers=HTMX,
    )
    page = body(response)
    assert "Moved to implementation" in page
    assert "Moved from investigation to implementation" in page
    assert re.search(r'id="ticket-status"[^>]*hx-swap-oob="true"', page)
    assert "<dt>Phase</dt><dd>Implementation</dd>" in page
    assert "Move to implementation</button>" not in page
    ticket = fresh(ticket)
    assert ticket.phase == "implementation" and ticket.version == 2
    assert BillingMoment.objects.get(ticket=ticket, kind="phase_change").status == "open"


def test_moving_with_a_stale_version_is_a_conflict(scoped, login, developer, open_ticket):
    ticket = open_ticket()
    decision_record(ticket=ticket, actor=developer, classification="included", version=1)
    response = login(developer).post(
        url("ticket_move_to_implementation", ticket.organization, pk=ticket.pk),
        {"version": 1},
        headers=HTMX,
    )
    assert 'data-testid="decision-conflict"' in body(response)
    assert fresh(ticket).phase == "investigation"


def test_waiting_for_approval_shows_above_the_log_time_form(scoped, login, developer, open_ticket):
    ticket = open_ticket("feature")
    needs_approval(ticket, developer)
    page = body(login(developer).get(ticket_url(ticket)))
    banner = page.index('data-testid="waiting-for-approval"')
    assert banner < page.index('name="minutes"')
    assert "waiting for the account manager since" in page
    response = login(developer).post(
        reverse("tickets:ticket_log_time", kwargs={"org": "ours", "pk": ticket.pk}),
        {"work_date": organization_today(ticket.organization), "minutes": "30"},
    )
    assert response.status_code == 302
    assert TimeEntry.objects.get().billing_status == "pending_approval"


def test_the_ticket_shows_each_outcome_of_its_scope_checks(
    scoped, login, developer, account_manager, open_ticket
):
    approved, rejected, by_client = (open_ticket("feature", title=t) for t in "ABC")
    for ticket in (approved, rejected, by_client):
        needs_approval(ticket, developer)
    checks = {c.ticket_id: c for c in ScopeCheck.objects.all()}
    scope_check_approve(check=checks[approved.pk], actor=account_manager)
    scope_check_reject(check=checks[rejected.pk], actor=account_manager, note="Quote it")
    asked = scope_check_ask_client(
        check=checks[by_client.pk],
        actor=account_manager,
        client_email="cto@acme.example",
        link_url=lambda token: token,
    )
    scope_check_client_answer(
        token=scope_check_client_link(check=asked), approve=True, name="Carla CTO", ip=None
    )
    client = login(developer)
    assert "Approved by" in body(client.get(ticket_url(approved)))
    page = body(client.get(ticket_url(rejected)))
    assert "Rejected by" in page and "<em>Quote it</em>" in page
    page = body(client.get(ticket_url(by_client)))
    assert "Client approved by <strong>Carla CTO</strong> at" in page
    assert "Client approved the change (Carla CTO" in page  # the decision history
    assert 'data-testid="waiting-for-approval"' not in page


def test_the_decision_history_says_who_when_why_and_the_rule(scoped, login, developer, open_ticket):
    ticket = open_ticket()
    decision_record(
        ticket=ticket, actor=developer, classification="billable", version=1, reason="Misuse"
    )
    page = body(login(developer).get(ticket_url(ticket)))
    row = page.split('data-testid="decision"')[1].split("</tr>")[0]
    assert developer.user.username in row and "Billable" in row and "Misuse" in row
    assert "against the rule" in row and "Troubleshooting — included, about 60 min" in row


# --- work after the fact ---------------------------------------------------------------
def after_the_fact_data(terms, **overrides):
    return {
        "client": terms["client"].pk,
        "request_type": terms["rules"]["troubleshooting"].request_type.pk,
        "title": "Reset Bob's VPN over the phone",
        "minutes": "0:25",
        "work_date": "",
        "source": "phone",
        "classification": "",
        "reason": "",
        "notes": "",
        **overrides,
    }


def test_work_after_the_fact_becomes_a_ticket_with_its_time_and_decision(
    scoped, login, developer, org, terms
):
    client = login(developer)
    assert client.get(url("after_the_fact", org)).status_code == 200
    today = organization_today(org).isoformat()
    response = client.post(url("after_the_fact", org), after_the_fact_data(terms, work_date=today))
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response["Location"] == ticket_url(ticket)
    assert (ticket.source, ticket.classification, ticket.logged_minutes) == (
        "phone",
        "included",
        25,
    )
    assert TimeEntry.objects.get().billing_status == "included"
    assert BillingDecision.objects.get().decided_by == developer


def test_work_after_the_fact_shows_every_error_in_place_and_saves_nothing(
    scoped, login, developer, org, terms
):
    tomorrow = (organization_today(org) + datetime.timedelta(days=1)).isoformat()
    data = after_the_fact_data(terms, title=" ", minutes="0", work_date=tomorrow)
    page = body(login(developer).post(url("after_the_fact", org), data))
    assert "Give the ticket a short title." in page or "This field is required." in page
    assert "Log at least 1 minute." in page
    assert "Time can&#x27;t be logged for a future date" in page
    assert count(Ticket) == count(TimeEntry) == count(BillingDecision) == 0


def test_work_after_the_fact_against_the_rule_needs_a_reason(scoped, login, developer, org, terms):
    today = organization_today(org).isoformat()
    data = after_the_fact_data(terms, work_date=today, classification="billable")
    page = body(login(developer).post(url("after_the_fact", org), data))
    assert "say why this work is different" in page
    assert count(Ticket) == count(TimeEntry) == count(BillingDecision) == count(BillingMoment) == 0


def test_finance_does_not_log_work(scoped, login, finance, org):
    assert login(finance).get(url("after_the_fact", org)).status_code == 403


# --- the scope-check queue ------------------------------------------------------------
@pytest.fixture
def queue(org, developer, account_manager, open_ticket, terms):
    """Two checks of the account manager's client (the older one first) and
    one of another account manager's client."""
    older, newer = open_ticket("feature", title="Older"), open_ticket("feature", title="Newer")
    needs_approval(older, developer)
    needs_approval(newer, developer, estimate=90)
    ScopeCheck.objects.filter(ticket=older).update(
        created_at=timezone.now() - datetime.timedelta(days=3)
    )
    other_manager = MembershipFactory(organization=org, role=Role.ACCOUNT_MANAGER)
    theirs = TicketFactory(
        organization=org,
        client=ClientFactory(organization=org, account_manager=other_manager, name="Other Co"),
        request_type=terms["rules"]["feature"].request_type,
        title="Theirs",
        number=99,
    )
    needs_approval(theirs, developer)
    checks = {c.ticket.title: c for c in ScopeCheck.objects.select_related("ticket")}
    return checks


def titles(page: str) -> list[str]:
    return re.findall(r'id="scope-check-\d+-title"><a href="[^"]+">#\d+ ([^<]+)</a>', page)


def test_the_queue_shows_my_checks_oldest_first_with_their_age(
    scoped, login, account_manager, queue
):
    page = body(login(account_manager).get(url("scope_check_queue", account_manager.organization)))
    assert titles(page) == ["Older", "Newer"]
    assert "waiting 3\xa0days" in page
    assert "4:00" in page and "1:30" in page


def test_a_check_shows_the_time_logged_so_far_and_what_the_estimate_costs(
    scoped, login, account_manager, queue
):
    older = queue["Older"]
    Ticket.objects.filter(pk=older.ticket_id).update(logged_minutes=95)
    page = body(login(account_manager).get(url("scope_check_queue", account_manager.organization)))
    card = page[page.index(f'id="scope-check-{older.pk}"') :]
    assert "1:35 on the ticket" in card
    # 4:00 at the contract's EUR 120.00/h, snapshotted when approval was asked.
    assert "4:00 · EUR 480.00 at EUR 120.00/h" in card
    newer = queue["Newer"]
    assert (newer.rate, newer.currency, newer.estimate_amount) == (
        Decimal("120.00"),
        "EUR",
        Decimal("180.00"),
    )


def test_an_admin_sees_every_open_check(scoped, login, admin_member, queue):
    page = body(login(admin_member).get(url("scope_check_queue", admin_member.organization)))
    assert titles(page) == ["Older", "Newer", "Theirs"]


@pytest.mark.parametrize("role", [Role.DEVELOPER, Role.FINANCE])
def test_developers_and_finance_have_no_queue(scoped, login, members, queue, role):
    member = members[role]
    client = login(member)
    assert client.get(url("scope_check_queue", member.organization)).status_code == 403
    for action in ("scope_check_approve", "scope_check_reject", "scope_check_ask_client"):
        response = client.post(url(action, member.organization, pk=queue["Older"].pk))
        assert response.status_code == 403
    assert fresh(queue["Older"]).status == "pending"


def test_approving_in_place(scoped, login, account_manager, queue):
    check = queue["Older"]
    response = login(account_manager).post(
        url("scope_check_approve", account_manager.organization, pk=check.pk), headers=HTMX
    )
    page = body(response)
    assert page.lstrip().startswith(f'<article id="scope-check-{check.pk}"')
    assert "Approved: #" in page and 'data-testid="scope-check-status">Approved<' in page
    assert 'data-testid="approve"' not in page
    assert fresh(check).status == "approved"
    assert fresh(check.ticket).classification == "billable"


def test_approving_by_a_plain_post_goes_back_to_the_queue(scoped, login, account_manager, queue):
    response = login(account_manager).post(
        url("scope_check_approve", account_manager.organization, pk=queue["Older"].pk)
    )
    assert response.status_code == 302
    assert response["Location"] == url("scope_check_queue", account_manager.organization)


def test_approving_twice_says_it_is_settled(scoped, login, account_manager, queue):
    check = queue["Older"]
    scope_check_approve(check=check, actor=account_manager)
    response = login(account_manager).post(
        url("scope_check_approve", account_manager.organization, pk=check.pk), headers=HTMX
    )
    assert "This scope check is already approved." in body(response)


def test_rejecting_needs_a_note(scoped, login, account_manager, queue):
    check = queue["Older"]
    client = login(account_manager)
    reject = url("scope_check_reject", account_manager.organization, pk=check.pk)
    page = body(client.post(reject, {f"check-{check.pk}-note": ""}, headers=HTMX))
    assert "Say why, so the developer and the next person know." in page
    assert fresh(check).status == "pending"
    page = body(client.post(reject, {f"check-{check.pk}-note": "Quote it as a project"},
                            headers=HTMX))  # fmt: skip
    assert "Rejected: #" in page and "Quote it as a project" in page
    assert fresh(check).status == "rejected"
    entry = DecisionLogEntry.objects.get(kind="scope_check_rejected")
    assert entry.reason == "Quote it as a project"


def test_asking_the_client_sends_a_signed_link(
    scoped, login, account_manager, queue, django_capture_on_commit_callbacks
):
    check = queue["Older"]
    client = login(account_manager)
    ask = url("scope_check_ask_client", account_manager.organization, pk=check.pk)
    prefix = f"check-{check.pk}"
    page = body(client.post(ask, {f"{prefix}-client_email": "not an email"}, headers=HTMX))
    assert "Enter the client contact&#x27;s email address." in page
    assert 'value="not an email"' in page
    assert fresh(check).status == "pending"
    with django_capture_on_commit_callbacks(execute=True):
        page = body(
            client.post(
                ask,
                {
                    f"{prefix}-client_email": "cto@acme.example",
                    f"{prefix}-client_explanation": "A new export: about 4 hours.",
                },
                headers=HTMX,
            )
        )
    assert "Sent to cto@acme.example" in page and "Waiting for the client" in page
    check = fresh(check)
    assert check.status == "awaiting_client" and check.client_explanation.startswith("A new")
    message = mail.outbox[-1]
    assert message.to == ["cto@acme.example"]
    link = re.search(r"http://testserver/client/scope-checks/([^/\s]+)/", message.body)
    assert link is not None
    # The link in the mail is the check's (the signature's timestamp may differ by a second).
    assert scope_check_from_link(token=link.group(1)) == check


# --- the decision log -------------------------------------------------------------------
def test_the_decision_log_lists_a_clients_unusual_calls(
    scoped, login, developer, finance, account_manager, open_ticket, terms, org
):
    ticket = open_ticket()
    decision_record(
        ticket=ticket, actor=developer, classification="billable", version=1, reason="Misuse"
    )
    other = TicketFactory(organization=org, client=ClientFactory(organization=org), title="X")
    DecisionLogEntry.objects.create(
        organization=org, kind="write_off", client=other.client, ticket=other,
        summary="Someone else's write-off", reason="Goodwill",
    )  # fmt: skip
    client_page = body(login(finance).get(
        reverse("clients:client_detail", kwargs={"org": org.slug, "pk": terms["client"].pk})
    ))  # fmt: skip
    log_url = url("decision_log", org, pk=terms["client"].pk)
    assert f'href="{log_url}"' in client_page
    page = body(login(finance).get(log_url))
    assert page.count('data-testid="decision-log-entry"') == 1
    row = page.split('data-testid="decision-log-entry"')[1].split("</tr>")[0]
    assert "Rule overridden" in row and "Misuse" in row and developer.user.username in row
    assert f'href="{ticket_url(ticket)}"' in row
    assert "Someone else" not in page
    filtered = body(login(finance).get(log_url, {"kind": "write_off"}, headers=HTMX))
    assert 'data-testid="decision-log-entry"' not in filtered


# --- query budgets -------------------------------------------------------------------
# The ticket page's budget (tests/tickets/test_query_budgets.py) plus the
# prompt's two reads once the ticket has decisions: its decisions, its checks.
TICKET_PAGE_WITH_DECISIONS_BUDGET = (
    17  # with the navigation counts (one query), portions, my running timer
)
QUEUE_BUDGET = 9
DECISION_LOG_BUDGET = 10  # + my running timer in the menu


@pytest.mark.parametrize("rows", [2, 50])
def test_the_ticket_page_with_decisions_has_a_fixed_query_budget(
    scoped, login, developer, account_manager, open_ticket, rows, django_assert_max_num_queries
):
    ticket = open_ticket("feature")
    for i in range(rows - 1):
        ticket.refresh_from_db()
        decision_record(
            ticket=ticket,
            actor=MembershipFactory(organization=ticket.organization),
            classification="unclear",
            version=ticket.version,
            reason=f"Reason {i}",
        )
    needs_approval(ticket, developer)
    scope_check_reject(check=ScopeCheck.objects.get(), actor=account_manager, note="No")
    needs_approval(ticket, developer)
    client = login(developer)
    page_url = ticket_url(ticket)
    with django_assert_max_num_queries(TICKET_PAGE_WITH_DECISIONS_BUDGET):
        response = client.get(page_url)
    assert body(response).count('data-testid="scope-check-outcome"') == 2


@pytest.mark.parametrize("rows", [2, 50])
def test_the_queue_has_a_fixed_query_budget(
    scoped, login, admin_member, org, terms, rows, django_assert_max_num_queries
):
    for _ in range(rows):
        manager = MembershipFactory(organization=org, role=Role.ACCOUNT_MANAGER)
        requester = MembershipFactory(organization=org, role=Role.DEVELOPER)
        ticket = TicketFactory(
            organization=org,
            client=ClientFactory(organization=org, account_manager=manager),
            request_type=terms["rules"]["feature"].request_type,
        )
        needs_approval(ticket, requester)
    client = login(admin_member)
    with django_assert_max_num_queries(QUEUE_BUDGET):
        response = client.get(url("scope_check_queue", org))
    assert body(response).count('data-testid="scope-check"') == rows


@pytest.mark.parametrize("rows", [2, 50])
def test_the_decision_log_has_a_fixed_query_budget(
    scoped, login, developer, org, terms, rows, django_assert_max_num_queries
):
    for i in range(rows):
        ticket = TicketFactory(organization=org, client=terms["client"])
        DecisionLogEntry.objects.create(
            organization=org,
            kind="client_exception",
            client=terms["client"],
            ticket=ticket,
            actor=MembershipFactory(organization=org),
            summary=f"Exception {i}",
        )
    client = login(developer)
    with django_assert_max_num_queries(DECISION_LOG_BUDGET):
        response = client.get(url("decision_log", org, pk=terms["client"].pk))
    assert body(response).count('data-testid="decision-log-entry"') == rows


def test_the_ticket_page_reclassifies_named_entries_with_a_reason(
    login, org, developer, open_ticket
):
    ticket, entry = decided_entry(org, open_ticket, developer)
    client = login(developer)
    page = client.get(
        reverse("tickets:ticket_detail", kwargs={"org": org.slug, "number": ticket.number})
    )
    assert b"Reclassify earlier work" in page.content
    url = reverse("billing:ticket_reclassify", kwargs={"org": org.slug, "pk": ticket.pk})
    post = {"entries": [entry.pk], "classification": "billable", "version": ticket.version}
    refused = client.post(url, {**post, "reason": ""}, follow=True)
    assert b"Nothing was reclassified" in refused.content
    done = client.post(url, {**post, "reason": "A new report, not a fix"}, follow=True)
    assert b"Reclassified 1 entries" in done.content
    with activate_organization(org):
        entry.refresh_from_db()
        assert entry.billing_status == "billable"
        assert DecisionLogEntry.objects.filter(kind="reclassified").count() == 1


# --- the ticket page around the next decision -------------------------------------
def log_minutes(client, ticket, minutes):
    return client.post(
        reverse(
            "tickets:ticket_log_time", kwargs={"org": ticket.organization.slug, "pk": ticket.pk}
        ),
        {"work_date": organization_today(ticket.organization).isoformat(), "minutes": minutes},
        headers=HTMX,
    )


def test_the_open_question_heads_the_page_with_its_numbers(scoped, login, developer, open_ticket):
    ticket = open_ticket()
    page = body(login(developer).get(ticket_url(ticket)))
    question = page.index('data-testid="prompt-question"')
    assert "New Troubleshooting ticket — included, as the rule suggests?" in page
    assert question < page.index('id="time-entries"') < page.index('id="billing-history"')
    assert re.search(r'<details id="decide"\s+open', page)


def test_time_that_opens_a_question_brings_the_prompt_back_open_with_the_numbers(
    scoped, login, developer, open_ticket
):
    ticket = open_ticket()
    client = login(developer)
    decide(client, ticket, "included")
    quiet = body(log_minutes(client, ticket, "30"))
    # Nothing new to ask: the prompt keeps what is typed in it.
    assert 'id="billing-prompt"' not in quiet
    assert re.search(r'id="ticket-header"[^>]*hx-swap-oob="true"', quiet)
    assert "0:30 logged" in quiet

    answer = body(log_minutes(client, ticket, "1:00"))  # 1:30 against about 1:00
    assert re.search(r'<section id="billing-prompt"[^>]*hx-swap-oob="true"', answer)
    assert "1:30 logged vs about 1:00 — still included?" in answer
    assert re.search(r'<details id="decide"\s+open', answer)
    assert answer.count("60 min on") == 1  # the confirmation, once
    for part in ("messages", "billing-moments", "nav-flags", "waiting-for-approval"):
        assert re.search(rf'id="{part}"[^>]*hx-swap-oob="true"', answer), part
    assert "Logged time passed the expected time — <em>open</em>" in answer
