"""Reads of scope checks: the list, one check, and an account manager's queue."""

import datetime

from django.db.models import QuerySet
from django.utils import timezone

from msops.tenancy.models import Membership, Organization, Role
from tickets.models import Ticket

from ..models import ScopeCheck

# Who sees every open scope check in the queue, not only their clients'.
SEES_ALL_SCOPE_CHECKS = frozenset({Role.ADMIN})


def scope_check_list(
    *,
    organization: Organization,
    status: str | list[str] | tuple | None = None,
    account_manager: Membership | int | None = None,
    ticket: Ticket | int | None = None,
) -> QuerySet[ScopeCheck]:
    """Scope checks, oldest first, with the ticket, its client and the people."""
    queryset = (
        ScopeCheck.objects.filter(organization=organization)
        .select_related(
            "ticket__client",
            "requested_by__user",
            "account_manager__user",
            "decided_by__user",
        )
        .order_by("created_at", "pk")
    )
    if status:
        statuses = [status] if isinstance(status, str) else list(status)
        queryset = queryset.filter(status__in=statuses)
    if account_manager:
        queryset = queryset.filter(account_manager=account_manager)
    if ticket:
        queryset = queryset.filter(ticket=ticket)
    return queryset


def scope_check_get(*, organization: Organization, pk: int) -> ScopeCheck | None:
    return scope_check_list(organization=organization).filter(pk=pk).first()


def scope_check_queue(*, membership: Membership) -> QuerySet[ScopeCheck]:
    """The open scope checks waiting on this person, oldest first: an account
    manager's own clients' checks; an admin's: every open check."""
    queryset = scope_check_list(
        organization=membership.organization, status=ScopeCheck.OPEN_STATUSES
    )
    if membership.role not in SEES_ALL_SCOPE_CHECKS:
        queryset = queryset.filter(account_manager=membership)
    return queryset


def scope_check_age(check: ScopeCheck, now: datetime.datetime | None = None) -> datetime.timedelta:
    return (now or timezone.now()) - check.created_at
