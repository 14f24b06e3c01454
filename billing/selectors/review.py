"""Reads of the weekly ambiguity review: who works it, its queues and items,
what is left of a queue, and the flags an item stands for."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from msops.tenancy.models import Membership, Organization, Role
from msops.timezones import organization_week_start

from ..models import ExceptionFlag, ReviewItem, ReviewQueue
from .flags import member_choices

# Who works the review (and resolves flags): on every interface.
REVIEWERS = frozenset({Role.ACCOUNT_MANAGER, Role.ADMIN, Role.FINANCE})


def reviewer_choices(*, organization: Organization) -> QuerySet[Membership]:
    """Members who may own a review item: they can open the review page."""
    return member_choices(organization=organization).filter(role__in=REVIEWERS)


# --- review queues ------------------------------------------------------------------
def review_queue_list(*, organization: Organization) -> QuerySet[ReviewQueue]:
    """Queues, newest week first, with how many items they hold and how many
    are still open."""
    return (
        ReviewQueue.objects.filter(organization=organization)
        .annotate(
            total_items=Count("items"),
            open_items=Count("items", filter=Q(items__status=ReviewItem.Status.OPEN)),
        )
        .order_by("-week_start")
    )


def review_queue_get(*, organization: Organization, pk: int) -> ReviewQueue | None:
    return review_queue_list(organization=organization).filter(pk=pk).first()


def review_queue_current(
    *, organization: Organization, now: datetime.datetime | None = None
) -> ReviewQueue | None:
    """The queue of the organization's current week, if it was built."""
    week = organization_week_start(organization, now)
    return review_queue_list(organization=organization).filter(week_start=week).first()


def review_queue_due(*, organization: Organization, now: datetime.datetime | None = None) -> bool:
    """Whether the organization's current week has no queue yet."""
    week = organization_week_start(organization, now)
    return not ReviewQueue.objects.filter(organization=organization, week_start=week).exists()


# --- review items -------------------------------------------------------------------
def review_item_list(
    *,
    organization: Organization,
    queue: ReviewQueue | int | None = None,
    kind: str | None = None,
    status: str | None = None,
    owner: Membership | int | None = None,
) -> QuerySet[ReviewItem]:
    """Items grouped by kind (ordered by kind, then oldest first), with the
    ticket, client and owner a row shows and, for open flags, ``flags_left``:
    how many of the flags the item counts are still open."""
    flags_left = (
        ExceptionFlag.objects.filter(
            organization=organization,
            client=OuterRef("client"),
            kind=OuterRef("flag_kind"),
            status=ExceptionFlag.Status.OPEN,
            pk__lte=OuterRef("flag"),
        )
        .order_by()
        .values("kind")
        .annotate(n=Count("pk"))
        .values("n")
    )
    queryset = (
        ReviewItem.objects.filter(organization=organization)
        .select_related("queue", "ticket", "client", "owner__user", "resolved_by__user")
        .annotate(flags_left=Coalesce(Subquery(flags_left, output_field=IntegerField()), 0))
        .order_by("queue", "kind", "pk")
    )
    if queue:
        queryset = queryset.filter(queue=queue)
    if kind:
        queryset = queryset.filter(kind=kind)
    if status:
        queryset = queryset.filter(status=status)
    if owner:
        queryset = queryset.filter(owner=owner)
    return queryset


def review_item_get(*, organization: Organization, pk: int) -> ReviewItem | None:
    return review_item_list(organization=organization).filter(pk=pk).first()


def review_item_flags(item: ReviewItem) -> QuerySet[ExceptionFlag]:
    """The open flags an open-flag item stands for: its client's open flags
    of its kind, up to the latest one it counts."""
    if item.kind != ReviewItem.Kind.OPEN_FLAG or not item.flag_id:
        return ExceptionFlag.objects.none()
    return ExceptionFlag.objects.filter(
        organization=item.organization_id,
        client=item.client_id,
        kind=item.flag_kind,
        status=ExceptionFlag.Status.OPEN,
        pk__lte=item.flag_id,
    )


@dataclass(frozen=True)
class KindCount:
    kind: str
    label: str
    open: int
    total: int


@dataclass(frozen=True)
class ReviewCounts:
    """What is left of a queue: per kind, in all, and owned by one member."""

    kinds: list[KindCount]
    open: int
    total: int
    mine: int


def review_counts(*, queue: ReviewQueue, membership: Membership) -> ReviewCounts:
    """One aggregate query over the queue's items."""
    open_q = Q(status=ReviewItem.Status.OPEN)
    rows = (
        ReviewItem.objects.filter(organization=queue.organization_id, queue=queue)
        .values("kind")
        .annotate(
            total=Count("pk"),
            open=Count("pk", filter=open_q),
            mine=Count("pk", filter=open_q & Q(owner=membership)),
        )
    )
    by_kind = {row["kind"]: row for row in rows}
    kinds = [
        KindCount(
            kind=value,
            label=label,
            open=by_kind.get(value, {}).get("open", 0),
            total=by_kind.get(value, {}).get("total", 0),
        )
        for value, label in ReviewItem.Kind.choices
    ]
    return ReviewCounts(
        kinds=kinds,
        open=sum(k.open for k in kinds),
        total=sum(k.total for k in kinds),
        mine=sum(row["mine"] for row in by_kind.values()),
    )
