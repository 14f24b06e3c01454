"""Reads of the work, filtered by organization and joined for the pages and
endpoints that use them, so their query counts stay constant."""

import datetime

from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone

from clients.models import Client, Priority, RequestType
from clients.rules import AppliedRule, applicable_rule
from msops.tenancy.models import Membership, Organization, Role

from .models import BillingMoment, Ticket, TicketPause, TimeEntry

OPEN = "open"  # a status filter value: any of Ticket.OPEN_STATUSES

PRIORITY_RANK = Case(
    *(When(priority=value, then=Value(rank)) for rank, value in enumerate(Priority.values)),
    default=Value(-1),
    output_field=IntegerField(),
)
STATUS_RANK = Case(
    *(When(status=value, then=Value(rank)) for rank, value in enumerate(Ticket.Status.values)),
    default=Value(-1),
    output_field=IntegerField(),
)

# ``sort`` keys people use → the ordering behind them.
TICKET_SORTS = {
    "number": ("number",),
    "title": ("title",),
    "client": ("client__name",),
    "status": ("status_rank",),
    "priority": ("priority_rank",),
    "opened_at": ("opened_at",),
    "logged_minutes": ("logged_minutes",),
}
DEFAULT_TICKET_SORT = "-opened_at"


def _id(value) -> int | None:
    return getattr(value, "pk", value)


def ticket_search(queryset: QuerySet[Ticket], search: str) -> QuerySet[Ticket]:
    """Title contains the words; or the number, written 42 or #42."""
    search = (search or "").strip()
    if not search:
        return queryset
    condition = Q(title__icontains=search)
    digits = search.lstrip("#")
    if digits.isdigit() and len(digits) < 10:
        condition |= Q(number=int(digits))
    return queryset.filter(condition)


def ticket_sort_key(sort: str | None) -> str:
    """The sort actually applied: a known key with an optional ``-``."""
    sort = (sort or "").strip()
    return sort if sort.lstrip("-") in TICKET_SORTS else DEFAULT_TICKET_SORT


def ticket_list(
    *,
    organization: Organization,
    client=None,
    status: str | list[str] | None = None,
    assignee=None,
    unassigned: bool = False,
    request_type=None,
    priority: str | None = None,
    account_manager=None,
    with_open_moments: bool = False,
    mine_or_opened=None,
    search: str = "",
    ordering: str | None = None,
) -> QuerySet[Ticket]:
    """Tickets of the organization, joined for the list page and the API.

    Related filters take an object or an id; ``status="open"`` means any open
    status; ``account_manager`` keeps tickets of the clients they manage;
    ``mine_or_opened`` the tickets assigned to that member, or opened by them
    and assigned to nobody.

    Every ticket carries ``waits_for_decision``: THE definition of a ticket
    waiting for a billing decision — it has an open billing moment (a ticket
    nobody classified yet still has its "ticket opened" moment open).
    ``with_open_moments`` keeps only those."""
    queryset = (
        Ticket.objects.filter(organization=organization)
        .select_related("client", "request_type", "assignee__user")
        .annotate(
            priority_rank=PRIORITY_RANK,
            status_rank=STATUS_RANK,
            waits_for_decision=Exists(
                BillingMoment.objects.filter(
                    organization=organization,
                    ticket=OuterRef("pk"),
                    status=BillingMoment.Status.OPEN,
                )
            ),
        )
    )
    if client:
        queryset = queryset.filter(client_id=_id(client))
    if status:
        statuses = [status] if isinstance(status, str) else list(status)
        if OPEN in statuses:
            statuses = [s for s in statuses if s != OPEN] + list(Ticket.OPEN_STATUSES)
        queryset = queryset.filter(status__in=statuses)
    if assignee:
        queryset = queryset.filter(assignee_id=_id(assignee))
    if unassigned:
        queryset = queryset.filter(assignee__isnull=True)
    if request_type:
        queryset = queryset.filter(request_type_id=_id(request_type))
    if priority:
        queryset = queryset.filter(priority=priority)
    if account_manager:
        queryset = queryset.filter(client__account_manager_id=_id(account_manager))
    if with_open_moments:
        queryset = queryset.filter(waits_for_decision=True)
    if mine_or_opened:
        member = _id(mine_or_opened)
        queryset = queryset.filter(
            Q(assignee_id=member) | Q(assignee__isnull=True, opened_by_id=member)
        )
    queryset = ticket_search(queryset, search)
    sort = ticket_sort_key(ordering)
    descending = sort.startswith("-")
    fields = TICKET_SORTS[sort.lstrip("-")]
    order = [f"-{f}" if descending else f for f in fields]
    return queryset.order_by(*order, "-number" if descending else "number")


def ticket_detail(
    *, organization: Organization, pk: int | None = None, number: int | None = None
) -> Ticket:
    """One ticket (by id or by its number in the practice) with everything
    its page shows beside it; raises ``Ticket.DoesNotExist`` for another
    organization's ticket."""
    lookup = {"pk": pk} if number is None else {"number": number}
    return (
        Ticket.objects.select_related(
            "organization",
            "client__account_manager__user",
            "contract",
            "request_type",
            "assignee__user",
            "opened_by__user",
            "sla_calendar",
        )
        .annotate(
            # The page lists the pauses only for a ticket that has some.
            has_pauses=Exists(
                TicketPause.objects.filter(organization=organization, ticket=OuterRef("pk"))
            )
        )
        .get(organization=organization, **lookup)
    )


def ticket_pause_list(*, organization: Organization) -> QuerySet[TicketPause]:
    """The organization's SLA pauses, oldest first (as a ticket lists them)."""
    return TicketPause.objects.filter(organization=organization).order_by("started_at", "pk")


def ticket_rule(*, ticket: Ticket, on: datetime.date | None = None) -> AppliedRule:
    """THE scope rule that applies to a ticket's work on ``on`` (default:
    today in the organization's timezone). Everyone starting from a ticket
    calls this."""
    if on is None:
        on = timezone.localdate(timezone=ticket.organization.tzinfo)
    return applicable_rule(
        client=ticket.client, request_type=ticket.request_type, on=on, contract=ticket.contract
    )


def time_entry_list(
    *,
    organization: Organization,
    ticket=None,
    person=None,
    billing_status: str | None = None,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
) -> QuerySet[TimeEntry]:
    queryset = TimeEntry.objects.filter(organization=organization).select_related(
        "person__user", "ticket"
    )
    if ticket:
        queryset = queryset.filter(ticket_id=_id(ticket))
    if person:
        queryset = queryset.filter(person_id=_id(person))
    if billing_status:
        queryset = queryset.filter(billing_status=billing_status)
    if date_from:
        queryset = queryset.filter(work_date__gte=date_from)
    if date_to:
        queryset = queryset.filter(work_date__lte=date_to)
    return queryset.order_by("-work_date", "-entered_at", "-pk")


def time_entry_detail(*, organization: Organization, pk: int) -> TimeEntry:
    return time_entry_list(organization=organization).get(pk=pk)


def billing_moment_list(
    *, organization: Organization, ticket=None, status: str | None = None
) -> QuerySet[BillingMoment]:
    queryset = BillingMoment.objects.filter(organization=organization).select_related(
        "ticket", "raised_by__user"
    )
    if ticket:
        queryset = queryset.filter(ticket_id=_id(ticket))
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("-created_at", "-pk")


# --- choices for the ticket forms --------------------------------------------
def ticket_client_choices(*, organization: Organization) -> QuerySet[Client]:
    """Clients a ticket can be opened for (not ended)."""
    return (
        Client.objects.filter(organization=organization)
        .exclude(status=Client.Status.ENDED)
        .order_by("name")
    )


def ticket_request_type_choices(
    *, organization: Organization, include_inactive: bool = False
) -> QuerySet[RequestType]:
    queryset = RequestType.objects.filter(organization=organization)
    if not include_inactive:
        queryset = queryset.filter(is_active=True)
    return queryset.order_by("name")


def ticket_assignee_choices(
    *, organization: Organization, keep: int | None = None
) -> QuerySet[Membership]:
    """Who a ticket can be given to: active members who work tickets — and
    ``keep`` (the current assignee), so a ticket still held by someone since
    deactivated can be saved while it waits for its handoff."""
    return (
        Membership.objects.filter(organization=organization)
        .filter(Q(deactivated_at__isnull=True) | Q(pk=keep))
        .exclude(role=Role.FINANCE)
        .select_related("user")
        .order_by("user__username")
    )


# --- home page ------------------------------------------------------------------
def month_bounds(*, organization: Organization) -> tuple[datetime.date, datetime.date]:
    today = timezone.localdate(timezone=organization.tzinfo)
    first = today.replace(day=1)
    next_first = (first + datetime.timedelta(days=32)).replace(day=1)
    return first, next_first - datetime.timedelta(days=1)


def home_counts(*, membership: Membership) -> dict[str, int]:
    """What needs this person now, by role, in at most two aggregate queries.

    - everyone but finance: ``open_tickets``, ``unassigned_tickets``;
    - developer: ``my_open_tickets``, ``open_moments_mine`` (on my tickets);
    - account manager: ``my_clients_open_tickets``, ``open_moments_my_clients``;
    - admin: ``open_moments``;
    - finance: ``open_moments``, ``unsettled_entries_this_month`` (time
      entries this month without a decision, or unclear)."""
    organization = membership.organization
    role = membership.role
    counts: dict[str, int] = {}

    if role != Role.FINANCE:
        aggregates = {
            "open_tickets": Count("pk"),
            "unassigned_tickets": Count("pk", filter=Q(assignee__isnull=True)),
        }
        if role == Role.DEVELOPER:
            aggregates["my_open_tickets"] = Count("pk", filter=Q(assignee=membership))
        if role == Role.ACCOUNT_MANAGER:
            aggregates["my_clients_open_tickets"] = Count(
                "pk", filter=Q(client__account_manager=membership)
            )
        # Only open tickets are read (the status index), not every ticket ever.
        open_tickets = Ticket.objects.filter(
            organization=organization, status__in=Ticket.OPEN_STATUSES
        )
        counts.update(open_tickets.aggregate(**aggregates))

    moment_open = Q(status=BillingMoment.Status.OPEN)
    if role == Role.DEVELOPER:
        moments = {
            "open_moments_mine": Count("pk", filter=moment_open & Q(ticket__assignee=membership))
        }
    elif role == Role.ACCOUNT_MANAGER:
        moments = {
            "open_moments_my_clients": Count(
                "pk", filter=moment_open & Q(ticket__client__account_manager=membership)
            )
        }
    else:
        moments = {"open_moments": Count("pk", filter=moment_open)}
    counts.update(BillingMoment.objects.filter(organization=organization).aggregate(**moments))

    if role == Role.FINANCE:
        first, last = month_bounds(organization=organization)
        counts.update(
            TimeEntry.objects.filter(
                organization=organization,
                work_date__range=(first, last),
                billing_status__in=(
                    TimeEntry.BillingStatus.UNDECIDED,
                    TimeEntry.BillingStatus.UNCLEAR,
                ),
            ).aggregate(unsettled_entries_this_month=Count("pk"))
        )
    return counts
