"""The client's signed approval page: no login, one organization named by the
signed token, works once, and refuses expired, reused, tampered and foreign
links with a page that names no ticket and no organization."""

import datetime
from unittest import mock

import pytest
from django.core import signing
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from billing.models import BillingDecision, DecisionLogEntry, ScopeCheck
from billing.services import (
    CLIENT_LINK_SALT,
    ScopeCheckRequest,
    decision_record,
    scope_check_approve,
    scope_check_ask_client,
    scope_check_client_link,
    scope_check_reject,
    time_entry_log,
)
from msops.tenancy.models import Role
from msops.tenancy.scoping import activate_organization
from msops.timezones import organization_today
from tests.factories import (
    ClientFactory,
    MembershipFactory,
    RequestTypeFactory,
    TicketFactory,
)
from tests.tickets.helpers import fresh

CANARY = "CANARY-0c1e"


def link(token: str) -> str:
    return reverse("public:client_scope_check", kwargs={"token": token})


def ask(ticket, developer, manager, explanation="A monthly sales report: about 4 hours."):
    """A needs-approval decision on ``ticket`` and the client asked; returns the check."""
    with activate_organization(ticket.organization):
        ticket.refresh_from_db()
        decision_record(
            ticket=ticket,
            actor=developer,
            classification="needs_approval",
            version=ticket.version,
            reason="A new report",
            scope_check=ScopeCheckRequest(estimate_minutes=240),
        )
        check = ScopeCheck.objects.get(ticket=ticket)
        return scope_check_ask_client(
            check=check,
            actor=manager,
            client_email="cto@client.example",
            client_explanation=explanation,
            link_url=lambda token: token,
        )


@pytest.fixture
def asked(org, developer, account_manager, open_ticket):
    ticket = open_ticket("feature", title="Monthly sales report")
    check = ask(ticket, developer, account_manager)
    return {"check": check, "ticket": ticket, "token": scope_check_client_link(check=check)}


@pytest.fixture
def theirs(other_org):
    """Another organization with its own asked check; its rows carry the canary."""
    manager = MembershipFactory(organization=other_org, role=Role.ACCOUNT_MANAGER)
    developer = MembershipFactory(organization=other_org, role=Role.DEVELOPER)
    ticket = TicketFactory(
        organization=other_org,
        client=ClientFactory(organization=other_org, name=f"Client {CANARY}"),
        request_type=RequestTypeFactory(organization=other_org, name=f"Type {CANARY}"),
        title=f"Ticket {CANARY}",
    )
    check = ask(ticket, developer, manager, explanation=f"Their change {CANARY}")
    return {"check": check, "ticket": ticket, "token": scope_check_client_link(check=check)}


def assert_private(response):
    assert response["Cache-Control"] == "no-store"
    assert response["X-Robots-Tag"] == "noindex"


def assert_refused(response, status, *secrets):
    assert response.status_code == status
    assert_private(response)
    page = response.content.decode()
    assert 'data-testid="link-refused"' in page
    for secret in secrets:
        assert secret not in page


def test_the_page_explains_the_change_and_the_estimate_without_login(client, asked, org, theirs):
    response = client.get(link(asked["token"]))
    assert response.status_code == 200
    assert_private(response)
    page = response.content.decode()
    assert "Our Practice asks for your approval" in page
    assert "For Acme" in page and "Monthly sales report" in page
    assert "A monthly sales report: about 4 hours." in page
    assert "<strong>4:00 hours</strong>" in page
    assert "Stranger Practice" not in page and CANARY not in page


@pytest.mark.parametrize(
    "hops,forwarded,recorded",
    [
        (0, "198.51.100.7", "10.0.0.2"),  # no proxy configured: the claim is ignored
        (1, "198.51.100.7", "198.51.100.7"),
        (1, "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # the client's own claim is not trusted
        (2, "198.51.100.7", "10.0.0.2"),  # fewer entries than proxies: the connection
        (1, "not-an-ip", None),
    ],
)
def test_behind_a_proxy_the_address_is_the_one_it_saw(
    client, asked, settings, hops, forwarded, recorded
):
    settings.TRUSTED_PROXY_HOPS = hops
    client.post(
        link(asked["token"]),
        {"name": "Carla CTO", "answer": "approve"},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR=forwarded,
    )
    check = fresh(asked["check"])
    assert check.status == "client_approved" and check.client_answer_ip == recorded


def test_approving_records_the_name_time_and_ip_once(client, asked, developer):
    response = client.post(
        link(asked["token"]),
        {"name": "Carla CTO", "answer": "approve"},
        REMOTE_ADDR="203.0.113.9",
    )
    assert response.status_code == 200
    assert_private(response)
    assert "Thank you, Carla CTO" in response.content.decode()
    check = fresh(asked["check"])
    assert check.status == "client_approved"
    assert (check.client_answer_name, check.client_answer_ip) == ("Carla CTO", "203.0.113.9")
    assert check.client_answered_at is not None and check.client_answer_channel == "link"
    assert fresh(asked["ticket"]).classification == "billable"
    # The link works once.
    assert_refused(client.get(link(asked["token"])), 410, "Our Practice", "Monthly sales")
    again = client.post(link(asked["token"]), {"name": "Mallory", "answer": "decline"})
    assert_refused(again, 410, "Our Practice", "Monthly sales")
    assert fresh(asked["check"]).client_answer_name == "Carla CTO"


def test_declining_is_logged(client, asked):
    client.post(link(asked["token"]), {"name": "Carla", "answer": "decline"})
    assert fresh(asked["check"]).status == "client_declined"
    with scopes_disabled():
        assert DecisionLogEntry.objects.get(kind="client_declined").ticket_id == asked["ticket"].pk
    assert fresh(asked["ticket"]).classification == "included"


def test_a_name_is_required(client, asked):
    response = client.post(link(asked["token"]), {"name": " ", "answer": "approve"})
    assert response.status_code == 200
    assert "Type your name to sign your answer." in response.content.decode()
    assert fresh(asked["check"]).status == "awaiting_client"


def test_an_expired_link_is_gone(client, asked):
    with scopes_disabled():
        ScopeCheck.objects.filter(pk=asked["check"].pk).update(
            client_link_expires_at=timezone.now() - datetime.timedelta(minutes=1)
        )
    response = client.get(link(asked["token"]))
    assert_refused(response, 410, "Our Practice", "Monthly sales", "Acme")
    assert "expired" in response.content.decode()
    client.post(link(asked["token"]), {"name": "Carla", "answer": "approve"})
    assert fresh(asked["check"]).status == "awaiting_client"


def test_a_token_past_its_signed_age_is_gone(client, asked):
    week_and_a_day_ago = datetime.datetime.now().timestamp() - 8 * 24 * 3600
    with mock.patch("django.core.signing.time.time", return_value=week_and_a_day_ago):
        old = scope_check_client_link(check=fresh(asked["check"]))
    assert_refused(client.get(link(old)), 410, "Our Practice", "Monthly sales")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-2] + ("xy" if not token.endswith("xy") else "zz"),
        lambda token: "not-a-token",
        lambda token: signing.dumps({"o": 1, "c": 1, "n": "x"}, salt=CLIENT_LINK_SALT + "!"),
        lambda token: signing.dumps(["not", "a", "dict"], salt=CLIENT_LINK_SALT),
    ],
    ids=["edited", "garbage", "wrong-salt", "wrong-shape"],
)
def test_a_tampered_link_is_not_found(client, asked, tamper):
    response = client.get(link(tamper(asked["token"])))
    assert_refused(response, 404, "Our Practice", "Monthly sales", "Acme")
    client.post(link(tamper(asked["token"])), {"name": "Eve", "answer": "approve"})
    assert fresh(asked["check"]).status == "awaiting_client"


def test_a_replaced_link_no_longer_works(client, asked):
    with scopes_disabled():
        ScopeCheck.objects.filter(pk=asked["check"].pk).update(client_link_nonce="f" * 32)
    assert_refused(client.get(link(asked["token"])), 410, "Our Practice")


def test_another_organizations_token_cannot_act_on_our_check(client, asked, theirs):
    ours = fresh(asked["check"])
    # A genuinely signed token naming their organization and our check.
    crossed = signing.dumps(
        {"o": theirs["check"].organization_id, "c": ours.pk, "n": ours.client_link_nonce},
        salt=CLIENT_LINK_SALT,
        compress=True,
    )
    for response in (
        client.get(link(crossed)),
        client.post(link(crossed), {"name": "Eve", "answer": "approve"}),
    ):
        assert_refused(response, 404, "Our Practice", "Monthly sales", CANARY, "Stranger")
    assert fresh(asked["check"]).status == "awaiting_client"
    # Their own link answers their check only.
    response = client.post(link(theirs["token"]), {"name": "Tom", "answer": "approve"})
    assert response.status_code == 200
    assert "Our Practice" not in response.content.decode()
    assert fresh(theirs["check"]).status == "client_approved"
    assert fresh(asked["check"]).status == "awaiting_client"
    with scopes_disabled():
        assert not BillingDecision.objects.filter(
            organization=asked["check"].organization_id, classification="billable"
        ).exists()


def test_a_check_not_waiting_for_the_client_refuses_the_link(client, asked, account_manager):
    with scopes_disabled():
        ScopeCheck.objects.filter(pk=asked["check"].pk).update(status="approved")
    assert_refused(client.get(link(asked["token"])), 410, "Our Practice")


def test_other_methods_are_refused(client, asked):
    response = client.put(link(asked["token"]))
    assert response.status_code == 405
    assert_private(response)
    assert fresh(asked["check"]).status == "awaiting_client"


# --- a client who never answers -----------------------------------------------------
def test_the_account_manager_can_decide_while_the_client_has_not_answered(
    client, asked, account_manager
):
    with activate_organization(asked["check"].organization):
        approved = scope_check_approve(
            check=asked["check"], actor=account_manager, note="Agreed by phone"
        )
    assert approved.status == "approved" and approved.client_link_nonce == ""
    assert fresh(asked["ticket"]).classification == "billable"
    # The link the client still has no longer answers anything.
    response = client.post(link(asked["token"]), {"name": "Carla", "answer": "decline"})
    assert response.status_code == 410
    assert fresh(asked["check"]).status == "approved"


def test_asking_the_client_again_replaces_the_link(client, asked, account_manager):
    with activate_organization(asked["check"].organization):
        again = scope_check_ask_client(
            check=asked["check"],
            actor=account_manager,
            client_email="ceo@client.example",
            link_url=lambda token: token,
        )
    assert again.status == "awaiting_client" and again.client_email == "ceo@client.example"
    assert (
        client.post(link(asked["token"]), {"name": "Carla", "answer": "approve"}).status_code == 410
    )
    new_token = scope_check_client_link(check=fresh(asked["check"]))
    client.post(link(new_token), {"name": "Dora CEO", "answer": "approve"})
    assert fresh(asked["check"]).status == "client_approved"


def test_an_answer_gives_meaning_to_the_work_that_waited_for_it(
    scoped, org, developer, account_manager, open_ticket
):
    ticket = open_ticket("feature", title="Quarterly report")
    decision_record(
        ticket=ticket,
        actor=developer,
        classification="needs_approval",
        version=ticket.version,
        reason="A new report",
        scope_check=ScopeCheckRequest(estimate_minutes=60),
    )
    waited = time_entry_log(
        ticket=ticket, person=developer, work_date=organization_today(org), minutes=25
    ).entry
    assert waited.billing_status == "pending_approval"
    check = ScopeCheck.objects.get(ticket=ticket)
    scope_check_reject(check=check, actor=account_manager, note="Part of the retainer")
    latest = BillingDecision.objects.filter(ticket=ticket).order_by("-pk").first()
    assert (latest.classification, latest.scope_check) == ("included", check)
    waited.refresh_from_db()
    assert waited.billing_status == "included"
    assert latest.entries_rederived == 25
