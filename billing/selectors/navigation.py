"""What waits for a member, counted for the navigation inside an organization."""

import datetime

from django.db.models import Count, IntegerField, Subquery
from django.db.models.functions import Coalesce

from msops.tenancy.models import Membership, Organization, Role
from msops.timezones import organization_week_start

from ..models import ExceptionFlag, ReviewItem
from .review import REVIEWERS
from .scope_checks import scope_check_queue

# Who sees every flag and review item in the navigation, not only their own.
SEES_ALL_FLAGS = frozenset({Role.ADMIN})
SEES_ALL_REVIEW = frozenset({Role.ADMIN, Role.FINANCE})


def nav_counts(*, membership: Membership, now: datetime.datetime | None = None) -> dict[str, int]:
    """What waits for this member, in one query of three counted subqueries:

    - ``flags``: open flags they own (admins: every open flag);
    - ``scope_checks``: open scope checks where they are the account manager
      (admins: every open one);
    - ``review``: open items of the current week's queue they own (admins and
      finance: every open item). Developers do not work the review: 0."""
    organization = membership.organization
    role = membership.role
    flags = ExceptionFlag.objects.filter(
        organization=organization, status=ExceptionFlag.Status.OPEN
    )
    if role not in SEES_ALL_FLAGS:
        flags = flags.filter(owner=membership)
    checks = scope_check_queue(membership=membership)  # the queue page's own rule
    items = ReviewItem.objects.filter(
        organization=organization,
        queue__organization=organization,
        queue__week_start=organization_week_start(organization, now),
        status=ReviewItem.Status.OPEN,
    )
    if role not in SEES_ALL_REVIEW:
        items = items.filter(owner=membership)
    if role not in REVIEWERS:
        items = items.none()

    def counted(queryset) -> Coalesce:
        return Coalesce(
            Subquery(
                queryset.order_by().values("organization").annotate(n=Count("pk")).values("n")[:1],
                output_field=IntegerField(),
            ),
            0,
        )

    return (
        Organization.objects.filter(pk=organization.pk)
        .values(flags=counted(flags), scope_checks=counted(checks), review=counted(items))
        .get()
    )
