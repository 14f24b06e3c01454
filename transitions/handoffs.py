"""Handoffs: giving everything one person owns — for one client, several, or
all of them — to named colleagues, with nothing left without an owner.

The flow, on every interface:

1. :func:`handoff_start` (account managers and admins) lists every open item
   the person owns (transitions/ownership.py) as a checklist line.
2. :func:`handoff_assign` / :func:`handoff_assign_all` name each line's new
   owner; the role rules of the item's own service are checked at once.
3. :func:`handoff_acknowledge`: each receiver takes the lines given to them.
4. :func:`handoff_complete` refuses — writing nothing — while the person
   picked up work since the list was made (:func:`handoff_relist` adds it),
   or while any line has no new owner, is not acknowledged, or names someone
   who may no longer own it (left, or changed role). Then it sets aside the
   lines closed or given to someone else meanwhile and reassigns every other
   line through the same service any other change uses — ticket, client,
   task, risk, scope check, flag or review item — in one transaction: one
   refusal and nothing moved.

The handoff document (:func:`handoff_document`, a page and Markdown) holds,
per client, its brief, the open items with their new owners and its recent
decisions.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from billing.models import ExceptionFlag, ReviewItem, ScopeCheck
from billing.services.ownership import flag_reassign, scope_check_reassign
from billing.services.review import review_item_reassign
from clients.models import Client
from clients.services import client_update
from msops.display import member_name
from msops.errors import REFUSED
from msops.tenancy.models import Membership, Organization
from msops.tenancy.roles import MANAGERS
from tickets.models import Ticket
from tickets.services import ticket_update

from .briefs import ClientBriefPage, client_brief_page
from .models import Handoff, HandoffClient, HandoffItem, ItemKind, RecurringTask, Risk
from .ownership import KINDS, OpenItem, owned_items, owner_allowed
from .services import recurring_task_update, risk_update

NOTE_MAX = 5_000


class HandoffIncomplete(ValidationError):
    """Completing was refused: something has no owner or is not acknowledged."""


# --- checks -------------------------------------------------------------------------
def _require_manager(by, organization_id: int) -> None:
    if not isinstance(by, Membership) or by.organization_id != organization_id:
        raise ValidationError({"by": "Only a member of this organization can do this."})
    if by.role not in MANAGERS:
        raise ValidationError({"by": "Handoffs are run by account managers and admins."})


def _lock_open(handoff: Handoff) -> Handoff:
    current = Handoff.objects.select_for_update().get(
        organization=handoff.organization_id, pk=handoff.pk
    )
    if current.status != Handoff.Status.OPEN:
        raise ValidationError(
            f"This handoff is already {current.get_status_display().lower()}.", code=REFUSED
        )
    return current


def _client_ids(handoff: Handoff) -> list[int] | None:
    if handoff.all_clients:
        return None
    return list(
        HandoffClient.objects.filter(
            organization=handoff.organization_id, handoff=handoff
        ).values_list("client_id", flat=True)
    )


# --- listing ------------------------------------------------------------------------
def _line(handoff: Handoff, item: OpenItem) -> HandoffItem:
    return HandoffItem(
        organization_id=handoff.organization_id,
        handoff=handoff,
        kind=item.kind,
        object_id=item.pk,
        client_id=item.client_id,
        label=item.label[:300],
    )


@dataclass(frozen=True)
class _Listing:
    """How the checklist differs from what the person owns now."""

    new: list[OpenItem]  # theirs, not on the checklist yet
    gone: list[int]  # pending lines no longer theirs: closed, or someone else's
    back: list[tuple[str, int]]  # settled lines that are theirs again


def _still_unowned(handoff: Handoff, lines: list[tuple[int, str, int]]) -> set[int]:
    """Of the pending lines the person no longer owns, those whose item is
    still open with nobody able to act on it (an assignee cleared, say): they
    stay on the checklist, to be given their new owner."""
    keep: set[int] = set()
    by_kind: dict[str, dict[int, int]] = {}
    for pk, kind, object_id in lines:
        by_kind.setdefault(kind, {})[object_id] = pk
    for kind, objects in by_kind.items():
        spec = KINDS[kind]
        unowned = spec.open_items(handoff.organization).filter(
            Q(**{f"{spec.owner_field}__isnull": True}) | spec.orphan_q, pk__in=list(objects)
        )
        keep |= {objects[pk] for pk in unowned.values_list("pk", flat=True)}
    return keep


def _listing(handoff: Handoff) -> _Listing:
    items = owned_items(
        organization=handoff.organization,
        person=handoff.person,
        client_ids=_client_ids(handoff),
    )
    owned = {(item.kind, item.pk): item for item in items}
    lines = HandoffItem.objects.filter(organization=handoff.organization_id, handoff=handoff)
    known = set(lines.values_list("kind", "object_id"))
    missing = [
        row
        for row in lines.filter(status=HandoffItem.Status.PENDING).values_list(
            "pk", "kind", "object_id"
        )
        if (row[1], row[2]) not in owned
    ]
    keep = _still_unowned(handoff, missing) if missing else set()
    settled = set(lines.filter(status=HandoffItem.Status.SETTLED).values_list("kind", "object_id"))
    return _Listing(
        new=[item for key, item in owned.items() if key not in known],
        gone=[pk for pk, _, _ in missing if pk not in keep],
        back=[key for key in owned if key in settled],
    )


def _relist(handoff: Handoff) -> int:
    """Bring the checklist up to date with what the person owns now: add the
    items they picked up since, set aside the pending lines that were closed
    or given to someone else meanwhile, and put back the lines that are
    theirs again (to be acknowledged again). Returns the number of lines added."""
    listing = _listing(handoff)
    lines = HandoffItem.objects.filter(organization=handoff.organization_id, handoff=handoff)
    if listing.gone:
        lines.filter(pk__in=listing.gone).update(status=HandoffItem.Status.SETTLED)
    if listing.back:
        lines.filter(_keys_q(listing.back)).update(
            status=HandoffItem.Status.PENDING, acknowledged_at=None
        )
    HandoffItem.objects.bulk_create(_line(handoff, item) for item in listing.new)
    return len(listing.new)


def _keys_q(keys: Iterable[tuple[str, int]]) -> Q:
    q = Q(pk__in=[])
    for kind, object_id in keys:
        q |= Q(kind=kind, object_id=object_id)
    return q


def handoff_start(
    *,
    organization: Organization,
    person: Membership,
    by: Membership,
    clients: Iterable[Client] = (),
    all_clients: bool = False,
    note: str = "",
) -> Handoff:
    """Start handing over what ``person`` owns, for ``clients`` or all of
    them, and list it. One handoff per person is in progress at a time."""
    _require_manager(by, organization.pk)
    clients = list(clients)
    errors: dict[str, list[str]] = {}
    if not isinstance(person, Membership) or person.organization_id != organization.pk:
        errors.setdefault("person", []).append("Choose a member of this organization.")
    if any(getattr(c, "organization_id", None) != organization.pk for c in clients):
        errors.setdefault("clients", []).append("Choose clients of this organization.")
    if all_clients and clients:
        errors.setdefault("clients", []).append("Choose some clients or all of them, not both.")
    if not all_clients and not clients:
        errors.setdefault("clients", []).append("Choose the clients to hand over, or all of them.")
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        errors.setdefault("note", []).append(f"Keep the note within {NOTE_MAX} characters.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        try:
            with transaction.atomic():
                handoff = Handoff.objects.create(
                    organization=organization,
                    person=person,
                    all_clients=all_clients,
                    note=note,
                    started_by=by,
                )
        except IntegrityError:
            raise ValidationError(
                {
                    "person": f"{member_name(person)} already has a handoff in progress: "
                    "finish it first."
                }
            ) from None
        HandoffClient.objects.bulk_create(
            HandoffClient(organization=organization, handoff=handoff, client=client)
            for client in {c.pk: c for c in clients}.values()
        )
        _relist(handoff)
    return handoff


@transaction.atomic
def handoff_relist(*, handoff: Handoff, by: Membership) -> int:
    """List again (see :func:`_relist`); returns the number of lines added."""
    _require_manager(by, handoff.organization_id)
    return _relist(_lock_open(handoff))


# --- assigning and acknowledging ----------------------------------------------------
def _check_person(handoff: Handoff, owner) -> None:
    if not isinstance(owner, Membership) or owner.organization_id != handoff.organization_id:
        raise ValidationError({"new_owner": "Choose a member of this organization."})
    if owner.pk == handoff.person_id:
        raise ValidationError({"new_owner": "Choose someone other than the person handing over."})
    if not owner.user.is_active:
        raise ValidationError(
            {"new_owner": "This person's account is deactivated: choose someone who is still here."}
        )


def _check_receiver(handoff: Handoff, kind: str, owner) -> None:
    _check_person(handoff, owner)
    problem = owner_allowed(KINDS[kind], owner)
    if problem:
        raise ValidationError({"new_owner": problem})


@transaction.atomic
def handoff_assign(*, item: HandoffItem, new_owner: Membership, by: Membership) -> HandoffItem:
    """Name the new owner of one line. Giving it to someone else undoes the
    earlier receiver's acknowledgement."""
    _require_manager(by, item.organization_id)
    handoff = _lock_open(item.handoff)
    current = HandoffItem.objects.select_for_update().get(
        organization=item.organization_id, handoff=handoff, pk=item.pk
    )
    if current.status != HandoffItem.Status.PENDING:
        raise ValidationError(
            "This line is no longer to hand over: it was settled or handed over already.",
            code=REFUSED,
        )
    _check_receiver(handoff, current.kind, new_owner)
    if current.new_owner_id != new_owner.pk:
        current.acknowledged_at = None
    current.new_owner = new_owner
    current.assigned_by = by
    current.assigned_at = timezone.now()
    current.save(update_fields=["new_owner", "assigned_by", "assigned_at", "acknowledged_at"])
    return current


@dataclass(frozen=True)
class AssignAllResult:
    assigned: int
    skipped: list[str]  # why lines could not go to that person


@transaction.atomic
def handoff_assign_all(
    *, handoff: Handoff, new_owner: Membership, by: Membership
) -> AssignAllResult:
    """Give every pending line that has no new owner yet to ``new_owner``,
    where their role may own it; the rest are reported, not changed."""
    _require_manager(by, handoff.organization_id)
    handoff = _lock_open(handoff)
    lines = HandoffItem.objects.filter(
        organization=handoff.organization_id,
        handoff=handoff,
        status=HandoffItem.Status.PENDING,
        new_owner__isnull=True,
    )
    _check_person(handoff, new_owner)
    allowed, skipped = [], []
    for line in lines:
        problem = owner_allowed(KINDS[line.kind], new_owner)
        if problem:
            skipped.append(f"{line.label}: {problem}")
        else:
            allowed.append(line.pk)
    now = timezone.now()
    HandoffItem.objects.filter(organization=handoff.organization_id, pk__in=allowed).update(
        new_owner=new_owner, assigned_by=by, assigned_at=now, acknowledged_at=None
    )
    return AssignAllResult(assigned=len(allowed), skipped=skipped)


@transaction.atomic
def handoff_acknowledge(*, handoff: Handoff, by: Membership) -> int:
    """The receiver takes every line given to them; returns how many."""
    if not isinstance(by, Membership) or by.organization_id != handoff.organization_id:
        raise ValidationError({"by": "Only a member of this organization can do this."})
    handoff = _lock_open(handoff)
    taken = HandoffItem.objects.filter(
        organization=handoff.organization_id,
        handoff=handoff,
        status=HandoffItem.Status.PENDING,
        new_owner=by,
        acknowledged_at__isnull=True,
    ).update(acknowledged_at=timezone.now())
    if not taken:
        raise ValidationError(
            "Nothing in this handoff is waiting for you to take it.", code=REFUSED
        )
    return taken


# --- completing -----------------------------------------------------------------------
def _reassign(line: HandoffItem, owner: Membership, by: Membership) -> None:
    """Give the item to ``owner`` through its own service."""
    org = line.organization_id
    kind, pk = line.kind, line.object_id
    if kind == ItemKind.CLIENT:
        client_update(
            client=Client.objects.get(organization=org, pk=pk), data={"account_manager": owner}
        )
    elif kind == ItemKind.TICKET:
        # Locked first, so the version read is the one the update checks.
        ticket = Ticket.objects.select_for_update().get(organization=org, pk=pk)
        ticket_update(ticket=ticket, actor=by, version=ticket.version, assignee=owner)
    elif kind == ItemKind.RECURRING_TASK:
        recurring_task_update(
            recurring_task=RecurringTask.objects.get(organization=org, pk=pk),
            data={"owner": owner},
        )
    elif kind == ItemKind.SCOPE_CHECK:
        scope_check_reassign(check=ScopeCheck.objects.get(organization=org, pk=pk), owner=owner)
    elif kind == ItemKind.RISK:
        risk_update(risk=Risk.objects.get(organization=org, pk=pk), data={"owner": owner})
    elif kind == ItemKind.FLAG:
        flag_reassign(flag=ExceptionFlag.objects.get(organization=org, pk=pk), owner=owner)
    elif kind == ItemKind.REVIEW_ITEM:
        review_item_reassign(
            item=ReviewItem.objects.get(organization=org, pk=pk), actor=by, owner=owner
        )
    else:  # pragma: no cover - every ItemKind is handled above
        raise ValueError(kind)


def handoff_complete(*, handoff: Handoff, by: Membership) -> Handoff:
    """Complete the handoff: refused (nothing written) while the person
    picked up work since the list was made (list again), while any line has
    no new owner, is not acknowledged or names someone who may no longer
    own it. Then every line goes to its new owner through the item's own
    service, in one transaction."""
    _require_manager(by, handoff.organization_id)
    with transaction.atomic():
        handoff = _lock_open(handoff)
        listing = _listing(handoff)
        problems = []
        if listing.new:
            count = len(listing.new)
            problems.append(
                f"{count} new item{'s' if count != 1 else ''} appeared since the list was"
                " made: list again and give them new owners."
            )
        if listing.back:
            problems.append("Items set aside earlier are theirs again: list again.")
        return _complete(handoff, by=by, gone=listing.gone, problems=problems)


def _complete(handoff: Handoff, *, by: Membership, gone: list[int], problems: list[str]):
    pending = list(
        HandoffItem.objects.filter(
            organization=handoff.organization_id,
            handoff=handoff,
            status=HandoffItem.Status.PENDING,
        )
        .exclude(pk__in=gone)
        .select_related("new_owner__user")
    )
    unowned = [line for line in pending if line.new_owner_id is None]
    waiting = sorted(
        {
            member_name(line.new_owner)
            for line in pending
            if line.new_owner_id is not None and line.acknowledged_at is None
        }
    )
    if unowned:
        problems.append(
            f"{len(unowned)} item{'s have' if len(unowned) != 1 else ' has'} no new owner yet."
        )
    if waiting:
        problems.append(f"Waiting for {', '.join(waiting)} to acknowledge.")
    for line in pending:
        if line.new_owner_id is None:
            continue
        try:  # the receiver may have left, or changed role, since
            _check_receiver(handoff, line.kind, line.new_owner)
        except ValidationError as error:
            problems.append(f"{line.label}: {' '.join(error.messages)}")
    if problems:
        raise HandoffIncomplete(" ".join(problems), code=REFUSED)
    now = timezone.now()
    for line in pending:
        try:
            _reassign(line, line.new_owner, by)
        except ValidationError as error:
            message = f"{line.label}: {' '.join(error.messages)}"
            raise ValidationError({"items": ValidationError(message, code=REFUSED)}) from None
    lines = HandoffItem.objects.filter(organization=handoff.organization_id)
    lines.filter(pk__in=gone).update(status=HandoffItem.Status.SETTLED)
    lines.filter(pk__in=[line.pk for line in pending]).update(
        status=HandoffItem.Status.TRANSFERRED, transferred_at=now
    )
    left = owned_items(
        organization=handoff.organization, person=handoff.person, client_ids=_client_ids(handoff)
    )
    if left:  # pragma: no cover - the services moved every line above
        raise ValidationError(
            {"items": [ValidationError(f"Still owned: {i.label}", code=REFUSED) for i in left]}
        )
    handoff.status = Handoff.Status.COMPLETED
    handoff.completed_by = by
    handoff.completed_at = now
    handoff.save(update_fields=["status", "completed_by", "completed_at"])
    return handoff


@transaction.atomic
def handoff_cancel(*, handoff: Handoff, by: Membership) -> Handoff:
    """Stop a handoff in progress; nothing was moved, nothing moves."""
    _require_manager(by, handoff.organization_id)
    handoff = _lock_open(handoff)
    handoff.status = Handoff.Status.CANCELLED
    handoff.save(update_fields=["status"])
    return handoff


# --- reads --------------------------------------------------------------------------
def handoff_list(
    *, organization: Organization, viewer: Membership | None = None
) -> QuerySet[Handoff]:
    """Handoffs, newest first, with their line counts. A viewer who does not
    run handoffs sees those they hand over or receive lines of."""
    queryset = (
        Handoff.objects.filter(organization=organization)
        .select_related("person__user", "started_by__user", "completed_by__user")
        .annotate(
            item_count=Count("items", filter=~Q(items__status=HandoffItem.Status.SETTLED)),
            unowned_count=Count(
                "items",
                filter=Q(items__status=HandoffItem.Status.PENDING, items__new_owner__isnull=True),
            ),
            unacknowledged_count=Count(
                "items",
                filter=Q(
                    items__status=HandoffItem.Status.PENDING,
                    items__new_owner__isnull=False,
                    items__acknowledged_at__isnull=True,
                ),
            ),
        )
        .order_by("-started_at", "-pk")
    )
    if viewer is not None and viewer.role not in MANAGERS:
        receives = HandoffItem.objects.filter(organization=organization, new_owner=viewer)
        queryset = queryset.filter(Q(person=viewer) | Q(pk__in=receives.values("handoff_id")))
    return queryset


def handoff_item_list(
    *, organization: Organization, viewer: Membership | None = None
) -> QuerySet[HandoffItem]:
    """Lines of handoffs. A viewer who does not run handoffs sees the lines
    given to them, and every line of a handoff of their own items."""
    queryset = (
        HandoffItem.objects.filter(organization=organization)
        .select_related("client", "new_owner__user", "assigned_by__user")
        .order_by("handoff", "client__name", "pk")
    )
    if viewer is not None and viewer.role not in MANAGERS:
        queryset = queryset.filter(Q(new_owner=viewer) | Q(handoff__person=viewer))
    return queryset


def handoff_clients(*, handoff: Handoff) -> list[Client]:
    return [
        link.client
        for link in HandoffClient.objects.filter(
            organization=handoff.organization_id, handoff=handoff
        ).select_related("client")
    ]


@dataclass
class ClientLines:
    client: Client | None
    lines: list[HandoffItem] = field(default_factory=list)


def handoff_lines_by_client(
    *, handoff: Handoff, viewer: Membership | None = None
) -> list[ClientLines]:
    """The handoff's lines (those ``viewer`` may see) grouped by client,
    lines of no client last."""
    groups: dict[int | None, ClientLines] = {}
    lines = handoff_item_list(organization=handoff.organization, viewer=viewer)
    for line in lines.filter(handoff=handoff):
        group = groups.setdefault(line.client_id, ClientLines(line.client))
        group.lines.append(line)
    return sorted(
        groups.values(),
        key=lambda g: (g.client is None, g.client.name.casefold() if g.client else ""),
    )


@dataclass(frozen=True)
class DocumentClient:
    client: Client
    brief: ClientBriefPage
    lines: list[HandoffItem]

    @property
    def id_suffix(self) -> str:
        """Keeps the ids of the brief's sections unique in the document."""
        return f"-{self.client.pk}"


@dataclass(frozen=True)
class HandoffDocument:
    handoff: Handoff
    clients: list[DocumentClient]
    other_lines: list[HandoffItem]  # items of no client
    generated_at: datetime.datetime


def handoff_document(*, handoff: Handoff, viewer: Membership | None = None) -> HandoffDocument:
    """What the receivers need, per client: its brief (summary, recurring
    work, rules, risks, open items, recent decisions) and the handed-over
    lines with their new owners. A receiver who does not run handoffs reads
    the clients of the lines given to them."""
    groups = handoff_lines_by_client(handoff=handoff, viewer=viewer)
    whole = viewer is None or viewer.role in MANAGERS or viewer.pk == handoff.person_id
    clients = [
        DocumentClient(
            client=group.client,
            brief=client_brief_page(client=group.client),
            lines=[line for line in group.lines if line.status != HandoffItem.Status.SETTLED],
        )
        for group in groups
        if group.client is not None
    ]
    named = {c.client.pk for c in clients}
    for client in handoff_clients(handoff=handoff) if whole else []:
        if client.pk not in named:  # a covered client the person owned nothing of
            clients.append(
                DocumentClient(client=client, brief=client_brief_page(client=client), lines=[])
            )
    clients.sort(key=lambda c: c.client.name.casefold())
    other = [
        line
        for group in groups
        if group.client is None
        for line in group.lines
        if line.status != HandoffItem.Status.SETTLED
    ]
    return HandoffDocument(
        handoff=handoff, clients=clients, other_lines=other, generated_at=timezone.now()
    )


def handoff_markdown(*, document: HandoffDocument) -> str:
    """The document as Markdown (the download)."""
    with timezone.override(document.handoff.organization.tzinfo):
        return render_to_string("transitions/handoff_document.md", {"doc": document})
