"""Browser journeys in Chromium: a developer answers the billing prompt and
logs time; a developer flags out-of-scope work and asks for approval, the
account manager asks the client, the client approves through the link and
the developer sees it approved; time past the expected time is flagged when
it is logged and settled from the weekly review."""

import datetime
import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from billing.models import BillingDecision, ExceptionFlag, ScopeCheck
from billing.services import decision_record
from billing.services.review import review_queue_build
from clients import services as client_services
from clients.models import Contract, Treatment
from msops.tenancy.models import Role
from msops.tenancy.scoping import activate_organization
from msops.tenancy.services import membership_create, organization_create, user_create
from tickets.models import Ticket, TimeEntry
from tickets.services import ticket_open

pytest_plugins = ["tests.browser_fixtures"]
pytestmark = pytest.mark.browser

PASSWORD = "a-long-browser-test-password"


@pytest.fixture
def practice(transactional_db):
    """A practice with a developer and an account manager, a client on a
    retainer that includes troubleshooting, and one open ticket."""
    organization = organization_create(
        name="Fabrikam Managed IT", slug="fabrikam", timezone="Europe/Amsterdam", currency="EUR"
    )
    dana = user_create(username="dana", password=PASSWORD, first_name="Dana", last_name="Dev")
    alex = user_create(
        username="alex", password=PASSWORD, email="alex@fabrikam.example", first_name="Alex"
    )
    with activate_organization(organization):
        developer = membership_create(organization=organization, user=dana, role=Role.DEVELOPER)
        manager = membership_create(organization=organization, user=alex, role=Role.ACCOUNT_MANAGER)
        client = client_services.client_create(
            organization=organization,
            name="Acme Dental",
            account_manager=manager,
            billing_notes="Quote the PO number on every invoice.",
        )
        contract = client_services.contract_create(
            organization=organization,
            client=client,
            name="Managed support",
            kind=Contract.Kind.RETAINER,
            starts_on=datetime.date(2025, 1, 1),
            terms={"fee": "2500.00", "included_minutes": 1200, "hourly_rate": "120.00"},
        )
        troubleshooting = client_services.request_type_create(
            organization=organization, name="Troubleshooting", expected_minutes=60
        )
        client_services.scope_rule_create(
            organization=organization,
            contract=contract,
            request_type=troubleshooting,
            treatment=Treatment.INCLUDED,
            expected_minutes=60,
            explanation="Covered by the retainer.",
        )
        ticket = ticket_open(
            organization=organization,
            opened_by=developer,
            client=client,
            request_type=troubleshooting,
            title="Printer on floor 2 offline",
            assignee=developer,
        )
    return {"organization": organization, "ticket": ticket, "developer": developer}


def log_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/o/"))


def ticket_path(practice) -> str:
    return f"/o/{practice['organization'].slug}/tickets/{practice['ticket'].number}/"


def stored_ticket(practice) -> Ticket:
    with activate_organization(practice["organization"]):
        return Ticket.objects.get(pk=practice["ticket"].pk)


def test_a_developer_answers_the_prompt_and_logs_time(http_live_server, practice, page):
    log_in(page, "dana")
    page.goto(ticket_path(practice))
    prompt = page.locator("#billing-prompt")
    expect(prompt.get_by_test_id("open-moment")).to_contain_text(
        "Ticket opened under a request type"
    )
    expect(prompt.get_by_test_id("prompt-rule")).to_contain_text(
        "Troubleshooting — included, about 60 min"
    )
    expect(prompt.get_by_test_id("suggested-classification")).to_have_text("Included")
    expect(prompt.get_by_test_id("prompt-billing-notes")).to_contain_text("Quote the PO number")
    page.evaluate("window.__sameDocument = true")

    # Against the rule without a reason: the service's message, in place.
    prompt.get_by_test_id("decide-billable").click()
    expect(page.locator("#billing-prompt .errorlist")).to_contain_text(
        "The rule suggests included: say why this work is different."
    )
    # Following the suggestion needs no reason.
    page.locator("#billing-prompt").get_by_test_id("decide-included").click()
    expect(page.locator("#messages")).to_contain_text("Decided: included.")
    expect(page.get_by_test_id("current-classification")).to_contain_text("included")
    expect(page.get_by_test_id("decision")).to_contain_text("Dana Dev")
    expect(page.get_by_test_id("what-happened")).to_contain_text("Nothing waits for a decision.")

    # The time entry takes the decision's billing status.
    page.locator("#time-entries input[name=minutes]").fill("0:30")
    page.locator("#time-entries textarea[name=notes]").fill("Cleared the spooler")
    page.get_by_role("button", name="Log time").click()
    expect(page.get_by_test_id("logged-total")).to_have_text("0:30 logged")
    expect(page.get_by_test_id("time-entry")).to_contain_text("Included")

    # The status box got the new version with the decision: saving it works.
    page.locator("#ticket-status select[name=status]").select_option("in_progress")
    page.locator("#ticket-status").get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("ticket-status")).to_have_text("In progress")
    expect(page.get_by_test_id("conflict")).to_have_count(0)
    # …and the prompt picked up the status box's new version: deciding again works.
    expect(page.locator("#decision-version")).to_have_value("3")
    page.locator("#billing-prompt summary").filter(has_text="Decide again").click()
    page.locator("#decision-form textarea[name=reason]").fill("Might be their own printer")
    page.locator("#billing-prompt").get_by_test_id("decide-unclear").click()
    expect(page.locator("#messages")).to_contain_text("Decided: unclear.")
    expect(page.get_by_test_id("decision-conflict")).to_have_count(0)
    # Decisions apply forward: the 0:30 already decided keeps its meaning.
    expect(page.get_by_test_id("time-entry")).to_contain_text("Included")
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"

    ticket = stored_ticket(practice)
    assert (ticket.classification, ticket.status, ticket.logged_minutes) == (
        "unclear",
        "in_progress",
        30,
    )
    with activate_organization(practice["organization"]):
        assert TimeEntry.objects.get().billing_status == "included"  # decided before: kept
        assert [d.classification for d in BillingDecision.objects.order_by("pk")] == [
            "included",
            "unclear",
        ]


def test_out_of_scope_work_is_approved_by_the_client_through_the_link(
    http_live_server, practice, page, browser
):
    organization = practice["organization"]
    log_in(page, "dana")
    page.goto(ticket_path(practice))
    page.evaluate("window.__sameDocument = true")

    # The developer flags the work and asks for approval. With the opening
    # question still open, the other actions wait behind their disclosures.
    expect(page.locator("#id_out_of_scope-note")).to_be_hidden()
    page.locator("#ticket-actions-box summary").click()
    page.locator("#id_out_of_scope-note").fill("They want a second printer installed")
    page.get_by_role("button", name="Outside normal support").click()
    expect(page.get_by_test_id("what-happened")).to_contain_text(
        "They want a second printer installed"
    )
    page.locator("#decision-form textarea[name=reason]").fill("Installing hardware is not support")
    page.locator("#approval-details summary").click()
    page.locator("#decision-form input[name=estimate_minutes]").fill("2:00")
    page.locator("#decision-form textarea[name=client_explanation]").fill(
        "Installing and configuring a second printer: about 2 hours."
    )
    page.locator("#billing-prompt").get_by_test_id("decide-needs_approval").click()
    expect(page.get_by_test_id("waiting-for-approval")).to_contain_text("Waiting for approval")
    expect(page.get_by_test_id("scope-check-status")).to_have_text(
        "Waiting for the account manager"
    )
    assert page.evaluate("window.__sameDocument === true")

    # The account manager asks the client from the queue.
    manager_context = browser.new_context(base_url=http_live_server.url)
    manager = manager_context.new_page()
    try:
        log_in(manager, "alex")
        manager.goto(f"/o/{organization.slug}/billing/scope-checks/")
        row = manager.get_by_test_id("scope-check")
        expect(row).to_contain_text("Printer on floor 2 offline")
        expect(row.get_by_test_id("scope-check-age")).to_contain_text("waiting")
        row.get_by_text("Ask the client").click()
        row.get_by_label("Client contact's email").fill("carla@acme.example")
        explanation = row.get_by_label("What the client will read")
        expect(explanation).to_have_value(
            "Installing and configuring a second printer: about 2 hours."
        )
        explanation.fill("Installing and configuring a second printer: about 2 hours, €240.")
        row.get_by_role("button", name="Send to the client").click()
        expect(manager.get_by_test_id("scope-check-status")).to_have_text("Waiting for the client")
    finally:
        manager_context.close()

    # The client approves through the link in the email: no login.
    emails = [m for m in mail.outbox if m.to == ["carla@acme.example"]]
    assert len(emails) == 1
    url = re.search(r"https?://\S+/client/scope-checks/\S+/", emails[0].body).group(0)
    client_context = browser.new_context()
    client_page = client_context.new_page()
    try:
        client_page.goto(url)
        expect(client_page.get_by_role("heading", level=1)).to_have_text(
            "Fabrikam Managed IT asks for your approval"
        )
        expect(client_page.get_by_test_id("client-change")).to_contain_text("€240")
        expect(client_page.get_by_test_id("client-estimate")).to_contain_text("2:00 hours")
        client_page.get_by_label("Your name").fill("Carla Chen")
        client_page.get_by_role("button", name="Approve the change").click()
        expect(client_page.get_by_test_id("client-answered")).to_contain_text(
            "Thank you, Carla Chen"
        )
        client_page.goto(url)  # the link works once
        expect(client_page.get_by_test_id("link-refused")).to_contain_text("already used")
        expect(client_page.get_by_text("Printer on floor 2")).to_have_count(0)
    finally:
        client_context.close()

    # The developer sees it approved.
    page.reload()
    outcome = page.get_by_test_id("scope-check-outcome")
    expect(outcome.get_by_test_id("scope-check-status")).to_have_text("Approved by the client")
    expect(outcome).to_contain_text("Client approved by Carla Chen at")
    expect(page.get_by_test_id("current-classification")).to_contain_text("billable")
    expect(page.get_by_test_id("waiting-for-approval")).to_have_count(0)

    with activate_organization(organization):
        check = ScopeCheck.objects.get()
    assert check.status == "client_approved" and check.client_answer_name == "Carla Chen"
    assert check.client_answer_ip == "127.0.0.1"
    assert stored_ticket(practice).classification == "billable"


def test_time_past_the_expected_time_is_flagged_at_once_and_settled_in_the_weekly_review(
    http_live_server, practice, page, browser
):
    organization, ticket = practice["organization"], practice["ticket"]
    with activate_organization(organization):
        decision_record(
            ticket=ticket,
            actor=practice["developer"],
            classification="included",
            version=stored_ticket(practice).version,
        )
    log_in(page, "dana")
    page.goto(ticket_path(practice))
    page.locator("#time-entries input[name=minutes]").fill("1:30")
    page.locator("#time-entries textarea[name=notes]").fill("Replaced the fuser")
    page.get_by_role("button", name="Log time").click()
    expect(page.get_by_test_id("logged-total")).to_have_text("1:30 logged")

    manager_context = browser.new_context(base_url=http_live_server.url)
    manager = manager_context.new_page()
    try:
        # The check ran when the entry committed: the flag is there already.
        log_in(manager, "alex")
        manager.goto(f"/o/{organization.slug}/billing/flags/")
        flag = manager.get_by_test_id("flag-row")
        expect(flag).to_have_count(1)
        expect(flag).to_contain_text("Ticket over its expected time")
        expect(flag).to_contain_text("Printer on floor 2 offline")

        # The week's review (built by beat) holds it; resolving it there
        # resolves the flag, and what is left counts down in place.
        with activate_organization(organization):
            review_queue_build(organization=organization)
        manager.goto(f"/o/{organization.slug}/billing/review/")
        item = manager.locator('[data-testid="review-item"][data-kind="open_flag"]')
        expect(item).to_contain_text("Ticket over its expected time")
        expect(item.get_by_test_id("review-item-flags")).to_have_text("1 flag still open")
        left = int(manager.get_by_test_id("review-left").inner_text())
        item.get_by_label("Note on resolving this item").fill("Fuser is wear: billed separately")
        item.get_by_role("button", name="Resolve").click()
        expect(item.get_by_test_id("review-item-resolved")).to_contain_text("Resolved")
        expect(manager.get_by_test_id("review-left")).to_have_text(str(left - 1))
        manager.goto(f"/o/{organization.slug}/billing/flags/?status=resolved")
        expect(manager.get_by_test_id("flag-row")).to_contain_text("Fuser is wear")
    finally:
        manager_context.close()
    with activate_organization(organization):
        flag = ExceptionFlag.objects.get(kind="over_expected")
    assert flag.status == "resolved" and flag.resolution_note == "Fuser is wear: billed separately"
