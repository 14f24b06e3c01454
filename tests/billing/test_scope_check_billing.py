"""How approved extra work is billed (``ScopeCheck.bill_as``): the developer
may propose it when asking for approval, the account manager settles it when
approving or asking the client (service, page, API), it is fixed once the
check is answered and can't change while the check's work is in a locked
period; the pricing bills the change at the estimate × rate; the client reads
which way the change is billed.

The ``terms`` client is on a retainer at 120.00/h with 15-minute increments."""

import datetime
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from billing.models import BillingDecision, BillingPeriod, InvoiceLine, ScopeCheck
from billing.pricing import price_client_month
from billing.services import (
    ScopeCheckRequest,
    scope_check_approve,
    scope_check_ask_client,
    scope_check_client_answer,
    scope_check_client_link,
)
from billing.services.periods import PeriodLocked, period_get
from tests.billing.helpers import decide, log
from tests.tickets.helpers import fresh
from tickets.services import organization_today

D = Decimal
CHECKS = "/api/v1/scope-checks/"
DECISIONS = "/api/v1/decisions/"
HTMX = {"HX-Request": "true"}
ESTIMATE = ScopeCheck.BillAs.ESTIMATE
ACTUAL = ScopeCheck.BillAs.ACTUAL


def ask_approval(ticket, developer, estimate=240, bill_as=ACTUAL) -> ScopeCheck:
    decide(
        ticket,
        developer,
        "needs_approval",
        reason="A new report is a feature",
        scope_check=ScopeCheckRequest(estimate_minutes=estimate, bill_as=bill_as),
    )
    return ScopeCheck.objects.get(ticket=ticket)


def this_month(org):
    return organization_today(org).replace(day=1)


def change_lines(client, org):
    charges = price_client_month(client=client, month=this_month(org))
    return [line for line in charges.lines if line.kind == InvoiceLine.Kind.CHANGE]


def approve_url(org, check):
    return reverse("billing:scope_check_approve", kwargs={"org": org.slug, "pk": check.pk})


def lock_this_month(client, org):
    period = period_get(client=client, month=this_month(org))
    BillingPeriod.objects.filter(pk=period.pk).update(status=BillingPeriod.Status.LOCKED)


@pytest.fixture
def check(scoped, developer, open_ticket):
    return ask_approval(open_ticket("feature", title="Sales report"), developer)


# --- the service --------------------------------------------------------------------------
def test_a_check_is_billed_at_the_actual_time_unless_someone_says_otherwise(
    check, developer, account_manager, terms, org
):
    assert check.bill_as == ACTUAL
    approved = scope_check_approve(check=check, actor=account_manager)
    assert approved.bill_as == ACTUAL
    log(check.ticket, developer, 50)
    [change] = change_lines(terms["client"], org)
    # 50 min → 60 (15-min increments) × 120.00/h = 120.00
    assert (change.scope_check_id, change.billed_minutes, change.amount) == (
        check.pk,
        60,
        D("120.00"),
    )


def test_approving_at_the_estimate_bills_estimate_times_rate_whatever_the_time(
    check, developer, account_manager, terms, org
):
    approved = scope_check_approve(check=check, actor=account_manager, bill_as=ESTIMATE)
    assert fresh(check).bill_as == ESTIMATE and approved.status == "approved"
    decision = BillingDecision.objects.get(scope_check=check)
    assert "billed at the approved estimate of 4:00 h" in decision.reason
    log(check.ticket, developer, 50)
    [change] = change_lines(terms["client"], org)
    # the estimate: 240 min × 120.00/h = 480.00, though 50 min were logged
    assert (change.scope_check_id, change.minutes, change.billed_minutes) == (check.pk, 50, 240)
    assert change.amount == D("480.00")
    assert change.quantity == D("4.0000")


def test_the_developers_proposal_stands_unless_the_account_manager_changes_it(
    scoped, developer, account_manager, open_ticket
):
    proposed = ask_approval(open_ticket("feature"), developer, bill_as=ESTIMATE)
    assert proposed.bill_as == ESTIMATE
    assert scope_check_approve(check=proposed, actor=account_manager).bill_as == ESTIMATE
    overruled = ask_approval(open_ticket("feature"), developer, bill_as=ESTIMATE)
    approved = scope_check_approve(check=overruled, actor=account_manager, bill_as=ACTUAL)
    assert approved.bill_as == ACTUAL and fresh(overruled).bill_as == ACTUAL


def test_an_unknown_way_of_billing_is_refused_on_its_field(
    check, developer, account_manager, open_ticket
):
    with pytest.raises(ValidationError) as refused:
        scope_check_approve(check=check, actor=account_manager, bill_as="fixed")
    assert list(refused.value.message_dict) == ["bill_as"]
    assert fresh(check).status == "pending" and fresh(check).bill_as == ACTUAL
    ticket = open_ticket("feature")
    with pytest.raises(ValidationError) as refused:
        ask_approval(ticket, developer, bill_as="fixed")
    assert "bill_as" in refused.value.message_dict
    assert not ScopeCheck.objects.filter(ticket=ticket).exists()


def test_how_it_is_billed_is_fixed_once_approved(check, account_manager):
    scope_check_approve(check=check, actor=account_manager)
    with pytest.raises(ValidationError, match="already approved"):
        scope_check_approve(check=check, actor=account_manager, bill_as=ESTIMATE)
    assert fresh(check).bill_as == ACTUAL


def test_asking_the_client_says_how_the_change_is_billed_and_the_client_approves_that(
    check, developer, account_manager, terms, org
):
    asked = scope_check_ask_client(
        check=check,
        actor=account_manager,
        client_email="cto@acme.example",
        link_url=lambda token: token,
        bill_as=ESTIMATE,
    )
    assert asked.bill_as == ESTIMATE
    answered = scope_check_client_answer(
        token=scope_check_client_link(check=asked), approve=True, name="Carla", ip=None
    )
    assert (answered.status, answered.bill_as) == ("client_approved", ESTIMATE)
    log(check.ticket, developer, 200)
    [change] = change_lines(terms["client"], org)
    # 200 min logged, the estimate charged: 240 min × 120.00/h = 480.00
    assert (change.minutes, change.billed_minutes, change.amount) == (200, 240, D("480.00"))
    assert "At the approved estimate: 240 min × 120.00/h = 480.00" in change.computation


def test_changing_it_is_refused_while_the_checks_work_is_in_a_locked_period(
    scoped, developer, account_manager, open_ticket, terms, org
):
    ticket = open_ticket("feature")
    log(ticket, developer, 30)  # waits for the check's answer
    check = ask_approval(ticket, developer)
    lock_this_month(terms["client"], org)
    with pytest.raises(PeriodLocked) as refused:
        scope_check_approve(check=check, actor=account_manager, bill_as=ESTIMATE)
    assert list(refused.value.message_dict) == ["bill_as"]
    assert "is locked" in refused.value.message_dict["bill_as"][0]
    assert (fresh(check).status, fresh(check).bill_as) == ("pending", ACTUAL)


def test_the_tickets_earlier_work_in_a_locked_period_does_not_matter(
    scoped, developer, account_manager, open_ticket, terms, org
):
    ticket = open_ticket("feature", opened_at=timezone.now() - datetime.timedelta(days=60))
    earlier = log(ticket, developer, 30, days_ago=40)
    decide(ticket, developer, "included", reason="A small tweak, part of the support")
    period = period_get(client=terms["client"], month=earlier.work_date)
    BillingPeriod.objects.filter(pk=period.pk).update(status=BillingPeriod.Status.LOCKED)
    check = ask_approval(ticket, developer)
    approved = scope_check_approve(check=check, actor=account_manager, bill_as=ESTIMATE)
    assert approved.bill_as == ESTIMATE


# --- the page -----------------------------------------------------------------------------
def test_the_queue_offers_both_ways_with_the_proposal_chosen(
    scoped, login, developer, account_manager, open_ticket
):
    check = ask_approval(open_ticket("feature"), developer, bill_as=ESTIMATE)
    page = login(account_manager).get(
        reverse("billing:scope_check_queue", kwargs={"org": check.organization.slug})
    )
    html = page.content.decode()
    name = f"check-{check.pk}-bill_as"
    assert re.search(rf'<input type="radio" name="{name}" value="estimate"[^>]*checked', html)
    assert not re.search(rf'<input type="radio" name="{name}" value="actual"[^>]*checked', html)
    assert "at the approved estimate of 4:00 h, whatever the time spent" in html
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))  # the approve and ask forms' choices apart


def test_approving_at_the_estimate_in_place(check, login, developer, account_manager, terms, org):
    response = login(account_manager).post(
        approve_url(org, check), {f"check-{check.pk}-bill_as": "estimate"}, headers=HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Approved: #" in html and "billable, at the approved estimate of 4:00 h." in html
    assert (fresh(check).status, fresh(check).bill_as) == ("approved", ESTIMATE)
    log(check.ticket, developer, 50)
    [change] = change_lines(terms["client"], org)
    assert (change.billed_minutes, change.amount) == (240, D("480.00"))  # 4 h × 120.00


def test_an_unknown_way_of_billing_is_an_error_on_the_form(check, login, account_manager, org):
    response = login(account_manager).post(
        approve_url(org, check), {f"check-{check.pk}-bill_as": "fixed"}, headers=HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Choose how the approved work is billed" in html
    assert re.search(r'<fieldset data-testid="bill-as">.*errorlist', html, re.S)
    assert fresh(check).status == "pending"


def test_the_page_says_when_a_locked_period_refuses_the_change(
    scoped, login, developer, account_manager, open_ticket, terms, org
):
    ticket = open_ticket("feature")
    log(ticket, developer, 30)
    check = ask_approval(ticket, developer)
    lock_this_month(terms["client"], org)
    response = login(account_manager).post(
        approve_url(org, check), {f"check-{check.pk}-bill_as": "estimate"}, headers=HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "is locked: nothing in it can change" in html
    assert fresh(check).status == "pending"


def test_a_developer_proposes_from_the_ticket_page(scoped, login, developer, open_ticket):
    ticket = open_ticket("feature")
    ticket.refresh_from_db()
    response = login(developer).post(
        reverse("billing:ticket_decide", kwargs={"org": ticket.organization.slug, "pk": ticket.pk}),
        {
            "classification": "needs_approval",
            "version": ticket.version,
            "reason": "A new report",
            "estimate_minutes": "4:00",
            "bill_as": "estimate",
        },
        headers=HTMX,
    )
    assert response.status_code == 200
    assert ScopeCheck.objects.get(ticket=ticket).bill_as == ESTIMATE


# --- the API ------------------------------------------------------------------------------
def test_approving_at_the_estimate_through_the_api(
    check, api, developer, account_manager, terms, org
):
    response = api(account_manager).post(f"{CHECKS}{check.pk}/approve/", {"bill_as": "estimate"})
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["bill_as"]) == ("approved", "estimate")
    log(check.ticket, developer, 50)
    [change] = change_lines(terms["client"], org)
    assert (change.billed_minutes, change.amount) == (240, D("480.00"))  # 4 h × 120.00


def test_an_unknown_way_of_billing_is_a_400_on_its_field(check, api, account_manager):
    client = api(account_manager)
    response = client.post(f"{CHECKS}{check.pk}/approve/", {"bill_as": "fixed"})
    assert response.status_code == 400 and list(response.json()["fields"]) == ["bill_as"]
    response = client.post(
        f"{CHECKS}{check.pk}/ask-client/", {"client_email": "cto@acme.example", "bill_as": "x"}
    )
    assert response.status_code == 400 and list(response.json()["fields"]) == ["bill_as"]
    assert (fresh(check).status, fresh(check).bill_as) == ("pending", ACTUAL)


def test_the_api_refuses_a_change_in_a_locked_period_with_a_409(
    scoped, api, developer, account_manager, open_ticket, terms, org
):
    ticket = open_ticket("feature")
    log(ticket, developer, 30)
    check = ask_approval(ticket, developer)
    lock_this_month(terms["client"], org)
    response = api(account_manager).post(f"{CHECKS}{check.pk}/approve/", {"bill_as": "estimate"})
    assert response.status_code == 409 and list(response.json()["fields"]) == ["bill_as"]
    assert fresh(check).status == "pending"


def test_the_api_keeps_it_fixed_once_approved(check, api, account_manager):
    client = api(account_manager)
    assert client.post(f"{CHECKS}{check.pk}/approve/", {}).json()["bill_as"] == "actual"
    response = client.post(f"{CHECKS}{check.pk}/approve/", {"bill_as": "estimate"})
    assert response.status_code == 400 and "already approved" in str(response.json())
    assert client.get(f"{CHECKS}{check.pk}/").json()["bill_as"] == "actual"


def test_a_developer_proposes_through_the_api(scoped, api, developer, open_ticket):
    ticket = open_ticket("feature")
    ticket.refresh_from_db()
    payload = {
        "ticket": ticket.pk,
        "classification": "needs_approval",
        "version": ticket.version,
        "reason": "A new report",
        "estimate_minutes": 240,
    }
    response = api(developer).post(DECISIONS, {**payload, "bill_as": "hourly"})
    assert response.status_code == 400 and list(response.json()["fields"]) == ["bill_as"]
    response = api(developer).post(DECISIONS, {**payload, "bill_as": "estimate"})
    assert response.status_code == 201
    assert ScopeCheck.objects.get(ticket=ticket).bill_as == ESTIMATE


def test_asking_the_client_through_the_api_sets_it(check, api, account_manager):
    response = api(account_manager).post(
        f"{CHECKS}{check.pk}/ask-client/",
        {"client_email": "cto@acme.example", "bill_as": "estimate"},
    )
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["bill_as"]) == (
        "awaiting_client",
        "estimate",
    )


# --- the client's page --------------------------------------------------------------------
@pytest.mark.parametrize(
    "bill_as,wording",
    [
        (ESTIMATE, "billed <strong>at the approved estimate of 4:00 h</strong>"),
        (ACTUAL, "billed <strong>at the time spent</strong>"),
    ],
)
def test_the_client_reads_which_way_the_change_is_billed(
    check, client, account_manager, bill_as, wording
):
    asked = scope_check_ask_client(
        check=check,
        actor=account_manager,
        client_email="cto@acme.example",
        link_url=lambda token: token,
        bill_as=bill_as,
    )
    token = scope_check_client_link(check=asked)
    page = client.get(reverse("public:client_scope_check", kwargs={"token": token}))
    html = page.content.decode()
    assert page.status_code == 200
    [billed] = re.findall(r'<p data-testid="client-billed-as">(.*?)</p>', html)
    assert wording in billed
    other = "at the time spent" if bill_as == ESTIMATE else "at the approved estimate"
    assert other not in billed
