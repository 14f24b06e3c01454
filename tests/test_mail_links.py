"""Mail that leads back: every notification, sent by the service that has
something to say, ends with links to the pages it is about, made from
``SITE_URL``, and each link opens (200) for the person the mail went to."""

import datetime
import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client as BrowserClient
from django.urls import reverse

from billing.flags import flags_sweep
from billing.models import ScopeCheck
from billing.services import (
    ScopeCheckRequest,
    decision_record,
    scope_check_ask_client,
    scope_check_client_answer,
    scope_check_client_link,
    time_entry_log,
)
from billing.services.digests import digests_send
from clients.models import Treatment
from msops.mail import absolute_url
from msops.tenancy.scoping import activate_organization
from tests.factories import (
    ClientFactory,
    ContractFactory,
    ContractRevisionFactory,
    RequestTypeFactory,
    ScopeRuleFactory,
)
from tickets.services import organization_today, ticket_open

SITE = "https://msops.example"
LINK = re.compile(r"https?://\S+")


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = SITE + "/"  # a trailing slash makes no double one


@pytest.fixture
def world(org, developer, account_manager, finance):
    """A retainer client of the account manager's with a troubleshooting rule
    (included, 60 min expected) and a new-feature rule (needs approval)."""
    client = ClientFactory(organization=org, name="Acme", account_manager=account_manager)
    contract = ContractFactory(organization=org, client=client, starts_on=datetime.date(2025, 1, 1))
    ContractRevisionFactory(organization=org, contract=contract, included_minutes=10 * 60)
    types = {}
    for key, treatment, expected in (
        ("troubleshooting", Treatment.INCLUDED, 60),
        ("feature", Treatment.NEEDS_APPROVAL, 240),
    ):
        types[key] = RequestTypeFactory(organization=org, name=key.title(), expected_minutes=60)
        ScopeRuleFactory(
            organization=org,
            contract=contract,
            request_type=types[key],
            treatment=treatment,
            expected_minutes=expected,
        )
    return {"client": client, "contract": contract, "types": types}


def _open(org, developer, world, kind, title):
    return ticket_open(
        organization=org,
        opened_by=developer,
        client=world["client"],
        request_type=world["types"][kind],
        title=title,
        assignee=developer,
    )


def _ask_approval(org, developer, world, title="Add a shipment export"):
    ticket = _open(org, developer, world, "feature", title)
    decision_record(
        ticket=ticket,
        actor=developer,
        classification="needs_approval",
        version=ticket.version,
        reason="A new export is a feature",
        scope_check=ScopeCheckRequest(estimate_minutes=240),
    )
    return ticket


def _mail_to(address: str, subject_part: str = ""):
    found = [m for m in mail.outbox if address in m.to and subject_part in m.subject]
    assert len(found) == 1, [m.subject for m in mail.outbox]
    return found[0]


def _links(message) -> list[str]:
    """The message's links, each checked to start with SITE_URL; their paths."""
    links = LINK.findall(message.body)
    assert links, message.body
    assert all(link.startswith(SITE + "/") for link in links), links
    parts = [urlsplit(link) for link in links]
    assert not any("//" in part.path for part in parts), links
    return [part.path + (f"?{part.query}" if part.query else "") for part in parts]


def _all_open(paths: list[str], membership) -> None:
    """Each path opens for ``membership``: 200, or a redirect within the
    organization to a page that does (a client's month goes to its period)."""
    browser = BrowserClient()
    browser.force_login(membership.user)
    for path in paths:
        response = browser.get(path, follow=True)
        assert response.status_code == 200, path
        for target, _ in response.redirect_chain:
            assert target.startswith(f"/o/{membership.organization.slug}/"), (path, target)


def _ticket_path(org, ticket) -> str:
    return reverse("tickets:ticket_detail", kwargs={"org": org.slug, "number": ticket.number})


def test_absolute_url_joins_the_site_address_and_the_path():
    assert absolute_url("/o/ours/tickets/7/") == f"{SITE}/o/ours/tickets/7/"


def test_a_scope_check_mail_links_the_account_manager_to_the_ticket_and_their_queue(
    org, developer, account_manager, world, django_capture_on_commit_callbacks
):
    with activate_organization(org), django_capture_on_commit_callbacks(execute=True):
        ticket = _ask_approval(org, developer, world)
    paths = _links(_mail_to(account_manager.user.email, "Scope check"))
    assert _ticket_path(org, ticket) in paths
    assert reverse("billing:scope_check_queue", kwargs={"org": org.slug}) in paths
    _all_open(paths, account_manager)


def test_the_clients_answer_mail_links_the_developer_and_the_account_manager_to_the_ticket(
    org, developer, account_manager, world, django_capture_on_commit_callbacks
):
    with activate_organization(org):
        ticket = _ask_approval(org, developer, world)
        check = scope_check_ask_client(
            check=ScopeCheck.objects.get(ticket=ticket),
            actor=account_manager,
            client_email="cto@acme.example",
            link_url=lambda token: token,
        )
        token = scope_check_client_link(check=check)
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            scope_check_client_answer(token=token, approve=True, name="Carla CTO", ip=None)
    message = _mail_to(developer.user.email, "Client approved")
    assert account_manager.user.email in message.to
    paths = _links(message)
    assert paths == [_ticket_path(org, ticket)]
    _all_open(paths, developer)
    _all_open(paths, account_manager)


def test_the_clients_approval_mail_keeps_its_signed_link_that_opens_without_an_account(
    org, developer, account_manager, world, django_capture_on_commit_callbacks
):
    with activate_organization(org):
        ticket = _ask_approval(org, developer, world)
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            check = scope_check_ask_client(
                check=ScopeCheck.objects.get(ticket=ticket),
                actor=account_manager,
                client_email="cto@acme.example",
                link_url=lambda token: absolute_url(
                    reverse("public:client_scope_check", kwargs={"token": token})
                ),
            )
        token = scope_check_client_link(check=check)
    paths = _links(_mail_to("cto@acme.example"))
    assert paths == [reverse("public:client_scope_check", kwargs={"token": token})]
    assert BrowserClient().get(paths[0]).status_code == 200


def test_the_account_managers_digest_lists_each_check_and_flag_with_its_own_link(
    org, developer, account_manager, world, django_capture_on_commit_callbacks
):
    with activate_organization(org):
        checks = [_ask_approval(org, developer, world, f"Feature {n}") for n in (1, 2)]
        slow = _open(org, developer, world, "troubleshooting", "Mail is down")
        decision_record(ticket=slow, actor=developer, classification="included", version=1)
        # Past the ticket's 60 expected minutes, and 90 % of the 10 h retainer.
        time_entry_log(
            ticket=slow, person=developer, work_date=organization_today(org), minutes=9 * 60
        )
        flags_sweep(organization=org)
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            digests_send(organization=org)
    message = _mail_to(account_manager.user.email, "Your week")
    assert "2 scope checks waiting for you, 2 open flags you own" in message.subject
    paths = _links(message)
    for ticket in (*checks, slow):  # each check and the over-time flag: their ticket
        assert _ticket_path(org, ticket) in paths
    # The allowance flag: the client's page, where its contract is.
    assert reverse("clients:client_detail", kwargs={"org": org.slug, "pk": world["client"].pk}) in (
        paths
    )
    billing = {
        reverse(name, kwargs={"org": org.slug})
        for name in ("billing:scope_check_queue", "billing:review_current")
    } | {reverse("billing:flag_list", kwargs={"org": org.slug}) + "?owner=me"}
    assert billing <= set(paths)
    _all_open(paths, account_manager)


def test_the_finance_digest_links_each_clients_month_its_tickets_and_the_review(
    org, developer, finance, world, django_capture_on_commit_callbacks
):
    org.finance_digest_days = 31  # due whatever day the test runs
    org.save(update_fields=["finance_digest_days"])
    with activate_organization(org):
        undecided = _open(org, developer, world, "troubleshooting", "Printer offline")
        time_entry_log(
            ticket=undecided, person=developer, work_date=organization_today(org), minutes=30
        )
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            digests_send(organization=org)
    month = organization_today(org).replace(day=1)
    paths = _links(_mail_to(finance.user.email))
    assert paths[0] == reverse(
        "billing:finance_client_month",
        kwargs={"org": org.slug, "month": month, "pk": world["client"].pk},
    )
    assert _ticket_path(org, undecided) in paths
    assert paths[-1] == reverse("billing:finance_month", kwargs={"org": org.slug, "month": month})
    _all_open(paths, finance)
