"""The handoff pages: who may start, assign, take and complete; a refusal
is a message or a form error and changes nothing."""

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from billing.models import ExceptionFlag
from msops.tenancy.models import Role
from tests.factories import ClientFactory, MembershipFactory, TicketFactory
from tickets.models import Ticket
from transitions.models import Handoff, HandoffItem

HTMX = {"HX-Request": "true"}


def url(name, org, **kwargs):
    return reverse(f"transitions:{name}", kwargs={"org": org.slug, **kwargs})


@pytest.fixture
def receiver(org):
    return MembershipFactory(organization=org, role=Role.DEVELOPER, user__username="dev2-ours")


@pytest.fixture
def started(org, client_, developer, account_manager, make_task, login):
    TicketFactory(organization=org, client=client_, assignee=developer, title="Printer jam")
    make_task()
    response = login(account_manager).post(
        url("handoff_create", org), {"person": developer.pk, "all_clients": "on", "note": "Bye"}
    )
    with scopes_disabled():
        handoff = Handoff.objects.get()
    assert response.status_code == 302 and response["Location"] == url(
        "handoff_detail", org, pk=handoff.pk
    )
    return handoff


@pytest.mark.parametrize("role", [Role.DEVELOPER, Role.FINANCE])
def test_only_managers_open_the_start_form(login, org, members, role):
    assert login(members[role]).get(url("handoff_create", org)).status_code == 403


def test_the_start_form_explains_a_missing_choice_and_saves_nothing(
    login, org, developer, account_manager
):
    response = login(account_manager).post(url("handoff_create", org), {"person": developer.pk})
    assert response.status_code == 200
    assert "Choose the clients to hand over, or all of them." in response.content.decode()
    with scopes_disabled():
        assert not Handoff.objects.exists()


def test_assign_take_and_complete_through_the_pages(
    login, org, started, developer, account_manager, receiver, client
):
    manager = login(account_manager)
    page = manager.get(url("handoff_detail", org, pk=started.pk)).content.decode()
    assert "Printer jam" in page and "Patch the servers" in page
    assert "2 items" in page
    with scopes_disabled():
        first, second = HandoffItem.objects.order_by("pk")
    # One line through htmx: the checklist comes back with the message once.
    part = manager.post(
        url("handoff_item_assign", org, pk=started.pk, item=first.pk),
        {"new_owner": receiver.pk},
        headers=HTMX,
    ).content.decode()
    assert 'id="handoff-checklist"' in part and "<html" not in part
    assert part.count("goes to dev2-ours") == 1
    # The person handing over cannot receive.
    refused = manager.post(
        url("handoff_item_assign", org, pk=started.pk, item=second.pk),
        {"new_owner": developer.pk},
        headers=HTMX,
    ).content.decode()
    assert "Choose someone other than the person handing over." in refused
    manager.post(url("handoff_assign_all", org, pk=started.pk), {"new_owner": receiver.pk})
    # Completing before the receiver took them is refused with the reason.
    manager.post(url("handoff_complete", org, pk=started.pk))
    page = manager.get(url("handoff_detail", org, pk=started.pk)).content.decode()
    assert "Not completed: Waiting for dev2-ours to acknowledge." in page

    taker = login(receiver)
    page = taker.get(url("handoff_detail", org, pk=started.pk)).content.decode()
    assert "I take the 2 items given to me" in page
    assert 'data-testid="handoff-complete"' not in page  # not theirs to complete
    assert taker.post(url("handoff_complete", org, pk=started.pk)).status_code == 403
    taker.post(url("handoff_acknowledge", org, pk=started.pk))

    done = login(account_manager).post(url("handoff_complete", org, pk=started.pk))
    assert done["Location"] == url("handoff_document", org, pk=started.pk)
    with scopes_disabled():
        assert Ticket.objects.get(title="Printer jam").assignee == receiver
    document = login(receiver).get(done["Location"]).content.decode()
    assert "Handoff document" in document and "Printer jam" in document


def test_a_member_outside_the_handoff_gets_a_404(login, org, started, finance):
    assert login(finance).get(url("handoff_detail", org, pk=started.pk)).status_code == 404
    listing = login(finance).get(url("handoff_list", org)).content.decode()
    assert "No handoffs yet." in listing


def test_the_person_handing_over_reads_their_handoff(login, org, started, developer):
    assert login(developer).get(url("handoff_detail", org, pk=started.pk)).status_code == 200


def test_the_context_page_starts_a_handoff_for_a_person(login, org, developer, account_manager):
    context = login(account_manager).get(url("undocumented_context", org)).content.decode()
    start = f"{url('handoff_create', org)}?person={developer.pk}"
    assert start in context
    form = login(account_manager).get(start).content.decode()
    assert f'<option value="{developer.pk}" selected>' in form


def test_a_receiver_sees_only_the_lines_given_to_them_and_their_clients_in_the_document(
    login, org, client_, developer, account_manager, receiver, make_risk
):
    other = ClientFactory(organization=org, name="Zenith")
    TicketFactory(organization=org, client=client_, assignee=developer, title="Printer jam")
    make_risk(client=other, description="Zenith's secret risk")
    manager = login(account_manager)
    manager.post(url("handoff_create", org), {"person": developer.pk, "all_clients": "on"})
    with scopes_disabled():
        handoff = Handoff.objects.get()
        ticket_line = handoff.items.get(kind="ticket")
        risk_line = handoff.items.get(kind="risk")
    manager.post(
        url("handoff_item_assign", org, pk=handoff.pk, item=ticket_line.pk),
        {"new_owner": receiver.pk},
    )
    manager.post(
        url("handoff_item_assign", org, pk=handoff.pk, item=risk_line.pk),
        {"new_owner": account_manager.pk},
    )
    manager.get(url("handoff_list", org))  # the manager reads their confirmations
    page = login(receiver).get(url("handoff_detail", org, pk=handoff.pk)).content.decode()
    assert "Printer jam" in page and "secret risk" not in page
    login(receiver).post(url("handoff_acknowledge", org, pk=handoff.pk))
    login(account_manager).post(url("handoff_acknowledge", org, pk=handoff.pk))
    login(account_manager).post(url("handoff_complete", org, pk=handoff.pk))
    document = login(receiver).get(url("handoff_document", org, pk=handoff.pk)).content.decode()
    assert "Printer jam" in document and "Zenith" not in document
    whole = login(account_manager).get(url("handoff_document", org, pk=handoff.pk)).content
    assert b"Zenith" in whole


def test_a_handoff_of_chosen_clients_says_what_of_no_client_stays_behind(
    login, org, client_, developer, admin_member, account_manager
):
    ExceptionFlag.objects.create(
        organization=org, kind=ExceptionFlag.Kind.OUTSIDE_CONTRACT, subject_key="entry:1",
        owner=account_manager,
    )  # fmt: skip
    login(admin_member).post(
        url("handoff_create", org), {"person": account_manager.pk, "clients": [client_.pk]}
    )
    with scopes_disabled():
        handoff = Handoff.objects.get()
    page = login(admin_member).get(url("handoff_detail", org, pk=handoff.pk)).content.decode()
    assert "1 open item of no client (flags or review items about the practice) stays with" in page
