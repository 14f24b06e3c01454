"""The weekly review's transition items: a stale or missing client brief, and
every open item nobody can act on (transitions/ownership.py's definition),
each with a reason and an owner; a rebuild settles what is no longer true.
Runs on PostgreSQL and on SQLite (the builder has a path for each)."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import ExceptionFlag, ReviewItem, ScopeCheck
from billing.services.review import SETTLED_NOTE, review_queue_build
from clients.models import Client
from msops.tenancy.models import Role
from msops.tenancy.scoping import activate_organization
from tests.factories import ClientFactory, MembershipFactory, TicketFactory
from tests.transitions.conftest import rows
from tickets.models import Ticket
from transitions.briefs import client_brief_is_stale, client_brief_update
from transitions.models import ClientBrief
from transitions.ownership import orphaned_items

Kind = ReviewItem.Kind
DAY = datetime.timedelta(days=1)


def at(org, day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    """A moment of ``day`` in the organization's own timezone."""
    return datetime.datetime.combine(day, datetime.time(hour, minute), org.tzinfo)


def build(org, now=None):
    with activate_organization(org):
        return review_queue_build(organization=org, now=now).queue


def items(queue, kind) -> dict[str, ReviewItem]:
    return {item.subject_key: item for item in rows(ReviewItem, queue=queue, kind=kind)}


def deactivate(membership) -> None:
    membership.user.is_active = False
    membership.user.save(update_fields=["is_active"])


@pytest.fixture
def account_manager(account_manager):
    account_manager.user.first_name, account_manager.user.last_name = "Ann", "Lee"
    account_manager.user.save(update_fields=["first_name", "last_name"])
    return account_manager


@pytest.fixture
def client_(client_, account_manager):
    """Acme, with its account manager."""
    client_.account_manager = account_manager
    client_.save(update_fields=["account_manager"])
    return client_


@pytest.fixture
def brief(org, client_, account_manager):
    """``brief(client, reviewed_at)`` → the client's brief, last reviewed then."""

    def _brief(client, reviewed_at):
        with activate_organization(org):
            written = client_brief_update(
                client=client, summary="Two sites; escalate to the CTO.", by=account_manager
            )
            ClientBrief.objects.filter(pk=written.pk).update(reviewed_at=reviewed_at)
            written.refresh_from_db()
            return written

    return _brief


@pytest.fixture
def ticket(org, client_, request_type, developer):
    """``ticket(**fields)`` → a ticket of Acme (assigned to the developer, in progress)."""

    def _ticket(**fields):
        fields = {
            "organization": org,
            "client": client_,
            "request_type": request_type,
            "assignee": developer,
            "status": Ticket.Status.IN_PROGRESS,
            **fields,
        }
        return TicketFactory(**fields)

    return _ticket


# --- stale briefs -------------------------------------------------------------------
def test_a_brief_reviewed_31_days_ago_is_an_item_and_one_reviewed_30_days_ago_is_not(
    org, client_, brief, account_manager, today
):
    now = at(org, today, 12)
    fresh_client = ClientFactory(organization=org, name="Fresh", account_manager=account_manager)
    stale = brief(client_, at(org, today - 31 * DAY, 23, 55))
    current = brief(fresh_client, at(org, today - 30 * DAY, 0, 5))
    queue = build(org, now)
    stale_items = items(queue, Kind.STALE_BRIEF)
    assert set(stale_items) == {f"client:{client_.pk}"}
    # The same answer as the brief page's rule.
    assert client_brief_is_stale(brief=stale, today=today)
    assert not client_brief_is_stale(brief=current, today=today)
    item = stale_items[f"client:{client_.pk}"]
    assert item.client == client_ and item.owner == account_manager
    assert item.ticket is None and item.status == ReviewItem.Status.OPEN
    assert item.get_kind_display() == "Client brief not reviewed in 30 days"


def test_the_reason_says_when_and_by_whom_the_brief_was_last_reviewed(org, client_, brief, today):
    reviewed = today - 40 * DAY
    brief(client_, at(org, reviewed, 9))
    [item] = items(build(org, at(org, today, 12)), Kind.STALE_BRIEF).values()
    assert item.reason == f"Brief of Acme last reviewed {reviewed:%Y-%m-%d} by Ann Lee"


def test_a_missing_or_never_reviewed_brief_is_an_item_for_every_client_not_ended(
    org, client_, brief, account_manager
):
    never = ClientFactory(organization=org, name="Beta", status=Client.Status.ONBOARDING)
    brief(never, None)
    leaving = ClientFactory(organization=org, name="Leaving", status=Client.Status.OFFBOARDING)
    ClientFactory(organization=org, name="Ended", status=Client.Status.ENDED)
    stale = items(build(org), Kind.STALE_BRIEF)
    assert {key: item.reason for key, item in stale.items()} == {
        f"client:{client_.pk}": "Acme has no brief",
        f"client:{never.pk}": "Brief of Beta never reviewed",
        f"client:{leaving.pk}": "Leaving has no brief",
    }
    assert stale[f"client:{client_.pk}"].owner == account_manager
    assert stale[f"client:{never.pk}"].owner is None  # Beta has no account manager


def test_reviewing_the_brief_settles_its_item_when_the_review_is_rebuilt(
    org, client_, brief, today
):
    queue = build(org)
    assert f"client:{client_.pk}" in items(queue, Kind.STALE_BRIEF)
    brief(client_, timezone.now())
    assert build(org).pk == queue.pk
    item = items(queue, Kind.STALE_BRIEF)[f"client:{client_.pk}"]
    assert item.status == ReviewItem.Status.RESOLVED and item.note == SETTLED_NOTE


# --- orphaned items -------------------------------------------------------------------
def test_a_ticket_whose_assignee_was_deactivated_is_an_orphaned_item(
    org, client_, ticket, developer, account_manager
):
    mine = ticket(title="Printer", status=Ticket.Status.NEW)
    assert items(build(org), Kind.ORPHANED_ITEM) == {}
    deactivate(developer)
    orphaned = items(build(org), Kind.ORPHANED_ITEM)
    assert set(orphaned) == {f"ticket:{mine.pk}"}
    item = orphaned[f"ticket:{mine.pk}"]
    assert item.reason == f"Ticket #{mine.number} Printer: assignee deactivated"
    assert item.ticket == mine and item.client == client_
    assert item.owner == account_manager
    assert item.get_kind_display() == "Open item without an owner"


def test_a_new_ticket_nobody_took_is_triage_but_started_work_without_assignee_is_orphaned(
    org, ticket
):
    ticket(assignee=None, status=Ticket.Status.NEW)
    started = ticket(assignee=None, status=Ticket.Status.IN_PROGRESS, title="Backup")
    ticket(assignee=None, status=Ticket.Status.RESOLVED)
    orphaned = items(build(org), Kind.ORPHANED_ITEM)
    assert set(orphaned) == {f"ticket:{started.pk}"}
    assert orphaned[f"ticket:{started.pk}"].reason == (
        f"Ticket #{started.number} Backup: work started with no assignee"
    )


def test_a_risk_whose_owner_was_deactivated_is_an_orphaned_item(
    org, make_risk, developer, account_manager, client_
):
    risk = make_risk()
    deactivate(developer)
    item = items(build(org), Kind.ORPHANED_ITEM)[f"risk:{risk.pk}"]
    assert item.reason == "Risk: Backups never restored: owner deactivated"
    assert item.client == client_ and item.owner == account_manager and item.ticket is None


def test_an_unowned_scope_check_is_orphaned_only_when_its_client_has_no_active_account_manager(
    org, account_manager, developer, request_type
):
    gone = MembershipFactory(organization=org, role=Role.ACCOUNT_MANAGER)
    deactivate(gone)
    clients = {
        "covered": ClientFactory(organization=org, name="Covered", account_manager=account_manager),
        "nobody": ClientFactory(organization=org, name="Nobody", account_manager=None),
        "gone": ClientFactory(organization=org, name="Gone", account_manager=gone),
    }
    checks = {}
    with activate_organization(org):
        for key, client in clients.items():
            on = TicketFactory(organization=org, client=client, request_type=request_type)
            checks[key] = ScopeCheck.objects.create(
                organization=org,
                ticket=on,
                requested_by=developer,
                account_manager=None,
                estimate_minutes=90,
                reason="New report",
                client_explanation="A new monthly report",
            )
    orphaned = items(build(org), Kind.ORPHANED_ITEM)
    assert f"scope_check:{checks['covered'].pk}" not in orphaned
    nobody = orphaned[f"scope_check:{checks['nobody'].pk}"]
    gone_item = orphaned[f"scope_check:{checks['gone'].pk}"]
    number = checks["nobody"].ticket.number
    assert nobody.reason == (
        f"Scope check on #{number}: no owner, and the client has no account manager"
    )
    assert gone_item.reason.endswith("no owner, and the client's account manager is deactivated")
    assert nobody.owner is None and gone_item.owner is None  # nobody active to give it to
    assert nobody.client == clients["nobody"] and nobody.ticket == checks["nobody"].ticket
    # The clients themselves have nobody either.
    assert orphaned[f"client:{clients['nobody'].pk}"].reason == "Client Nobody: no account manager"
    assert orphaned[f"client:{clients['gone'].pk}"].reason == (
        "Client Gone: account manager deactivated"
    )
    assert f"client:{clients['covered'].pk}" not in orphaned


def test_a_rebuild_settles_the_item_once_someone_owns_it_again(
    org, ticket, developer, account_manager
):
    mine = ticket()
    deactivate(developer)
    queue = build(org)
    subject = f"ticket:{mine.pk}"
    assert items(queue, Kind.ORPHANED_ITEM)[subject].status == ReviewItem.Status.OPEN
    with activate_organization(org):
        Ticket.objects.filter(pk=mine.pk).update(assignee=account_manager)
    assert build(org).pk == queue.pk
    item = items(queue, Kind.ORPHANED_ITEM)[subject]
    assert item.status == ReviewItem.Status.RESOLVED and item.note == SETTLED_NOTE
    assert item.resolved_by is None


def test_the_orphaned_items_are_exactly_what_ownership_calls_orphaned(
    org, client_, ticket, make_task, make_risk, developer, account_manager
):
    """A mix of kinds: the set-based items and the Python list of the one
    definition agree, except review items (in the review already)."""
    nobody = ClientFactory(organization=org, name="Nobody", billing_notes="")
    ticket()
    ticket(client=nobody, assignee=None)
    make_task()
    make_risk()
    with activate_organization(org):
        ExceptionFlag.objects.create(
            organization=org,
            kind=ExceptionFlag.Kind.RECURRING_OVERDUE,
            subject_key="occurrence:1",
            client=nobody,
            detail="Patch the servers, due 2026-11-20, still open",
        )
    deactivate(developer)
    queue = build(org)
    with activate_organization(org):
        listed = {f"{i.kind}:{i.pk}" for i in orphaned_items(organization=org)}
    expected = {key for key in listed if not key.startswith("review_item:")}
    assert expected != listed  # the review item without an owner is listed, not repeated
    orphaned = items(queue, Kind.ORPHANED_ITEM)
    assert set(orphaned) == expected
    kinds = {key.split(":")[0] for key in expected}
    assert kinds == {"client", "ticket", "recurring_task", "risk", "flag"}
    flag_item = next(item for key, item in orphaned.items() if key.startswith("flag:"))
    assert flag_item.reason == (
        "Flag: Recurring task not done by its due date:"
        " no owner, and the client has no account manager"
    )
    # Review items without an owner are orphaned, but not the review's own
    # items about ownership (Nobody's stale brief has no owner either).
    review_items = rows(
        ReviewItem, pk__in=[int(key.split(":")[1]) for key in listed if "review_item:" in key]
    )
    assert {item.kind for item in review_items} == {Kind.MISSING_BILLING_NOTES, Kind.OPEN_FLAG}
    assert items(queue, Kind.STALE_BRIEF)[f"client:{nobody.pk}"].owner is None


def test_another_organizations_items_stay_in_their_own_review(
    org, other_org, ticket, developer, foreign_client, foreign_request_type
):
    mine = ticket()
    theirs_member = MembershipFactory(organization=other_org, role=Role.DEVELOPER)
    foreign_client.account_manager = MembershipFactory(
        organization=other_org, role=Role.ACCOUNT_MANAGER
    )
    foreign_client.save(update_fields=["account_manager"])
    theirs = TicketFactory(
        organization=other_org,
        client=foreign_client,
        request_type=foreign_request_type,
        assignee=theirs_member,
        status=Ticket.Status.IN_PROGRESS,
    )
    deactivate(developer)
    deactivate(theirs_member)
    ours = build(org)
    assert set(items(ours, Kind.ORPHANED_ITEM)) == {f"ticket:{mine.pk}"}
    their_queue = build(other_org)
    assert set(items(their_queue, Kind.ORPHANED_ITEM)) == {f"ticket:{theirs.pk}"}
    assert set(items(their_queue, Kind.STALE_BRIEF)) == {f"client:{foreign_client.pk}"}
    assert {i.organization_id for i in rows(ReviewItem, queue=their_queue)} == {other_org.pk}


# --- where people see them ----------------------------------------------------------
def test_the_review_page_and_api_show_the_new_kinds(
    org, client_, ticket, developer, account_manager, login, api
):
    mine = ticket(title="Printer")
    deactivate(developer)
    build(org)
    page = login(account_manager).get(reverse("billing:review_current", kwargs={"org": org.slug}))
    assert page.status_code == 200
    html = page.content.decode()
    for text in (
        "Client brief not reviewed in 30 days",
        "Open item without an owner",
        "Acme has no brief",
        f"Ticket #{mine.number} Printer: assignee deactivated",
    ):
        assert text in html
    answer = api(account_manager).get("/api/v1/review-items/", {"kind": "orphaned_item"})
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [(r["kind"], r["subject_key"]) for r in results] == [
        ("orphaned_item", f"ticket:{mine.pk}")
    ]
