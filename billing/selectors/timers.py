"""Reads of timers: a person's running timer."""

from msops.tenancy.models import Membership, Organization
from tickets.models import Timer


def timer_running(*, organization: Organization | int, person: Membership | int) -> Timer | None:
    """The person's running timer (at most one) with its ticket, or None. One
    query."""
    return (
        Timer.objects.filter(organization=organization, person=person)
        .select_related("ticket")
        .first()
    )
