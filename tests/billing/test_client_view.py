"""The client view: a signed, expiring, revocable link per client contact
(no login, every view logged) that shows the period's allowance or block
balance, work covered, billable and waiting for approval, the scope checks
waiting for the client and the SLA results — and nothing internal."""

import datetime
import re
from decimal import Decimal

import pytest
from django.core import signing
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from billing.models import (
    BillingDecision,
    ClientViewEvent,
    ClientViewLink,
    DecisionLogEntry,
    ExceptionFlag,
    ScopeCheck,
)
from billing.pricing import client_usage, price_client_month
from billing.services.client_link import scope_check_client_link
from billing.services.client_view import (
    CLIENT_VIEW_SALT,
    client_view_link_create,
    client_view_link_revoke,
    client_view_token,
)
from clients.models import BlockTopUp, Contract
from msops.tenancy.models import Role
from msops.tenancy.scoping import activate_organization
from msops.timezones import organization_today
from tests.billing.finance_helpers import contract_of, ticket_of, work
from tests.factories import ClientFactory, MembershipFactory, TicketFactory, TimeEntryFactory
from tickets.models import BillingMoment, TimeEntry
from transitions.models import ClientBrief, Risk

Status = TimeEntry.BillingStatus
UA = "Mozilla/5.0 (X11; Linux x86_64) ClientBrowser/1.0"


def view_url(token: str) -> str:
    return reverse("public:client_view", kwargs={"token": token})


def links_url(org, client) -> str:
    return reverse("billing:client_view_links", kwargs={"org": org.slug, "pk": client.pk})


def new_link(client, actor, **kwargs) -> ClientViewLink:
    with activate_organization(client.organization):
        return client_view_link_create(
            client=client,
            actor=actor,
            contact_name=kwargs.pop("contact_name", "Dana Client"),
            contact_email=kwargs.pop("contact_email", "dana@client.example"),
            **kwargs,
        )


def text_of(response) -> str:
    return response.content.decode()


@pytest.fixture
def retainer(org, account_manager, developer):
    """A retainer with 10:00 h included a month and work of today with every
    meaning: included 1:30 + 0:45, billable 1:00, waiting 0:30, undecided 0:20."""
    client = ClientFactory(organization=org, name="Initrode", account_manager=account_manager)
    contract = contract_of(
        org, Contract.Kind.RETAINER, client=client, name="Initrode care", included_minutes=600
    )
    today = organization_today(org)
    ticket = ticket_of(client, "Mail server", contract)
    for minutes, status in [
        (90, Status.INCLUDED),
        (45, Status.INCLUDED),
        (60, Status.BILLABLE),
        (30, Status.PENDING_APPROVAL),
        (20, Status.UNDECIDED),
    ]:
        work(ticket, developer, today, minutes, status)
    return {"client": client, "contract": contract, "ticket": ticket, "today": today}


# --- the link -------------------------------------------------------------------------------
def test_the_signed_link_works_without_login_and_logs_each_view(client, retainer, account_manager):
    link = new_link(retainer["client"], account_manager)
    url = view_url(client_view_token(link=link))
    response = client.get(url, HTTP_USER_AGENT=UA, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 200
    body = text_of(response)
    assert "Initrode" in body and "Our Practice" in body
    assert "noindex" in body and response["X-Robots-Tag"] == "noindex"
    assert response["Cache-Control"] == "no-store"
    assert "expires on" in body
    client.get(url, HTTP_USER_AGENT="Other agent", REMOTE_ADDR="198.51.100.4")
    with scopes_disabled():
        events = list(ClientViewEvent.objects.filter(link=link).order_by("viewed_at", "pk"))
        link.refresh_from_db()
    assert [(e.ip, e.user_agent) for e in events] == [
        ("203.0.113.9", UA),
        ("198.51.100.4", "Other agent"),
    ]
    assert link.last_viewed_at == events[-1].viewed_at


def test_a_long_user_agent_is_cut_to_fit(client, retainer, account_manager):
    link = new_link(retainer["client"], account_manager)
    client.get(view_url(client_view_token(link=link)), HTTP_USER_AGENT="x" * 2000)
    with scopes_disabled():
        assert len(ClientViewEvent.objects.get(link=link).user_agent) == 300


def _other_nonce(link) -> str:
    return signing.dumps(
        {"o": link.organization_id, "l": link.pk, "n": "0" * 32}, salt=CLIENT_VIEW_SALT
    )


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("expired", 410),
        ("revoked", 410),
        ("tampered", 404),
        ("other_nonce", 404),
        ("scope_check_salt", 404),
        ("garbage", 404),
    ],
)
def test_a_refused_link_shows_a_safe_page_and_logs_nothing(
    client, retainer, account_manager, case, status
):
    link = new_link(retainer["client"], account_manager)
    token = client_view_token(link=link)
    if case == "expired":
        with scopes_disabled():
            ClientViewLink.objects.filter(pk=link.pk).update(
                expires_at=timezone.now() - datetime.timedelta(minutes=1)
            )
    elif case == "revoked":
        with activate_organization(link.organization):
            client_view_link_revoke(link=link, actor=account_manager)
    elif case == "tampered":
        token = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    elif case == "other_nonce":
        token = _other_nonce(link)
    elif case == "scope_check_salt":
        token = signing.dumps(
            {"o": link.organization_id, "c": link.pk, "n": link.nonce},
            salt="msops.billing.scope-check.client-link",
        )
    else:
        token = "not-a-token"
    response = client.get(view_url(token), HTTP_USER_AGENT=UA)
    assert response.status_code == status
    body = text_of(response)
    assert "Initrode" not in body and "Our Practice" not in body and "Dana" not in body
    assert response["X-Robots-Tag"] == "noindex"
    with scopes_disabled():
        assert not ClientViewEvent.objects.filter(link=link).exists()
        link.refresh_from_db()
    assert link.last_viewed_at is None


def test_a_link_of_another_organization_names_only_its_own(
    client, retainer, account_manager, other_org
):
    manager = MembershipFactory(organization=other_org, role=Role.ACCOUNT_MANAGER)
    theirs = ClientFactory(organization=other_org, name="Vandelay", account_manager=manager)
    link = new_link(theirs, manager)
    body = text_of(client.get(view_url(client_view_token(link=link))))
    assert "Vandelay" in body and "Initrode" not in body and "Our Practice" not in body


# --- the figures ----------------------------------------------------------------------------
def test_the_page_shows_the_retainers_figures_counted_by_hand(client, retainer, account_manager):
    link = new_link(retainer["client"], account_manager)
    body = text_of(client.get(view_url(client_view_token(link=link))))
    # 1:30 + 0:45 included of 10:00; 1:00 billable; 0:30 waiting; 0:20 undecided.
    assert re.search(r'data-testid="allowance-used">2:15 of 10:00 h used', body)
    assert re.search(r'data-testid="allowance-left">7:45 h left', body)
    assert 'data-testid="work-covered">2:15<' in body
    assert 'data-testid="work-billable">1:00<' in body
    assert 'data-testid="work-pending">0:30<' in body
    assert 'data-testid="work-undecided">0:20<' in body
    with scopes_disabled():  # the same figures as the pricing module's
        usage = client_usage(client=retainer["client"], on=retainer["today"])
    usage = usage[retainer["contract"].pk]
    assert (usage.used, usage.left, usage.billable_minutes) == (135, 465, 60)


def test_the_page_shows_a_blocks_balance(client, org, account_manager, developer):
    customer = ClientFactory(organization=org, name="Blockco", account_manager=account_manager)
    block = contract_of(org, Contract.Kind.BLOCK, client=customer, name="Blockco hours")
    with scopes_disabled():
        BlockTopUp.objects.create(
            organization=org, contract=block, added_on=block.starts_on, minutes=600
        )
    today = organization_today(org)
    work(ticket_of(customer, "Backups", block), developer, today, 90)
    link = new_link(customer, account_manager)
    body = text_of(client.get(view_url(client_view_token(link=link))))
    assert 'data-testid="block-balance">8:30 h left' in body
    assert 'data-testid="block-used">1:30 h used' in body
    assert 'data-testid="work-covered">1:30<' in body


def test_the_page_lists_the_scope_checks_waiting_for_the_client(
    client, retainer, account_manager, developer
):
    ticket = retainer["ticket"]
    with scopes_disabled():
        asked = ScopeCheck.objects.create(
            organization=ticket.organization,
            ticket=ticket,
            requested_by=developer,
            account_manager=account_manager,
            estimate_minutes=240,
            reason="internal",
            client_explanation="A new monthly report: about 4 hours.",
            status=ScopeCheck.Status.AWAITING_CLIENT,
            client_email="dana@client.example",  # the view link's contact
            client_link_nonce="a" * 32,
            client_asked_at=timezone.now(),
            client_link_expires_at=timezone.now() + datetime.timedelta(days=3),
        )
        other = TicketFactory(
            organization=ticket.organization, client=ticket.client, title="Old VPN"
        )
        ScopeCheck.objects.create(
            organization=ticket.organization,
            ticket=other,
            requested_by=developer,
            estimate_minutes=60,
            reason="internal",
            client_explanation="VPN rebuild.",
            status=ScopeCheck.Status.AWAITING_CLIENT,
            client_email="dana@client.example",
            client_link_nonce="b" * 32,
            client_asked_at=timezone.now(),
            client_link_expires_at=timezone.now() - datetime.timedelta(days=1),
        )
        pending = TicketFactory(organization=ticket.organization, client=ticket.client)
        ScopeCheck.objects.create(
            organization=ticket.organization,
            ticket=pending,
            requested_by=developer,
            estimate_minutes=30,
            reason="internal",
            client_explanation="Not asked yet.",
        )
    link = new_link(retainer["client"], account_manager)
    body = text_of(client.get(view_url(client_view_token(link=link))))
    assert body.count('data-testid="client-view-scope-check"') == 2
    assert f"#{ticket.number} Mail server" in body and "4:00 h" in body
    assert "Not asked yet." not in body
    answer = reverse(
        "public:client_scope_check", kwargs={"token": scope_check_client_link(check=asked)}
    )
    assert answer in body  # the active approval link; the expired one is only listed
    assert "Ask your account manager for a new approval link." in body


def test_the_page_shows_the_sla_results_of_the_period(client, retainer, account_manager):
    now = timezone.now()
    with scopes_disabled():
        for title, due, minutes in [("Met one", 60, 30), ("Late one", -2, 90)]:
            TicketFactory(
                organization=retainer["client"].organization,
                client=retainer["client"],
                title=title,
                opened_at=now - datetime.timedelta(minutes=10),
                first_response_due=now + datetime.timedelta(minutes=due),
                first_responded_at=now - datetime.timedelta(minutes=1),
                response_minutes=minutes,
            )
    link = new_link(retainer["client"], account_manager)
    body = text_of(client.get(view_url(client_view_token(link=link))))
    assert 'data-testid="sla-response">1 of 2<' in body
    assert "50.0 %" in body
    assert "1:00" in body  # the median of 30 and 90 minutes
    breaches = re.search(r'data-testid="client-view-breaches">(.*?)</ul>', body, re.S).group(1)
    assert "Late one" in breaches and "Met one" not in breaches


# --- nothing internal -------------------------------------------------------------------------
COST_RATE = Decimal("87.65")


@pytest.fixture
def internal_world(org, account_manager, developer, retainer):
    """Every internal field of the client's world holds a marker."""
    customer, ticket = retainer["client"], retainer["ticket"]
    with scopes_disabled():
        customer.billing_notes = "MARK-billing-notes"
        customer.save()
        for member in (account_manager, developer):
            member.cost_rate = COST_RATE
            member.save()
        ticket.description = "MARK-ticket-description"
        ticket.resolution_note = "MARK-resolution-note"
        ticket.save()
        terms = retainer["contract"].revisions.get()
        terms.note = "MARK-terms-note"
        terms.hourly_rate = Decimal("123.45")
        terms.overage_rate = Decimal("167.89")
        terms.save()
        TimeEntryFactory(
            ticket=ticket,
            person=developer,
            work_date=retainer["today"],
            minutes=33,
            billing_status=Status.BILLABLE,
            notes="MARK-entry-notes",
            cost_rate=COST_RATE,
        )
        decision = BillingDecision.objects.create(
            organization=org,
            ticket=ticket,
            classification="needs_approval",
            suggested_classification="included",
            reason="MARK-decision-reason",
            rule_in_words="MARK-rule-in-words",
            decided_by=developer,
        )
        ScopeCheck.objects.create(
            organization=org,
            ticket=ticket,
            decision=decision,
            requested_by=developer,
            account_manager=account_manager,
            estimate_minutes=120,
            reason="MARK-check-reason",
            decision_note="MARK-check-decision-note",
            client_explanation="Plain words for the client.",
            status=ScopeCheck.Status.AWAITING_CLIENT,
            client_email="MARK-check-email@internal.example",
            client_link_nonce="c" * 32,
            client_asked_at=timezone.now(),
            client_link_expires_at=timezone.now() + datetime.timedelta(days=3),
        )
        DecisionLogEntry.objects.create(
            organization=org,
            kind=DecisionLogEntry.Kind.RULE_OVERRIDDEN,
            client=customer,
            ticket=ticket,
            decision=decision,
            actor=developer,
            summary="MARK-log-summary",
            reason="MARK-log-reason",
        )
        ExceptionFlag.objects.create(
            organization=org,
            kind=ExceptionFlag.Kind.OVER_EXPECTED,
            subject_key=f"ticket:{ticket.pk}",
            ticket=ticket,
            client=customer,
            detail="MARK-flag-detail",
        )
        BillingMoment.objects.create(
            organization=org,
            ticket=ticket,
            kind=BillingMoment.Kind.OUT_OF_SCOPE,
            detail="MARK-moment-detail",
        )
        ClientBrief.objects.create(organization=org, client=customer, summary="MARK-brief")
        Risk.objects.create(
            organization=org,
            client=customer,
            description="MARK-risk",
            next_action="MARK-risk-action",
            owner=account_manager,
        )
        charges = price_client_month(client=customer, month=retainer["today"].replace(day=1))
    return {"cost": charges.cost}


def test_the_client_view_shows_nothing_internal(
    client, internal_world, retainer, account_manager, developer
):
    link = new_link(retainer["client"], account_manager)
    response = client.get(view_url(client_view_token(link=link)))
    assert response.status_code == 200
    body = text_of(response)
    assert "Plain words for the client." in body  # the seeded world is on the page
    assert "MARK-" not in body, re.findall(r"MARK-[\w-]+", body)
    numbers = {
        str(COST_RATE),
        "123.45",
        "167.89",
        f"{internal_world['cost']:.2f}",
        link.nonce,
        developer.user.username,
    }
    assert internal_world["cost"] > 0
    leaked = [value for value in numbers if value and value in body]
    assert not leaked


# --- the staff page -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.DEVELOPER, 403), (Role.FINANCE, 200), (Role.ACCOUNT_MANAGER, 200), (Role.ADMIN, 200)],
)
def test_who_reads_a_clients_links(login, org, members, retainer, role, status):
    assert login(members[role]).get(links_url(org, retainer["client"])).status_code == status


def test_another_account_manager_may_not_read_or_create_links(login, org, retainer):
    other = MembershipFactory(organization=org, role=Role.ACCOUNT_MANAGER)
    browser = login(other)
    assert browser.get(links_url(org, retainer["client"])).status_code == 403
    data = {"contact_name": "X", "contact_email": "x@example.com", "days": 5}
    assert browser.post(links_url(org, retainer["client"]), data).status_code == 403


def test_finance_reads_the_list_but_cannot_create_or_revoke(
    login, org, finance, retainer, account_manager
):
    link = new_link(retainer["client"], account_manager)
    browser = login(finance)
    page = browser.get(links_url(org, retainer["client"]))
    assert "Dana Client" in text_of(page) and "Create link" not in text_of(page)
    data = {"contact_name": "X", "contact_email": "x@example.com", "days": 5}
    assert browser.post(links_url(org, retainer["client"]), data).status_code == 403
    revoke = reverse("billing:client_view_link_revoke", kwargs={"org": org.slug, "pk": link.pk})
    assert browser.post(revoke).status_code == 403


def test_the_account_manager_creates_a_link_and_sees_its_url_once(
    login, client, org, account_manager, retainer
):
    browser = login(account_manager)
    data = {"contact_name": "Pat Buyer", "contact_email": "pat@client.example", "days": 14}
    response = browser.post(links_url(org, retainer["client"]), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    found = re.search(r'value="(http://testserver/client/view/[^"]+)"', text_of(response))
    assert found and 'data-testid="client-view-url"' in text_of(response)
    with scopes_disabled():
        link = ClientViewLink.objects.get(contact_email="pat@client.example")
    assert link.created_by == account_manager
    assert abs(link.expires_at - timezone.now() - datetime.timedelta(days=14)).total_seconds() < 60
    assert "/client/view/" not in text_of(browser.get(links_url(org, retainer["client"])))
    client.logout()
    assert client.get(found.group(1).removeprefix("http://testserver")).status_code == 200
    page = text_of(login(account_manager).get(links_url(org, retainer["client"])))
    assert "Pat Buyer" in page and "testclient" not in page


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"contact_name": "", "contact_email": "a@b.example", "days": 5}, "contact_name"),
        ({"contact_name": "A", "contact_email": "not-an-email", "days": 5}, "contact_email"),
        ({"contact_name": "A", "contact_email": "a@b.example", "days": 91}, "days"),
        ({"contact_name": "A", "contact_email": "a@b.example", "days": 0}, "days"),
    ],
)
def test_a_bad_form_is_a_400_and_saves_nothing(login, org, account_manager, retainer, data, field):
    response = login(account_manager).post(links_url(org, retainer["client"]), data)
    assert response.status_code == 400
    assert f'id="id_{field}"' in text_of(response) and "errorlist" in text_of(response)
    with scopes_disabled():
        assert not ClientViewLink.objects.exists()


def test_a_bad_form_with_htmx_comes_back_in_place_with_its_errors(
    login, org, account_manager, retainer
):
    data = {"contact_name": "A", "contact_email": "nope", "days": 5}
    response = login(account_manager).post(
        links_url(org, retainer["client"]), data, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    body = text_of(response)
    assert 'id="client-view-links"' in body
    assert "<html" not in body and "errorlist" in body


def test_an_admin_revokes_a_link_with_htmx_and_it_stops_working(
    login, client, org, admin_member, account_manager, retainer
):
    link = new_link(retainer["client"], account_manager)
    token = client_view_token(link=link)
    revoke = reverse("billing:client_view_link_revoke", kwargs={"org": org.slug, "pk": link.pk})
    response = login(admin_member).post(revoke, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Revoked" in text_of(response)
    with scopes_disabled():
        link.refresh_from_db()
    assert link.revoked_at is not None and link.revoked_by == admin_member
    client.logout()
    assert client.get(view_url(token)).status_code == 410


def test_the_staff_page_lists_views_with_count_and_log(
    login, client, org, account_manager, retainer
):
    link = new_link(retainer["client"], account_manager)
    for _ in range(3):
        client.get(view_url(client_view_token(link=link)), HTTP_USER_AGENT=UA)
    page = text_of(login(account_manager).get(links_url(org, retainer["client"])))
    assert "<td>3</td>" in page and UA in page


def test_the_client_page_links_to_the_client_views(login, org, account_manager, retainer):
    detail = reverse("clients:client_detail", kwargs={"org": org.slug, "pk": retainer["client"].pk})
    assert links_url(org, retainer["client"]) in text_of(login(account_manager).get(detail))


def test_the_view_log_is_append_only(retainer, account_manager, client):
    from django.db import DatabaseError, transaction

    link = new_link(retainer["client"], account_manager)
    client.get(view_url(client_view_token(link=link)))
    with scopes_disabled():
        event = ClientViewEvent.objects.get(link=link)
        with pytest.raises(DatabaseError), transaction.atomic():
            ClientViewEvent.objects.filter(pk=event.pk).update(user_agent="edited")


# --- API ------------------------------------------------------------------------------------
API = "/api/v1/client-view-links/"


def test_the_api_creates_a_link_with_its_url_only_once(api, account_manager, retainer, client):
    data = {
        "client": retainer["client"].pk,
        "contact_name": "Lee",
        "contact_email": "lee@c.example",
    }
    response = api(account_manager).post(API, data, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["url"].startswith("http://testserver/client/view/") and body["is_active"]
    assert "nonce" not in body
    assert client.get(body["url"].removeprefix("http://testserver")).status_code == 200
    detail = api(account_manager).get(f"{API}{body['id']}/").json()
    assert "url" not in detail and detail["view_count"] == 1
    events = api(account_manager).get(f"{API}{body['id']}/events/").json()
    assert len(events["results"]) == 1
    with scopes_disabled():
        link = ClientViewLink.objects.get(pk=body["id"])
    expected = (link.expires_at - link.created_at).days
    assert expected == 30


def test_the_api_revokes_a_link(api, account_manager, retainer):
    link = new_link(retainer["client"], account_manager)
    response = api(account_manager).post(f"{API}{link.pk}/revoke/")
    assert response.status_code == 200
    assert response.json()["revoked_at"] and not response.json()["is_active"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"contact_name": "A", "contact_email": "nope"}, "contact_email"),
        ({"contact_name": "", "contact_email": "a@b.example"}, "contact_name"),
        ({"contact_name": "A", "contact_email": "a@b.example", "days": 120}, "days"),
        ({"contact_name": "A", "contact_email": "a@b.example", "days": "soon"}, "days"),
        ({"contact_name": "A", "contact_email": "a@b.example", "client": 10**9}, "client"),
    ],
)
def test_api_bad_input_is_a_400_naming_the_field(api, admin_member, retainer, data, field):
    payload = {"client": retainer["client"].pk, **data}
    response = api(admin_member).post(API, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    with scopes_disabled():
        assert not ClientViewLink.objects.exists()


def test_the_api_refuses_a_developer_and_finance_writes(api, developer, finance, retainer):
    data = {"client": retainer["client"].pk, "contact_name": "A", "contact_email": "a@b.example"}
    assert api(developer).get(API).status_code == 403
    assert api(finance).get(API).status_code == 200
    assert api(finance).post(API, data, format="json").status_code == 403


def test_the_api_lists_only_an_account_managers_own_clients_links(
    api, org, account_manager, retainer
):
    other = MembershipFactory(organization=org, role=Role.ACCOUNT_MANAGER)
    theirs = ClientFactory(organization=org, account_manager=other)
    mine = new_link(retainer["client"], account_manager)
    new_link(theirs, other)
    ids = {row["id"] for row in api(account_manager).get(API).json()["results"]}
    assert ids == {mine.pk}
    data = {"client": theirs.pk, "contact_name": "A", "contact_email": "a@b.example"}
    assert api(account_manager).post(API, data, format="json").status_code == 403


# --- query budgets --------------------------------------------------------------------------
PAGE_BUDGET = 12
API_LIST_BUDGET = 10


def _links_and_views(client, actor, rows: int) -> None:
    with scopes_disabled():
        for n in range(rows):
            link = ClientViewLink.objects.create(
                organization=client.organization,
                client=client,
                contact_name=f"Contact {n}",
                contact_email=f"c{n}@client.example",
                nonce=f"{n:032d}",
                expires_at=timezone.now() + datetime.timedelta(days=5),
                created_by=actor,
            )
            ClientViewEvent.objects.create(
                organization=client.organization, link=link, ip="192.0.2.7", user_agent=UA
            )


@pytest.mark.parametrize("rows", [2, 50])
def test_the_links_page_costs_the_same_queries_at_2_and_50_rows(
    login, org, account_manager, retainer, django_assert_max_num_queries, rows
):
    _links_and_views(retainer["client"], account_manager, rows)
    browser = login(account_manager)
    with django_assert_max_num_queries(PAGE_BUDGET):
        response = browser.get(links_url(org, retainer["client"]))
    assert text_of(response).count('data-testid="client-view-link"') == rows


@pytest.mark.parametrize("rows", [2, 50])
def test_the_link_list_costs_the_same_queries_at_2_and_50_rows(
    api, account_manager, retainer, django_assert_max_num_queries, rows
):
    _links_and_views(retainer["client"], account_manager, rows)
    client = api(account_manager)
    with django_assert_max_num_queries(API_LIST_BUDGET):
        response = client.get(API, {"page_size": 100})
    assert len(response.json()["results"]) == rows


# --- review fixes -------------------------------------------------------------------------
def _awaiting_check(ticket, developer, *, client_email: str, explanation: str) -> ScopeCheck:
    """An active check waiting for ``client_email`` on a ticket of its own."""
    with scopes_disabled():
        ticket = TicketFactory(organization=ticket.organization, client=ticket.client)
        return ScopeCheck.objects.create(
            organization=ticket.organization,
            ticket=ticket,
            requested_by=developer,
            estimate_minutes=90,
            reason="internal",
            client_explanation=explanation,
            status=ScopeCheck.Status.AWAITING_CLIENT,
            client_email=client_email,
            client_link_nonce=f"{ScopeCheck.objects.count():032d}",
            client_asked_at=timezone.now(),
            client_link_expires_at=timezone.now() + datetime.timedelta(days=3),
        )


def test_only_the_approver_named_on_a_check_gets_its_approval_link(
    client, retainer, account_manager, developer
):
    ticket = retainer["ticket"]
    theirs = _awaiting_check(
        ticket, developer, client_email="Boss@Client.example", explanation="For the boss."
    )
    mine = _awaiting_check(
        ticket, developer, client_email="dana@client.example", explanation="For Dana."
    )
    link = new_link(retainer["client"], account_manager, contact_email="DANA@client.example")
    body = text_of(client.get(view_url(client_view_token(link=link))))
    assert "For the boss." in body and "For Dana." in body  # both are listed
    mine_url = reverse(
        "public:client_scope_check", kwargs={"token": scope_check_client_link(check=mine)}
    )
    theirs_url = reverse(
        "public:client_scope_check", kwargs={"token": scope_check_client_link(check=theirs)}
    )
    assert mine_url in body  # the same address, whatever its case
    assert theirs_url not in body
    assert body.count("Answer this change") == 1
    assert "Sent to the approver named on the request" in body
    assert "boss@client.example" not in body.lower()


def test_a_read_only_contact_sees_no_approval_link_at_all(
    client, retainer, account_manager, developer
):
    check = _awaiting_check(
        retainer["ticket"], developer, client_email="boss@client.example", explanation="Bigger."
    )
    link = new_link(retainer["client"], account_manager, contact_email="reader@client.example")
    body = text_of(client.get(view_url(client_view_token(link=link))))
    token = scope_check_client_link(check=check)
    assert token not in body and "Answer this change" not in body
    assert "Sent to the approver named on the request" in body


LONG_EMAIL = "a" * 64 + "@" + ".".join(["b" * 63] * 3) + ".example"  # 264 characters


def test_an_email_too_long_for_the_column_is_a_form_error(login, org, account_manager, retainer):
    assert 254 < len(LONG_EMAIL) <= 320
    data = {"contact_name": "A", "contact_email": LONG_EMAIL, "days": 5}
    response = login(account_manager).post(links_url(org, retainer["client"]), data)
    assert response.status_code == 400
    assert "errorlist" in text_of(response) and "254" in text_of(response)
    with scopes_disabled():
        assert not ClientViewLink.objects.exists()


def test_an_email_too_long_for_the_column_is_a_400_from_the_api(api, admin_member, retainer):
    payload = {"client": retainer["client"].pk, "contact_name": "A", "contact_email": LONG_EMAIL}
    response = api(admin_member).post(API, payload, format="json")
    assert response.status_code == 400
    assert "contact_email" in response.json()["fields"]
    with scopes_disabled():
        assert not ClientViewLink.objects.exists()


def test_a_link_stops_working_once_the_client_has_ended(
    client, login, api, org, retainer, account_manager
):
    from clients.models import Client

    link = new_link(retainer["client"], account_manager)
    url = view_url(client_view_token(link=link))
    assert client.get(url).status_code == 200
    with scopes_disabled():
        Client.objects.filter(pk=retainer["client"].pk).update(status=Client.Status.ENDED)
    response = client.get(url, HTTP_USER_AGENT=UA)
    assert response.status_code == 404
    body = text_of(response)
    assert "This link is not valid." in body
    assert "Initrode" not in body and "Our Practice" not in body and "Dana" not in body
    with scopes_disabled():
        assert ClientViewEvent.objects.filter(link=link).count() == 1  # the first view only
    page = text_of(login(account_manager).get(links_url(org, retainer["client"])))
    status = re.search(r'data-testid="client-view-status">(.*?)</td>', page, re.S).group(1)
    assert "Inactive" in status and "Active until" not in status
    assert api(account_manager).get(f"{API}{link.pk}/").json()["is_active"] is False


def test_an_ended_client_gets_no_new_link(api, admin_member, retainer):
    from clients.models import Client

    with scopes_disabled():
        Client.objects.filter(pk=retainer["client"].pk).update(status=Client.Status.ENDED)
    payload = {"client": retainer["client"].pk, "contact_name": "A", "contact_email": "a@b.example"}
    response = api(admin_member).post(API, payload, format="json")
    assert response.status_code == 400
    assert "client" in response.json()["fields"]
    with scopes_disabled():
        assert not ClientViewLink.objects.exists()


# The public page: one view prices the months of the contract period up to
# today that have work (and this month), not every month of the period.
PUBLIC_PAGE_BUDGET = 20


def _yearly(org, account_manager, period):
    customer = ClientFactory(organization=org, name="Yearly", account_manager=account_manager)
    contract = contract_of(
        org, Contract.Kind.RETAINER, client=customer, period=period, included_minutes=6000
    )
    return customer, ticket_of(customer, "All year", contract)


def _month_of_work(ticket, developer, day) -> None:
    work(ticket, developer, day, 60, Status.INCLUDED)
    work(ticket, developer, day, 30, Status.BILLABLE)
    work(ticket, developer, day, 10, Status.PENDING_APPROVAL)


@pytest.mark.parametrize("period", [Contract.Period.MONTHLY, Contract.Period.ANNUAL])
def test_the_public_page_keeps_its_query_budget_for_a_monthly_and_an_annual_retainer(
    client, org, account_manager, developer, django_assert_max_num_queries, period
):
    customer, ticket = _yearly(org, account_manager, period)
    _month_of_work(ticket, developer, organization_today(org))
    link = new_link(customer, account_manager)
    with django_assert_max_num_queries(PUBLIC_PAGE_BUDGET):
        response = client.get(view_url(client_view_token(link=link)))
    body = text_of(response)
    assert 'data-testid="work-covered">1:00<' in body
    assert 'data-testid="work-billable">0:30<' in body
    assert 'data-testid="work-pending">0:10<' in body


def test_an_annual_retainers_page_sums_every_month_with_work_so_far(
    client, org, account_manager, developer
):
    customer, ticket = _yearly(org, account_manager, Contract.Period.ANNUAL)
    today = organization_today(org)
    months = sorted(
        {today.replace(month=1, day=1), today.replace(month=max(today.month - 2, 1), day=1), today}
    )
    for day in months:
        _month_of_work(ticket, developer, day)
    link = new_link(customer, account_manager)
    body = text_of(client.get(view_url(client_view_token(link=link))))
    n = len(months)  # the months between add nothing; the total is the year's so far
    assert f'data-testid="work-covered">{n}:00<' in body
    assert f'data-testid="work-billable">{n * 30 // 60}:{n * 30 % 60:02d}<' in body
    assert f'data-testid="work-pending">0:{n * 10:02d}<' in body
    assert re.search(rf'data-testid="allowance-used">{n}:00 of 100:00 h used', body)
