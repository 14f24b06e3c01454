"""Reads of transitions/: querysets already filtered by organization and
joined for the endpoint that uses them, so the number of queries does not
grow with the number of rows."""

import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet

from clients.models import Client
from msops.tenancy.models import Membership, Organization, Role
from msops.timezones import organization_today
from tickets.models import Ticket, TimeEntry

from .models import Handoff, HandoffItem, RecurringOccurrence, RecurringTask, Risk


def recurring_task_list(*, organization: Organization) -> QuerySet[RecurringTask]:
    return (
        RecurringTask.objects.filter(organization=organization)
        .select_related("client", "owner__user", "request_type")
        .order_by("client__name", "title", "pk")
    )


def recurring_occurrence_list(*, organization: Organization) -> QuerySet[RecurringOccurrence]:
    return (
        RecurringOccurrence.objects.filter(organization=organization)
        .select_related("recurring_task", "ticket")
        .order_by("-due_on", "-pk")
    )


RECENT_OCCURRENCE_DAYS = 30


def recent_occurrences(*, organization: Organization, filters: dict | None = None) -> list:
    """Occurrences whose ticket is still open, and those due in the last
    ``RECENT_OCCURRENCE_DAYS`` days, newest first; each with ``overdue``
    (still open after its due day, as the overdue flag says)."""
    today = organization_today(organization)
    since = today - datetime.timedelta(days=RECENT_OCCURRENCE_DAYS)
    filters = {f"recurring_task__{name}": value for name, value in (filters or {}).items()}
    rows = list(
        recurring_occurrence_list(organization=organization)
        .select_related("recurring_task__client", "ticket")
        .filter(Q(due_on__gte=since) | Q(ticket__status__in=Ticket.OPEN_STATUSES), **filters)
        .order_by("-due_on", "-pk")[:100]
    )
    for row in rows:
        row.overdue = row.ticket is not None and row.ticket.is_open and row.due_on < today
    return rows


def risk_list(*, organization: Organization) -> QuerySet[Risk]:
    return (
        Risk.objects.filter(organization=organization)
        .select_related("client", "owner__user")
        .order_by("client__name", "-created_at", "-pk")
    )


# How far back logged time makes a client "theirs" for a developer.
WORKED_FOR_DAYS = 90


def clients_worked_for(*, organization: Organization, membership: Membership) -> QuerySet[Client]:
    """The clients a member works for: an open ticket assigned to them, time
    they logged in the last ``WORKED_FOR_DAYS`` days, a recurring task or
    an open risk they own, or a handoff line given to them. Developers read
    the briefs of these clients (account managers, admins and finance read
    every brief)."""
    since = organization_today(organization) - datetime.timedelta(days=WORKED_FOR_DAYS)
    client = OuterRef("pk")
    return Client.objects.filter(organization=organization).filter(
        Exists(
            Ticket.objects.filter(
                organization=organization,
                client=client,
                assignee=membership,
                status__in=Ticket.OPEN_STATUSES,
            )
        )
        | Exists(
            TimeEntry.objects.filter(
                organization=organization,
                ticket__client=client,
                person=membership,
                work_date__gte=since,
            )
        )
        | Exists(
            RecurringTask.objects.filter(
                organization=organization, client=client, owner=membership, active=True
            )
        )
        | Exists(
            Risk.objects.filter(organization=organization, client=client, owner=membership).exclude(
                status=Risk.Status.CLOSED
            )
        )
        | Exists(
            # A line given to them in a handoff still in progress (once it
            # completes, the item itself is theirs).
            HandoffItem.objects.filter(
                organization=organization,
                client=client,
                new_owner=membership,
                status=HandoffItem.Status.PENDING,
                handoff__status=Handoff.Status.OPEN,
            )
        )
    )


def reads_every_brief(membership: Membership) -> bool:
    return membership.role != Role.DEVELOPER
