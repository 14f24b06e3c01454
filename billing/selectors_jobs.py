"""Reads of the jobs' output: exception flags, weekly review queues and their
items, and the counts shown in the navigation. Querysets are filtered by
organization and joined for the page or endpoint that uses them, so the
number of queries does not grow with the number of rows."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from clients.models import Client
from msops.tenancy.models import Membership, Organization, Role

from .models import ExceptionFlag, ReviewItem, ReviewQueue
from .review import REVIEWERS, week_start_for
from .selectors import scope_check_queue

# Who sees every flag and review item in the navigation, not only their own.
SEES_ALL_FLAGS = frozenset({Role.ADMIN})
SEES_ALL_REVIEW = frozenset({Role.ADMIN, Role.FINANCE})


# --- flags ------------------------------------------------------------------------
def flag_list(
    *,
    organization: Organization,
    kind: str | None = None,
    status: str | None = None,
    client: Client | int | None = None,
    owner: Membership | int | None = None,
    ticket: int | None = None,
) -> QuerySet[ExceptionFlag]:
    """Flags, newest first, with what a row shows (ticket, client, contract,
    owner and resolver)."""
    queryset = (
        ExceptionFlag.objects.filter(organization=organization)
        .select_related("ticket", "client", "contract", "owner__user", "resolved_by__user")
        .order_by("-created_at", "-pk")
    )
    if kind:
        queryset = queryset.filter(kind=kind)
    if status:
        queryset = queryset.filter(status=status)
    if client:
        queryset = queryset.filter(client=client)
    if owner:
        queryset = queryset.filter(owner=owner)
    if ticket:
        queryset = queryset.filter(ticket=ticket)
    return queryset


def flag_get(*, organization: Organization, pk: int) -> ExceptionFlag | None:
    return flag_list(organization=organization).filter(pk=pk).first()


def flag_client_choices(*, organization: Organization) -> QuerySet[Client]:
    return Client.objects.filter(organization=organization).order_by("name", "pk")


def member_choices(*, organization: Organization) -> QuerySet[Membership]:
    """Everyone of the organization (filters by owner)."""
    return (
        Membership.objects.filter(organization=organization)
        .select_related("user")
        .order_by("user__username")
    )


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
    week = week_start_for(organization, now)
    return review_queue_list(organization=organization).filter(week_start=week).first()


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


# --- navigation ---------------------------------------------------------------------
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
        queue__week_start=week_start_for(organization, now),
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
