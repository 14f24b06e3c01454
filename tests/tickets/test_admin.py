import datetime

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from msops.tenancy.models import Role
from msops.tenancy.scoping import activate_organization
from tests.factories import (
    ClientFactory,
    MembershipFactory,
    RequestTypeFactory,
    TicketFactory,
    UserFactory,
)
from tests.tickets.helpers import count, fresh
from tickets.models import BillingMoment, Ticket, TimeEntry


@pytest.fixture
def staff(org):
    """A staff user who administers ``org`` only."""
    membership = MembershipFactory(organization=org, role=Role.ADMIN, user__username="staffer")
    user = membership.user
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="tickets"))
    return user


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


def admin_url(model, action, *args):
    return reverse(f"admin:tickets_{model}_{action}", args=args)


def test_staff_see_only_their_organizations_tickets(admin_client, org, terms, stranger):
    TicketFactory(organization=org, client=terms.client, title="Ours to see")
    theirs = TicketFactory(organization=stranger.organization, title="Not for us")
    page = admin_client.get(admin_url("ticket", "changelist")).content.decode()
    assert "Ours to see" in page and "Not for us" not in page
    assert admin_client.get(admin_url("ticket", "change", theirs.pk)).status_code == 302


def test_every_tickets_model_has_an_admin_page(admin_client, org, open_ticket, log_time, developer):
    ticket = open_ticket()
    log_time(ticket, developer)
    for model in ("ticket", "timeentry", "billingmoment"):
        assert admin_client.get(admin_url(model, "changelist")).status_code == 200


def test_adding_a_ticket_in_the_admin_opens_it_through_the_service(admin_client, org, terms):
    response = admin_client.post(
        admin_url("ticket", "add"),
        {
            "organization": org.pk,
            "client": terms.client.pk,
            "request_type": terms.request_type.pk,
            "title": "Added by staff",
            "priority": "urgent",
            "source": "internal",
            "opened_at_0": "2025-03-03",
            "opened_at_1": "09:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    with activate_organization(org):
        ticket = Ticket.objects.get()
    assert (ticket.number, ticket.contract) == (1, terms.contract)
    assert ticket.resolution_due is not None
    assert count(BillingMoment, ticket=ticket, kind="ticket_opened") == 1


def test_a_ticket_for_another_organizations_client_is_refused_in_the_admin(
    admin_client, org, other_org, terms
):
    foreign = ClientFactory(organization=other_org)
    response = admin_client.post(
        admin_url("ticket", "add"),
        {
            "organization": org.pk,
            "client": foreign.pk,
            "request_type": terms.request_type.pk,
            "title": "Sneaky",
            "priority": "normal",
            "source": "internal",
            "opened_at_0": "2025-03-03",
            "opened_at_1": "09:00:00",
        },
    )
    assert response.status_code == 200 and count(Ticket) == 0


def test_changing_a_ticket_in_the_admin_goes_through_the_service(admin_client, open_ticket):
    ticket = open_ticket()
    page = admin_client.get(admin_url("ticket", "change", ticket.pk)).content.decode()
    for read_only in ("number", "logged_minutes", "version", "contract"):
        assert f'name="{read_only}"' not in page
    response = admin_client.post(
        admin_url("ticket", "change", ticket.pk),
        {
            "title": "Renamed",
            "description": "",
            "priority": "normal",
            "status": "resolved",
            "phase": "investigation",
            "assignee": "",
            "request_type": ticket.request_type_id,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    stored = fresh(ticket)
    assert (stored.title, stored.status, stored.version) == ("Renamed", "resolved", 2)
    assert stored.resolved_at is not None


def test_a_request_type_corrected_in_the_admin_asks_the_ticket_again(
    admin_client, org, open_ticket
):
    ticket = open_ticket()
    other = RequestTypeFactory(organization=org, name="Change request")
    response = admin_client.post(
        admin_url("ticket", "change", ticket.pk),
        {
            "title": ticket.title,
            "description": "",
            "priority": ticket.priority,
            "status": ticket.status,
            "phase": ticket.phase,
            "assignee": "",
            "request_type": other.pk,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    with activate_organization(org):
        assert fresh(ticket).request_type == other
        assert BillingMoment.objects.filter(
            ticket=ticket, kind=BillingMoment.Kind.REQUEST_TYPE_CHANGED
        ).exists()


def test_tickets_are_not_deleted_in_the_admin(admin_client, open_ticket):
    ticket = open_ticket()
    assert admin_client.get(admin_url("ticket", "delete", ticket.pk)).status_code == 403


def test_time_added_in_the_admin_keeps_the_ticket_total(admin_client, org, open_ticket, developer):
    ticket = open_ticket(opened_at=datetime.datetime(2025, 3, 1, 9, tzinfo=datetime.UTC))
    response = admin_client.post(
        admin_url("timeentry", "add"),
        {
            "organization": org.pk,
            "ticket": ticket.pk,
            "person": developer.pk,
            "work_date": "2025-03-03",
            "minutes": "40",
            "notes": "Typed in by staff",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert fresh(ticket).logged_minutes == 40
    with activate_organization(org):
        entry = TimeEntry.objects.get()
    assert entry.rate is not None  # snapshotted by the service


def test_future_time_is_refused_in_the_admin(admin_client, org, open_ticket, developer):
    ticket = open_ticket()
    response = admin_client.post(
        admin_url("timeentry", "add"),
        {
            "organization": org.pk,
            "ticket": ticket.pk,
            "person": developer.pk,
            "work_date": (
                timezone.localdate(timezone=org.tzinfo) + datetime.timedelta(days=3)
            ).isoformat(),
            "minutes": "40",
        },
    )
    assert response.status_code == 200 and "future date" in response.content.decode()
    assert count(TimeEntry) == 0


def test_deleting_time_in_the_admin_keeps_the_ticket_total(
    admin_client, open_ticket, log_time, developer
):
    ticket = open_ticket()
    entry = log_time(ticket, developer, minutes=40).entry
    response = admin_client.post(admin_url("timeentry", "delete", entry.pk), {"post": "yes"})
    assert response.status_code == 302
    assert count(TimeEntry) == 0 and fresh(ticket).logged_minutes == 0


def test_a_locked_entry_is_view_only_in_the_admin(
    admin_client, org, open_ticket, log_time, developer
):
    ticket = open_ticket()
    entry = log_time(ticket, developer, minutes=40).entry
    with activate_organization(org):
        TimeEntry.objects.filter(pk=entry.pk).update(locked=True)
    page = admin_client.get(admin_url("timeentry", "change", entry.pk)).content.decode()
    assert 'name="minutes"' not in page
    assert (
        admin_client.post(admin_url("timeentry", "delete", entry.pk), {"post": "yes"}).status_code
        == 403
    )
    assert count(TimeEntry) == 1


def test_billing_moments_are_view_only_in_the_admin(admin_client, open_ticket):
    ticket = open_ticket()
    with activate_organization(ticket.organization):
        moment = BillingMoment.objects.get()
    assert admin_client.get(admin_url("billingmoment", "add")).status_code == 403
    page = admin_client.get(admin_url("billingmoment", "change", moment.pk))
    assert page.status_code == 200 and 'name="status"' not in page.content.decode()


def test_a_superuser_sees_every_organization(client, org, other_org, terms):
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    TicketFactory(organization=org, client=terms.client, title="Alpha ticket")
    TicketFactory(organization=other_org, title="Beta ticket")
    client.force_login(superuser)
    page = client.get(admin_url("ticket", "changelist")).content.decode()
    assert "Alpha ticket" in page and "Beta ticket" in page


def test_the_admin_cannot_assign_a_ticket_to_someone_who_does_not_work_tickets(
    admin_client, open_ticket, finance
):
    ticket = open_ticket()
    response = admin_client.post(
        admin_url("ticket", "change", ticket.pk),
        {
            "title": "Printer offline",
            "description": "",
            "priority": "normal",
            "status": "new",
            "phase": "investigation",
            "assignee": finance.pk,
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert fresh(ticket).assignee_id is None
