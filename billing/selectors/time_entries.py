"""Reads of the meaning of logged time: the portions of time entries."""

from django.db.models import QuerySet, Sum

from msops.tenancy.models import Organization
from tickets.models import Ticket

from ..models import EntryPortion


def portion_list(*, organization: Organization, ticket: Ticket | None = None) -> QuerySet:
    """Portions in entry order, with the decision (and who made it), the rule
    revision and the contract behind each — ready for a page or a prefetch."""
    queryset = (
        EntryPortion.objects.filter(organization=organization)
        .select_related("decision__decided_by__user", "scope_rule", "contract")
        .order_by("entry_id", "position")
    )
    if ticket is not None:
        queryset = queryset.filter(ticket=ticket)
    return queryset


def ticket_minutes_by_status(*, organization: Organization, ticket: Ticket) -> dict[str, int]:
    """The ticket's logged minutes by billing status: they always add up to
    the minutes logged."""
    rows = (
        EntryPortion.objects.filter(organization=organization, ticket=ticket)
        .values("status")
        .annotate(minutes=Sum("minutes"))
        .order_by("status")
    )
    return {row["status"]: row["minutes"] for row in rows}
