"""Who owns what is still open: the one definition the handoffs, the
transition health of a client and the weekly review's orphaned items read.

Seven kinds of open item have a named owner:

- a client account (its account manager), while the client is not ended;
- a ticket (its assignee), while open;
- a recurring task (its owner), while active;
- a scope check (the account manager who answers it), while open;
- a risk (its owner), until closed;
- an exception flag (its owner), while open;
- a review item (its owner), while open in the latest weekly queue.

An item is **orphaned** when nobody can act on it: its owner is a member
whose account was deactivated, or it has no owner and nothing stands in —
a scope check or a flag without an owner falls to the client's account
manager, so it is orphaned only when that one is missing or deactivated too.
A ticket nobody took yet is triage, not orphaned: an open ticket without an
assignee is orphaned once work on it started (in progress or waiting).

Every kind is a queryset filter, so the same definition gives Python lists
(:func:`owned_items`, :func:`orphaned_items`), counts per client
(:func:`orphaned_counts_by_client`) and SQL for set-based builders
(:func:`orphaned_querysets`).
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db.models import Count, Max, Model, Q, QuerySet

from billing.models import ExceptionFlag, ReviewItem, ReviewQueue, ScopeCheck
from billing.selectors.review import REVIEWERS
from clients.models import Client
from msops.tenancy.models import Membership, Organization
from msops.tenancy.roles import MANAGERS
from tickets.models import Ticket
from tickets.services import TICKET_WRITERS

from .models import ItemKind, RecurringTask, Risk

# Review items about ownership itself are handed over like any other, but a
# review item that says "this is orphaned" is not itself counted as orphaned.
TRANSITION_REVIEW_KINDS = ("stale_brief", "orphaned_item")


def _inactive(path: str) -> Q:
    return Q(**{f"{path}__user__is_active": False})


def _missing(path: str) -> Q:
    return Q(**{f"{path}__isnull": True})


@dataclass(frozen=True)
class OwnedKind:
    """How one kind of item names its owner and when it is still open."""

    kind: str
    model: type[Model]
    owner_field: str
    open_q: Q
    client_path: str  # from the item to its client's id
    owner_roles: frozenset[str]  # who may be named its owner
    owner_rule: str  # the words of the refusal when someone else is named
    orphan_q: Q

    @property
    def label(self) -> str:
        return ItemKind(self.kind).label

    def open_items(self, organization: Organization) -> QuerySet:
        qs = self.model.objects.filter(self.open_q, organization=organization)
        if self.kind == ItemKind.REVIEW_ITEM:
            latest = ReviewQueue.objects.filter(organization=organization).aggregate(
                week=Max("week_start")
            )["week"]
            qs = qs.filter(queue__week_start=latest)
        return qs


def _ticket_orphan() -> Q:
    started = (Ticket.Status.IN_PROGRESS, Ticket.Status.WAITING)
    return (_missing("assignee") & Q(status__in=started)) | _inactive("assignee")


def _falls_to_account_manager(owner: str, client: str) -> Q:
    """Orphaned when the owner is deactivated, or there is none and the
    client's account manager (who stands in) is missing or deactivated."""
    manager = f"{client}__account_manager"
    return _inactive(owner) | (_missing(owner) & (_missing(manager) | _inactive(manager)))


KINDS: dict[str, OwnedKind] = {
    spec.kind: spec
    for spec in (
        OwnedKind(
            ItemKind.CLIENT,
            Client,
            "account_manager",
            ~Q(status=Client.Status.ENDED),
            "pk",
            MANAGERS,
            "The account manager must be an account manager or admin.",
            _missing("account_manager") | _inactive("account_manager"),
        ),
        OwnedKind(
            ItemKind.TICKET,
            Ticket,
            "assignee",
            Q(status__in=Ticket.OPEN_STATUSES),
            "client_id",
            TICKET_WRITERS,
            "Give the ticket to someone who works tickets (not finance).",
            _ticket_orphan(),
        ),
        OwnedKind(
            ItemKind.RECURRING_TASK,
            RecurringTask,
            "owner",
            Q(active=True),
            "client_id",
            TICKET_WRITERS,
            "Its tickets are assigned to the owner: choose someone who works tickets.",
            _inactive("owner"),
        ),
        OwnedKind(
            ItemKind.SCOPE_CHECK,
            ScopeCheck,
            "account_manager",
            Q(status__in=ScopeCheck.OPEN_STATUSES),
            "ticket__client_id",
            MANAGERS,
            "A scope check is answered by an account manager or admin.",
            _falls_to_account_manager("account_manager", "ticket__client"),
        ),
        OwnedKind(
            ItemKind.RISK,
            Risk,
            "owner",
            ~Q(status=Risk.Status.CLOSED),
            "client_id",
            frozenset(),  # anyone in the organization
            "",
            _inactive("owner"),
        ),
        OwnedKind(
            ItemKind.FLAG,
            ExceptionFlag,
            "owner",
            Q(status=ExceptionFlag.Status.OPEN),
            "client_id",
            REVIEWERS,
            "Flags are worked by account managers, admins and finance.",
            _falls_to_account_manager("owner", "client"),
        ),
        OwnedKind(
            ItemKind.REVIEW_ITEM,
            ReviewItem,
            "owner",
            Q(status=ReviewItem.Status.OPEN),
            "client_id",
            REVIEWERS,
            "Choose someone who works the review: an account manager, admin or finance.",
            (_missing("owner") | _inactive("owner")) & ~Q(kind__in=TRANSITION_REVIEW_KINDS),
        ),
    )
}


@dataclass(frozen=True)
class OpenItem:
    """One open item, as a line a person reads: what it is, for which client."""

    kind: str
    pk: int
    client_id: int | None
    client_name: str
    label: str
    owner_id: int | None

    @property
    def kind_label(self) -> str:
        return ItemKind(self.kind).label


def _client_names(organization: Organization, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(
        Client.objects.filter(organization=organization, pk__in=wanted).values_list("pk", "name")
    )


def _labels(spec: OwnedKind, qs: QuerySet) -> Iterator[tuple[int, int | None, int | None, str]]:
    """(pk, client id, owner id, label) of each item, in one query per kind."""
    owner = f"{spec.owner_field}_id"
    if spec.kind == ItemKind.CLIENT:
        for pk, owner_id, name in qs.values_list("pk", owner, "name"):
            yield pk, pk, owner_id, name
    elif spec.kind == ItemKind.TICKET:
        for pk, client, owner_id, number, title in qs.values_list(
            "pk", "client_id", owner, "number", "title"
        ):
            yield pk, client, owner_id, f"#{number} {title}"
    elif spec.kind == ItemKind.RECURRING_TASK:
        for pk, client, owner_id, title, cadence, due in qs.values_list(
            "pk", "client_id", owner, "title", "cadence", "next_due"
        ):
            cadence = RecurringTask.Cadence(cadence).label.lower()
            yield pk, client, owner_id, f"{title} ({cadence}, next due {due:%Y-%m-%d})"
    elif spec.kind == ItemKind.SCOPE_CHECK:
        for pk, client, owner_id, number, minutes in qs.values_list(
            "pk", "ticket__client_id", owner, "ticket__number", "estimate_minutes"
        ):
            yield pk, client, owner_id, f"Scope check on #{number} ({minutes} min estimated)"
    elif spec.kind == ItemKind.RISK:
        for pk, client, owner_id, description, severity in qs.values_list(
            "pk", "client_id", owner, "description", "severity"
        ):
            severity = Risk.Severity(severity).label.lower()
            yield pk, client, owner_id, f"{description[:150]} ({severity})"
    elif spec.kind == ItemKind.FLAG:
        for pk, client, owner_id, kind, detail in qs.values_list(
            "pk", "client_id", owner, "kind", "detail"
        ):
            text = ExceptionFlag.Kind(kind).label
            yield pk, client, owner_id, f"{text}: {detail}" if detail else text
    else:
        for pk, client, owner_id, kind, reason in qs.values_list(
            "pk", "client_id", owner, "kind", "reason"
        ):
            yield pk, client, owner_id, f"{ReviewItem.Kind(kind).label}: {reason}"


def _items(organization: Organization, querysets: Iterable[tuple[OwnedKind, QuerySet]]):
    rows = [(spec.kind, *row) for spec, qs in querysets for row in _labels(spec, qs.order_by("pk"))]
    names = _client_names(organization, (row[2] for row in rows))
    items = [
        OpenItem(kind, pk, client, names.get(client, ""), label, owner)
        for kind, pk, client, owner, label in rows
    ]
    order = list(KINDS)
    return sorted(items, key=lambda i: (i.client_name.lower(), order.index(i.kind), i.pk))


def _client_filter(spec: OwnedKind, client_ids: Iterable[int] | None) -> Q:
    if client_ids is None:
        return Q()
    return Q(**{f"{spec.client_path.removesuffix('_id')}__in": list(client_ids)})


def owned_querysets(
    *, organization: Organization, person: Membership, client_ids: Iterable[int] | None = None
) -> list[tuple[OwnedKind, QuerySet]]:
    """Per kind, the open items ``person`` is the named owner of (for the
    given clients, or all of them)."""
    client_ids = None if client_ids is None else list(client_ids)
    return [
        (
            spec,
            spec.open_items(organization).filter(
                _client_filter(spec, client_ids), **{spec.owner_field: person}
            ),
        )
        for spec in KINDS.values()
    ]


def owned_items(
    *, organization: Organization, person: Membership, client_ids: Iterable[int] | None = None
) -> list[OpenItem]:
    """Every open item ``person`` owns, sorted by client then kind: one
    query per kind and one for the clients' names."""
    return _items(
        organization,
        owned_querysets(organization=organization, person=person, client_ids=client_ids),
    )


def orphaned_querysets(*, organization: Organization) -> list[tuple[OwnedKind, QuerySet]]:
    """Per kind, the open items nobody can act on."""
    return [(spec, spec.open_items(organization).filter(spec.orphan_q)) for spec in KINDS.values()]


def orphaned_items(
    *, organization: Organization, client_ids: Iterable[int] | None = None
) -> list[OpenItem]:
    client_ids = None if client_ids is None else list(client_ids)
    return _items(
        organization,
        [
            (spec, qs.filter(_client_filter(spec, client_ids)))
            for spec, qs in orphaned_querysets(organization=organization)
        ],
    )


def orphaned_counts_by_client(*, organization: Organization) -> dict[int | None, int]:
    """How many orphaned items each client has (``None``: items of no client)."""
    counts: dict[int | None, int] = {}
    for spec, qs in orphaned_querysets(organization=organization):
        path = spec.client_path
        for row in qs.order_by().values(path).annotate(n=Count("pk")):
            counts[row[path]] = counts.get(row[path], 0) + row["n"]
    return counts


def owner_allowed(spec: OwnedKind, owner: Membership) -> str | None:
    """Why ``owner`` may not be named owner of this kind, or None."""
    if spec.owner_roles and owner.role not in spec.owner_roles:
        return spec.owner_rule
    if not owner.user.is_active:
        return "This person's account is deactivated: choose someone who is still here."
    return None


def owned_without_client_count(*, organization: Organization, person: Membership) -> int:
    """How many open items ``person`` owns that belong to no client (flags
    and review items about the practice as a whole): a handoff of chosen
    clients leaves them with the person."""
    return sum(
        qs.filter(**{f"{spec.client_path.removesuffix('_id')}__isnull": True}).count()
        for spec, qs in owned_querysets(organization=organization, person=person)
        if spec.kind in (ItemKind.FLAG, ItemKind.REVIEW_ITEM)
    )
