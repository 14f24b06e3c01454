"""Handoffs: every open item a person owns becomes a line; each needs a new
owner whose role may own it and who acknowledges it; completing reassigns
through the items' own services and only when nothing is left without an
owner; the handoff document holds each client's brief, the items handed
over and recent decisions."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from billing.models import DecisionLogEntry, ExceptionFlag, ReviewItem, ReviewQueue, ScopeCheck
from msops.tenancy.models import Role
from msops.tenancy.scoping import activate_organization
from tests.factories import ClientFactory, MembershipFactory, TicketFactory
from tickets.models import Ticket
from transitions import briefs, handoffs, ownership
from transitions.models import Handoff, HandoffItem, ItemKind, RecurringTask, Risk


@pytest.fixture(autouse=True)
def _read_outside_scopes():
    """Assertions read rows directly; the services run inside their organization."""
    with scopes_disabled():
        yield


@pytest.fixture
def receiver(org):
    return MembershipFactory(organization=org, role=Role.DEVELOPER, user__username="dev2-ours")


@pytest.fixture
def other_client(org):
    return ClientFactory(organization=org, name="Zenith")


@pytest.fixture
def world(org, client_, other_client, developer, account_manager, make_task, make_risk):
    """What the developer owns at Acme (a ticket, a recurring task, a risk),
    one ticket at Zenith, and what the account manager owns at Acme (the
    account, a scope check, a flag, a review item)."""
    client_.account_manager = account_manager
    client_.save()
    ticket = TicketFactory(
        organization=org, client=client_, assignee=developer, status=Ticket.Status.IN_PROGRESS
    )
    zenith_ticket = TicketFactory(organization=org, client=other_client, assignee=developer)
    TicketFactory(organization=org, client=client_, assignee=developer, status="resolved")
    task = make_task()
    risk = make_risk()
    check = ScopeCheck.objects.create(
        organization=org,
        ticket=ticket,
        requested_by=developer,
        account_manager=account_manager,
        estimate_minutes=120,
        reason="New VLAN",
        client_explanation="A new network segment",
    )
    flag = ExceptionFlag.objects.create(
        organization=org,
        kind=ExceptionFlag.Kind.OVER_EXPECTED,
        subject_key=f"ticket:{ticket.pk}",
        ticket=ticket,
        client=client_,
        owner=account_manager,
        detail="3:00 logged, expected 1:00",
    )
    queue = ReviewQueue.objects.create(organization=org, week_start=timezone.localdate())
    item = ReviewItem.objects.create(
        organization=org,
        queue=queue,
        kind=ReviewItem.Kind.UNCLEAR_DECISION,
        subject_key=f"ticket:{ticket.pk}",
        ticket=ticket,
        client=client_,
        reason="Decided unclear",
        owner=account_manager,
    )
    return {
        "ticket": ticket,
        "zenith_ticket": zenith_ticket,
        "task": task,
        "risk": risk,
        "check": check,
        "flag": flag,
        "review_item": item,
    }


def start(org, person, by, **kwargs):
    with activate_organization(org):
        return handoffs.handoff_start(organization=org, person=person, by=by, **kwargs)


def lines(handoff) -> dict[tuple[str, int], HandoffItem]:
    return {(line.kind, line.object_id): line for line in handoff.items.all()}


# --- listing ------------------------------------------------------------------------
def test_a_developers_handoff_lists_every_open_item_they_own_for_the_chosen_clients(
    org, world, developer, account_manager, client_
):
    handoff = start(org, developer, account_manager, clients=[client_])
    assert set(lines(handoff)) == {
        (ItemKind.TICKET, world["ticket"].pk),
        (ItemKind.RECURRING_TASK, world["task"].pk),
        (ItemKind.RISK, world["risk"].pk),
    }  # not the Zenith ticket, not the resolved one, nothing the AM owns
    line = lines(handoff)[(ItemKind.TICKET, world["ticket"].pk)]
    assert line.label == f"#{world['ticket'].number} {world['ticket'].title}"
    assert line.client_id == client_.pk and line.new_owner_id is None


def test_all_clients_covers_every_client(org, world, developer, account_manager):
    handoff = start(org, developer, account_manager, all_clients=True)
    assert (ItemKind.TICKET, world["zenith_ticket"].pk) in lines(handoff)
    assert len(lines(handoff)) == 4


def test_an_account_managers_handoff_lists_the_account_scope_checks_flags_and_review_items(
    org, world, account_manager, admin_member, client_
):
    handoff = start(org, account_manager, admin_member, all_clients=True)
    assert set(lines(handoff)) == {
        (ItemKind.CLIENT, client_.pk),
        (ItemKind.SCOPE_CHECK, world["check"].pk),
        (ItemKind.FLAG, world["flag"].pk),
        (ItemKind.REVIEW_ITEM, world["review_item"].pk),
    }


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({}, "clients"), ({"all_clients": True, "clients": "both"}, "clients")],
)
def test_starting_needs_clients_or_all_of_them(
    org, world, developer, account_manager, client_, kwargs, field
):
    if kwargs.get("clients") == "both":
        kwargs["clients"] = [client_]
    with pytest.raises(ValidationError) as error:
        start(org, developer, account_manager, **kwargs)
    assert field in error.value.message_dict
    assert not Handoff.objects.exists()


def test_only_managers_start_and_one_handoff_per_person_is_in_progress(
    org, world, developer, account_manager, finance, receiver
):
    with pytest.raises(ValidationError, match="account managers and admins"):
        start(org, developer, receiver, all_clients=True)
    start(org, developer, account_manager, all_clients=True)
    with pytest.raises(ValidationError) as error:
        start(org, developer, account_manager, all_clients=True)
    assert "already has a handoff in progress" in error.value.message_dict["person"][0]
    assert Handoff.objects.count() == 1


def test_a_foreign_person_or_client_is_refused(
    org, other_org, stranger, developer, account_manager, foreign_client
):
    with pytest.raises(ValidationError) as error:
        start(org, stranger, account_manager, clients=[foreign_client])
    assert set(error.value.message_dict) == {"person", "clients"}


# --- assigning ----------------------------------------------------------------------
def test_a_new_owner_must_be_allowed_to_own_the_kind(
    org, world, account_manager, admin_member, developer, finance, receiver
):
    handoff = start(org, account_manager, admin_member, all_clients=True)
    by_kind = {line.kind: line for line in handoff.items.all()}
    with activate_organization(org):
        with pytest.raises(ValidationError) as error:
            handoffs.handoff_assign(
                item=by_kind[ItemKind.SCOPE_CHECK], new_owner=developer, by=admin_member
            )
        assert "account manager or admin" in error.value.message_dict["new_owner"][0]
        with pytest.raises(ValidationError, match="other than the person"):
            handoffs.handoff_assign(
                item=by_kind[ItemKind.FLAG], new_owner=account_manager, by=admin_member
            )
        handoffs.handoff_assign(item=by_kind[ItemKind.FLAG], new_owner=finance, by=admin_member)
    assert HandoffItem.objects.get(pk=by_kind[ItemKind.FLAG].pk).new_owner == finance


def test_a_deactivated_member_cannot_receive(org, world, developer, account_manager, receiver):
    receiver.user.is_active = False
    receiver.user.save()
    handoff = start(org, developer, account_manager, all_clients=True)
    with activate_organization(org), pytest.raises(ValidationError, match="deactivated"):
        handoffs.handoff_assign_all(handoff=handoff, new_owner=receiver, by=account_manager)


def test_assign_all_skips_the_lines_the_receivers_role_may_not_own(
    org, world, account_manager, admin_member, receiver
):
    handoff = start(org, account_manager, admin_member, all_clients=True)
    with activate_organization(org):
        result = handoffs.handoff_assign_all(handoff=handoff, new_owner=receiver, by=admin_member)
    # A developer may own none of an account manager's four kinds.
    assert result.assigned == 0 and len(result.skipped) == 4
    assert not handoff.items.filter(new_owner__isnull=False).exists()


def test_moving_a_line_to_someone_else_undoes_the_acknowledgement(
    org, world, developer, account_manager, receiver, admin_member
):
    handoff = start(org, developer, account_manager, clients=[world["ticket"].client])
    line = handoff.items.get(kind=ItemKind.TICKET)
    with activate_organization(org):
        handoffs.handoff_assign(item=line, new_owner=receiver, by=account_manager)
        assert handoffs.handoff_acknowledge(handoff=handoff, by=receiver) == 1
        handoffs.handoff_assign(item=line, new_owner=admin_member, by=account_manager)
    assert HandoffItem.objects.get(pk=line.pk).acknowledged_at is None


def test_acknowledging_with_nothing_given_is_refused(org, world, developer, account_manager):
    handoff = start(org, developer, account_manager, all_clients=True)
    with activate_organization(org), pytest.raises(ValidationError, match="Nothing"):
        handoffs.handoff_acknowledge(handoff=handoff, by=account_manager)


# --- completing ---------------------------------------------------------------------
def test_a_handoff_cannot_complete_with_an_item_left_without_an_owner(
    org, world, developer, account_manager, receiver
):
    handoff = start(org, developer, account_manager, all_clients=True)
    first, *_ = handoff.items.order_by("pk")
    with activate_organization(org):
        handoffs.handoff_assign(item=first, new_owner=receiver, by=account_manager)
        handoffs.handoff_acknowledge(handoff=handoff, by=receiver)
        with pytest.raises(handoffs.HandoffIncomplete, match="3 items have no new owner"):
            handoffs.handoff_complete(handoff=handoff, by=account_manager)
    handoff.refresh_from_db()
    assert handoff.status == Handoff.Status.OPEN
    assert Ticket.objects.get(pk=world["ticket"].pk).assignee == developer  # nothing moved


def test_a_handoff_cannot_complete_before_the_receiver_acknowledges(
    org, world, developer, account_manager, receiver
):
    handoff = start(org, developer, account_manager, all_clients=True)
    with activate_organization(org):
        handoffs.handoff_assign_all(handoff=handoff, new_owner=receiver, by=account_manager)
        with pytest.raises(handoffs.HandoffIncomplete, match="Waiting for dev2-ours"):
            handoffs.handoff_complete(handoff=handoff, by=account_manager)


def test_work_picked_up_since_the_listing_is_added_and_blocks_completion(
    org, world, developer, account_manager, receiver, client_
):
    handoff = start(org, developer, account_manager, all_clients=True)
    with activate_organization(org):
        handoffs.handoff_assign_all(handoff=handoff, new_owner=receiver, by=account_manager)
        handoffs.handoff_acknowledge(handoff=handoff, by=receiver)
        late = TicketFactory(organization=org, client=client_, assignee=developer)
        with pytest.raises(handoffs.HandoffIncomplete, match="1 new item appeared"):
            handoffs.handoff_complete(handoff=handoff, by=account_manager)
        assert not handoff.items.filter(object_id=late.pk).exists()  # refusing writes nothing
        assert handoffs.handoff_relist(handoff=handoff, by=account_manager) == 1
        with pytest.raises(handoffs.HandoffIncomplete, match="1 item has no new owner"):
            handoffs.handoff_complete(handoff=handoff, by=account_manager)
    assert handoff.items.get(kind=ItemKind.TICKET, object_id=late.pk).new_owner is None


def test_a_receiver_who_left_before_completion_blocks_it(
    org, world, developer, account_manager, receiver
):
    handoff = start(org, developer, account_manager, all_clients=True)
    with activate_organization(org):
        handoffs.handoff_assign_all(handoff=handoff, new_owner=receiver, by=account_manager)
        handoffs.handoff_acknowledge(handoff=handoff, by=receiver)
        receiver.user.is_active = False
        receiver.user.save()
        with pytest.raises(handoffs.HandoffIncomplete, match="deactivated"):
            handoffs.handoff_complete(handoff=handoff, by=account_manager)
    assert Ticket.objects.get(pk=world["ticket"].pk).assignee == developer


def test_an_item_left_without_an_owner_meanwhile_stays_on_the_checklist(
    org, world, developer, account_manager, receiver
):
    handoff = start(org, developer, account_manager, all_clients=True)
    Ticket.objects.filter(pk=world["ticket"].pk).update(assignee=None)  # cleared meanwhile
    with activate_organization(org):
        handoffs.handoff_assign_all(handoff=handoff, new_owner=receiver, by=account_manager)
        handoffs.handoff_acknowledge(handoff=handoff, by=receiver)
        handoffs.handoff_complete(handoff=handoff, by=account_manager)
    line = handoff.items.get(kind=ItemKind.TICKET, object_id=world["ticket"].pk)
    assert line.status == HandoffItem.Status.TRANSFERRED
    assert Ticket.objects.get(pk=world["ticket"].pk).assignee == receiver


def test_a_line_that_comes_back_must_be_acknowledged_again(
    org, world, developer, account_manager, receiver
):
    handoff = start(org, developer, account_manager, all_clients=True)
    ticket = world["ticket"]
    with activate_organization(org):
        handoffs.handoff_assign_all(handoff=handoff, new_owner=receiver, by=account_manager)
        handoffs.handoff_acknowledge(handoff=handoff, by=receiver)
        Ticket.objects.filter(pk=ticket.pk).update(assignee=account_manager)
        handoffs.handoff_relist(handoff=handoff, by=account_manager)  # set aside
        Ticket.objects.filter(pk=ticket.pk).update(assignee=developer)
        with pytest.raises(handoffs.HandoffIncomplete, match="theirs again"):
            handoffs.handoff_complete(handoff=handoff, by=account_manager)
        handoffs.handoff_relist(handoff=handoff, by=account_manager)
        with pytest.raises(handoffs.HandoffIncomplete, match="Waiting for dev2-ours"):
            handoffs.handoff_complete(handoff=handoff, by=account_manager)
    line = handoff.items.get(kind=ItemKind.TICKET, object_id=ticket.pk)
    assert line.status == HandoffItem.Status.PENDING and line.acknowledged_at is None


def test_completing_reassigns_every_item_through_its_service(
    org, world, developer, account_manager, admin_member, receiver, finance, client_
):
    dev_handoff = start(org, developer, account_manager, all_clients=True)
    am_handoff = start(org, account_manager, admin_member, all_clients=True)
    resolved = TicketFactory(organization=org, client=client_, assignee=developer)
    with activate_organization(org):
        handoffs.handoff_relist(handoff=dev_handoff, by=account_manager)
        resolved.status = Ticket.Status.RESOLVED  # finished before the handoff completes
        resolved.save()
        handoffs.handoff_assign_all(handoff=dev_handoff, new_owner=receiver, by=account_manager)
        handoffs.handoff_acknowledge(handoff=dev_handoff, by=receiver)
        done = handoffs.handoff_complete(handoff=dev_handoff, by=account_manager)
        handoffs.handoff_assign_all(handoff=am_handoff, new_owner=admin_member, by=admin_member)
        handoffs.handoff_assign(
            item=am_handoff.items.get(kind=ItemKind.FLAG), new_owner=finance, by=admin_member
        )
        handoffs.handoff_acknowledge(handoff=am_handoff, by=admin_member)
        handoffs.handoff_acknowledge(handoff=am_handoff, by=finance)
        handoffs.handoff_complete(handoff=am_handoff, by=admin_member)
        assert ownership.owned_items(organization=org, person=developer) == []
        assert ownership.owned_items(organization=org, person=account_manager) == []
    assert done.status == Handoff.Status.COMPLETED and done.completed_by == account_manager
    ticket = Ticket.objects.get(pk=world["ticket"].pk)
    assert ticket.assignee == receiver and ticket.version == world["ticket"].version + 1
    assert RecurringTask.objects.get(pk=world["task"].pk).owner == receiver
    assert Risk.objects.get(pk=world["risk"].pk).owner == receiver
    assert type(client_).objects.get(pk=client_.pk).account_manager == admin_member
    assert ScopeCheck.objects.get(pk=world["check"].pk).account_manager == admin_member
    assert ExceptionFlag.objects.get(pk=world["flag"].pk).owner == finance
    assert ReviewItem.objects.get(pk=world["review_item"].pk).owner == admin_member
    assert dev_handoff.items.get(object_id=resolved.pk, kind="ticket").status == "settled"
    assert Ticket.objects.get(pk=resolved.pk).assignee == developer  # settled: not moved
    assert set(dev_handoff.items.values_list("status", flat=True)) == {"transferred", "settled"}


def test_a_service_refusal_moves_nothing(org, world, developer, account_manager, receiver):
    handoff = start(org, developer, account_manager, all_clients=True)
    with activate_organization(org):
        handoffs.handoff_assign_all(handoff=handoff, new_owner=receiver, by=account_manager)
        handoffs.handoff_acknowledge(handoff=handoff, by=receiver)
        receiver.role = Role.FINANCE  # the receiver moved to finance meanwhile
        receiver.save()
        with pytest.raises(ValidationError):
            handoffs.handoff_complete(handoff=handoff, by=account_manager)
    assert Ticket.objects.get(pk=world["ticket"].pk).assignee == developer
    assert RecurringTask.objects.get(pk=world["task"].pk).owner == developer
    handoff.refresh_from_db()
    assert handoff.status == Handoff.Status.OPEN


def test_a_cancelled_handoff_takes_no_more_changes(org, world, developer, account_manager):
    handoff = start(org, developer, account_manager, all_clients=True)
    with activate_organization(org):
        handoffs.handoff_cancel(handoff=handoff, by=account_manager)
        with pytest.raises(ValidationError, match="already cancelled"):
            handoffs.handoff_relist(handoff=handoff, by=account_manager)
        # The person may be handed over again.
        handoffs.handoff_start(
            organization=org, person=developer, by=account_manager, all_clients=True
        )


# --- the document -------------------------------------------------------------------
@pytest.fixture
def completed(org, world, developer, account_manager, receiver, client_):
    with activate_organization(org):
        briefs.client_brief_update(
            client=client_,
            summary="Escalate outages to Dana, the office manager.",
            by=account_manager,
        )
        DecisionLogEntry.objects.create(
            organization=org,
            kind=DecisionLogEntry.Kind.WRITE_OFF,
            client=client_,
            ticket=world["ticket"],
            actor=account_manager,
            summary="Wrote off 30 min of printer work",
            reason="Our mistake in the setup",
        )
        handoff = handoffs.handoff_start(
            organization=org, person=developer, by=account_manager, clients=[client_],
            note="Dev leaves on Friday.",
        )  # fmt: skip
        handoffs.handoff_assign_all(handoff=handoff, new_owner=receiver, by=account_manager)
        handoffs.handoff_acknowledge(handoff=handoff, by=receiver)
        return handoffs.handoff_complete(handoff=handoff, by=account_manager)


def test_the_document_holds_the_brief_the_items_with_new_owners_and_recent_decisions(
    org, completed, world
):
    with activate_organization(org):
        doc = handoffs.handoff_document(handoff=completed)
        text = handoffs.handoff_markdown(document=doc)
    assert [entry.client.name for entry in doc.clients] == ["Acme"]
    assert "# Handoff document: dev-ours" in text
    assert "Dev leaves on Friday." in text
    assert "## Acme" in text
    assert "Escalate outages to Dana, the office manager." in text
    assert f"- Ticket: #{world['ticket'].number} {world['ticket'].title} → **dev2-ours**" in text
    assert "- Recurring task: Patch the servers (weekly" in text
    assert "Known exceptions: Never on the last Friday" in text
    assert "- Risk: Backups never restored (high) → **dev2-ours**" in text
    assert "Write-off, #" in text and "Wrote off 30 min of printer work — Our mistake" in text
    assert "### Repeating patterns (last 90 days)" in text
    assert "No ticket was reopened in the last 90 days." in text
    assert "&" not in text.replace("&&", "")  # plain text: nothing HTML-escaped


def test_the_document_pages(login, org, completed, receiver, world, developer, stranger):
    page = login(receiver).get(
        reverse("transitions:handoff_document", kwargs={"org": org.slug, "pk": completed.pk})
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert "Escalate outages to Dana" in html and world["ticket"].title in html
    assert "{#" not in html and "{%" not in html  # every template comment closed
    download = login(receiver).get(
        reverse("transitions:handoff_markdown", kwargs={"org": org.slug, "pk": completed.pk})
    )
    assert download["Content-Type"].startswith("text/markdown")
    assert 'filename="handoff-dev-ours-' in download["Content-Disposition"]
    assert b"## Acme" in download.content


def test_no_document_before_completion(login, org, world, developer, account_manager):
    handoff = start(org, developer, account_manager, all_clients=True)
    response = login(account_manager).get(
        reverse("transitions:handoff_document", kwargs={"org": org.slug, "pk": handoff.pk})
    )
    assert response.status_code == 404
