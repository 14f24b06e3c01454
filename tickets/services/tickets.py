"""Opening, changing and deleting tickets."""

import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max, ProtectedError
from django.utils import timezone

from clients.models import Client, Priority, RequestType
from clients.rules import contract_in_force
from msops.errors import IN_USE
from msops.limits import DESCRIPTION_MAX, RESOLUTION_NOTE_MAX, TITLE_MAX, check_length
from msops.tenancy.models import Membership, Organization

from ..models import BillingMoment, Ticket, TimeEntry
from ..selectors import ticket_rule
from ._common import belongs, check_assignee, check_choice
from .sla import (
    REOPEN_PAUSE_REASON,
    calendar_for_opening,
    clock_minutes,
    ticket_pause_end,
    ticket_pause_record,
    ticket_pause_start,
    ticket_pauses,
    ticket_sla_dues,
)

TICKET_UPDATABLE = frozenset(
    {
        "status",
        "priority",
        "assignee",
        "title",
        "description",
        "phase",
        "request_type",
        "resolution_note",
    }
)
DONE_STATUSES = (Ticket.Status.RESOLVED, Ticket.Status.CLOSED)


class TicketConflict(Exception):
    """The ticket changed since the caller read it (stale ``version``).
    ``current`` is the ticket as it is now; nothing was saved."""

    def __init__(self, current: Ticket):
        self.current = current
        super().__init__(
            f"Ticket #{current.number} was changed by someone else (now version {current.version})."
        )

    @property
    def ticket(self) -> Ticket:
        return self.current


def _check_description(errors: dict, description) -> None:
    if description is not None and not isinstance(description, str):
        errors["description"] = "Write the description in words."
        return
    check_length(errors, "description", description, limit=DESCRIPTION_MAX, what="Descriptions")


def validate_ticket_opening(
    *,
    organization: Organization,
    opened_by: Membership | None,
    client: Client | None,
    request_type: RequestType | None,
    title: str,
    priority: str,
    source: str,
    assignee: Membership | None,
    opened_at: datetime.datetime | None,
    description: str = "",
) -> None:
    """The rules of :func:`ticket_open`, for forms that want them before saving."""
    org_id = organization.pk
    errors: dict[str, str] = {}
    title = (title or "").strip()
    if not title:
        errors["title"] = "Give the ticket a short title."
    check_length(errors, "title", title, limit=TITLE_MAX, what="Titles")
    _check_description(errors, description)
    if not belongs(client, org_id):
        errors["client"] = "Choose a client of this organization."
    elif client.status == Client.Status.ENDED:
        errors["client"] = "This client has ended; tickets can no longer be opened for it."
    if not belongs(request_type, org_id):
        errors["request_type"] = "Choose a request type of this organization."
    elif not request_type.is_active:
        errors["request_type"] = "This request type is no longer in use."
    check_choice(errors, "priority", priority, Priority.values, "priority")
    check_choice(errors, "source", source, Ticket.Source.values, "source")
    check_assignee(errors, assignee, org_id)
    if opened_by is not None and not belongs(opened_by, org_id):
        errors["opened_by"] = "Only a member of this organization can open its tickets."
    if opened_at is not None and opened_at > timezone.now() + datetime.timedelta(minutes=5):
        errors["opened_at"] = "A ticket can't be opened in the future."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def ticket_open(
    *,
    organization: Organization,
    opened_by: Membership | None,
    client: Client,
    request_type: RequestType,
    title: str,
    description: str = "",
    priority: str = Priority.NORMAL,
    source: str = Ticket.Source.PORTAL,
    assignee: Membership | None = None,
    opened_at: datetime.datetime | None = None,
) -> Ticket:
    """Open a ticket: the next number of the organization, the client's
    contract in force on the opening date, SLA dues from that contract, and a
    “ticket opened” billing moment."""
    org_id = organization.pk
    now = timezone.now()
    opened_at = opened_at or now
    title = (title or "").strip()
    validate_ticket_opening(
        organization=organization,
        opened_by=opened_by,
        client=client,
        request_type=request_type,
        title=title,
        priority=priority,
        source=source,
        assignee=assignee,
        opened_at=opened_at,
        description=description,
    )

    # Serialize numbering per organization: lock its row, then max + 1.
    Organization.objects.select_for_update().only("pk").get(pk=org_id)
    last = Ticket.objects.filter(organization=org_id).aggregate(last=Max("number"))["last"]

    opened_on = timezone.localtime(opened_at, organization.tzinfo).date()
    contract = contract_in_force(client=client, on=opened_on)
    # The SLA clock: the contract's calendar version in force at opening.
    sla_calendar = calendar_for_opening(
        organization=organization, contract=contract, opened_at=opened_at
    )
    dues = ticket_sla_dues(
        organization=organization,
        contract=contract,
        priority=priority,
        opened_at=opened_at,
        calendar=sla_calendar,
    )
    ticket = Ticket.objects.create(
        organization=organization,
        number=(last or 0) + 1,
        title=title,
        description=description or "",
        client=client,
        contract=contract,
        request_type=request_type,
        priority=priority,
        source=source,
        assignee=assignee,
        opened_by=opened_by,
        opened_at=opened_at,
        sla_calendar=sla_calendar,
        **dues.as_fields(),
    )
    rule = ticket_rule(ticket=ticket, on=opened_on)
    BillingMoment.objects.create(
        organization=organization,
        ticket=ticket,
        kind=BillingMoment.Kind.TICKET_OPENED,
        detail=rule.in_plain_words[:300],
        raised_by=opened_by,
        created_at=opened_at,
    )
    _recurring_issue(ticket=ticket, organization=organization, opened_by=opened_by)
    return ticket


RECURRING_WINDOW = datetime.timedelta(days=30)


def _recurring_issue(*, ticket: Ticket, organization: Organization, opened_by) -> None:
    """The client's Nth ticket of one request type within 30 days (N is the
    organization's setting): a recurring issue is becoming remediation."""
    threshold = organization.recurring_ticket_count
    if not threshold:
        return
    recent = Ticket.objects.filter(
        organization=organization,
        client=ticket.client_id,
        request_type=ticket.request_type_id,
        opened_at__gt=ticket.opened_at - RECURRING_WINDOW,
        opened_at__lte=ticket.opened_at,
    ).count()
    if recent >= threshold:
        BillingMoment.objects.create(
            organization=organization,
            ticket=ticket,
            kind=BillingMoment.Kind.RECURRING_ISSUE,
            detail=(
                f"{ticket.client.name} opened {recent} “{ticket.request_type.name}” tickets "
                "in 30 days: is this remediation rather than support?"
            )[:300],
            raised_by=opened_by,
            created_at=ticket.opened_at,
        )


def ticket_update(*, ticket: Ticket, actor: Membership | None, version: int, **changes) -> Ticket:
    """Change status, priority, assignee, title, description, phase, request
    type or resolution note, if the caller saw the current ``version``;
    otherwise :class:`TicketConflict`.

    Resolving (or closing) sets ``resolved_at``; reopening — resolved or
    closed back to an open status — clears it, counts the reopen and records
    when, so the client brief can show tickets that came back. Resolving
    without a resolution note is allowed: the missing note is a signal of
    undocumented context, not a refusal. Leaving “new” for the first time
    records the first response. A priority change recomputes the SLA dues;
    moving to implementation raises a billing moment. The SLA clock
    (``tickets.services.sla``) stops while the ticket waits on the client: a
    pause opens on “waiting” and ends when it leaves, pushing the dues; the
    first response and a resolution record their clock minutes."""
    unknown = set(changes) - TICKET_UPDATABLE
    if unknown:
        raise TypeError(f"ticket_update cannot change {sorted(unknown)}")
    org_id = ticket.organization_id
    errors: dict[str, str] = {}
    if actor is not None and not belongs(actor, org_id):
        errors["actor"] = "Only a member of this organization can change its tickets."
    if "status" in changes:
        check_choice(errors, "status", changes["status"], Ticket.Status.values, "status")
    if "priority" in changes:
        check_choice(errors, "priority", changes["priority"], Priority.values, "priority")
    if "phase" in changes:
        check_choice(errors, "phase", changes["phase"], Ticket.Phase.values, "phase")
    if "assignee" in changes:
        # Against the stored assignee, not the caller's instance (a form may
        # have set it already): keeping the current assignee needs no check.
        stored = Ticket.objects.filter(organization=org_id, pk=ticket.pk).values_list(
            "assignee_id", flat=True
        )
        if getattr(changes["assignee"], "pk", None) not in stored:
            check_assignee(errors, changes["assignee"], org_id)
    if "title" in changes:
        changes["title"] = (changes["title"] or "").strip()
        if not changes["title"]:
            errors["title"] = "Give the ticket a short title."
        check_length(errors, "title", changes["title"], limit=TITLE_MAX, what="Titles")
    if "description" in changes:
        changes["description"] = changes["description"] or ""
        _check_description(errors, changes["description"])
    if "resolution_note" in changes:
        note = changes["resolution_note"]
        if note is not None and not isinstance(note, str):
            errors["resolution_note"] = "Write the resolution note in words."
        else:
            changes["resolution_note"] = (note or "").strip()
            check_length(
                errors,
                "resolution_note",
                changes["resolution_note"],
                limit=RESOLUTION_NOTE_MAX,
                what="Resolution notes",
            )
    if "request_type" in changes:
        request_type = changes["request_type"]
        stored_type = Ticket.objects.filter(organization=org_id, pk=ticket.pk).values_list(
            "request_type_id", flat=True
        )
        if not belongs(request_type, org_id):
            errors["request_type"] = "Choose a request type of this organization."
        elif request_type.pk not in stored_type and not request_type.is_active:
            errors["request_type"] = "This request type is no longer offered."
    try:
        version = int(version)
    except (TypeError, ValueError):
        errors["version"] = "Send the version of the ticket you are changing."
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        # Optimistic lock: read without locking, write only if nobody wrote
        # in between (UPDATE … WHERE version = the version the caller saw).
        current = Ticket.objects.select_related(
            "organization", "contract", "request_type", "sla_calendar"
        ).get(organization=org_id, pk=ticket.pk)
        if current.version != version:
            raise TicketConflict(_ticket_now(ticket))
        now = timezone.now()
        fields = dict(changes)
        if "assignee" in fields:
            assignee = fields.pop("assignee")
            fields["assignee_id"] = assignee.pk if assignee is not None else None
        if "request_type" in fields:
            fields["request_type_id"] = fields.pop("request_type").pk
        status = changes.get("status", current.status)
        if status in DONE_STATUSES:
            if current.resolved_at is None:
                fields["resolved_at"] = now
        else:
            if current.resolved_at is not None:
                fields["resolved_at"] = None  # reopened
            if current.status in DONE_STATUSES:
                # Counted by the database in the UPDATE, not from the count read above.
                fields["reopen_count"] = F("reopen_count") + 1
                fields["last_reopened_at"] = now
        if (
            status != Ticket.Status.NEW
            and current.status == Ticket.Status.NEW
            and current.first_responded_at is None
        ):
            fields["first_responded_at"] = now
        if "first_responded_at" in fields:
            fields["response_minutes"] = clock_minutes(ticket=current, until=now)
        if "resolved_at" in fields and fields["resolved_at"] is not None:
            # The clock of this resolution (a waiting ticket's pause ends with it).
            fields["resolution_minutes"] = clock_minutes(ticket=current, until=now)
        updated = Ticket.objects.filter(organization=org_id, pk=ticket.pk, version=version).update(
            **fields, version=F("version") + 1, updated_at=now
        )
        if not updated:
            raise TicketConflict(_ticket_now(ticket))
        _sla_clock_follow(
            current=current,
            status=status,
            actor=actor,
            now=now,
            priority=changes.get("priority"),
            responded=current.first_responded_at is not None or "first_responded_at" in fields,
        )
        if (
            changes.get("phase") == Ticket.Phase.IMPLEMENTATION
            and current.phase != Ticket.Phase.IMPLEMENTATION
        ):
            moment_raise(
                ticket=current,
                kind=BillingMoment.Kind.PHASE_CHANGE,
                detail="Work moved from investigation to implementation.",
                raised_by=actor,
            )
        if "request_type" in changes and changes["request_type"].pk != current.request_type_id:
            # A corrected request type changes the rule: the ticket is asked again.
            moment_raise(
                ticket=current,
                kind=BillingMoment.Kind.REQUEST_TYPE_CHANGED,
                detail=(
                    f"Request type corrected from “{current.request_type.name}” to "
                    f"“{changes['request_type'].name}”: decide again under its rule."
                ),
                raised_by=actor,
            )
    return _ticket_now(ticket)


def _sla_clock_follow(
    *,
    current: Ticket,
    status: str,
    actor: Membership | None,
    now,
    priority: str | None,
    responded: bool,
) -> None:
    """The SLA clock after a change (inside the update's transaction): moving
    to “waiting” stops it (a pause opens), leaving “waiting” starts it again
    (the pause ends) and moves the dues by the paused clock time; reopening
    records the stretch the ticket sat resolved as an ended pause; a priority
    change computes the dues again with the ticket's calendar and pauses.
    Only targets still running move: a met first response keeps its due and
    risk time, and a resolved ticket its resolution due."""
    waiting = Ticket.Status.WAITING
    recompute = priority is not None and priority != current.priority
    if (
        current.status in DONE_STATUSES
        and status not in DONE_STATUSES
        and current.resolved_at is not None
    ):
        ticket_pause_record(
            ticket=current,
            started_at=current.resolved_at,
            ended_at=now,
            reason=REOPEN_PAUSE_REASON,
            actor=actor,
        )
        recompute = True
    if status == waiting and current.status != waiting:
        ticket_pause_start(ticket=current, actor=actor, at=now)
    elif status != waiting and ticket_pause_end(ticket=current, actor=actor, at=now) is not None:
        recompute = True
    if not recompute:
        return
    dues = ticket_sla_dues(
        organization=current.organization,
        contract=current.contract_id,
        priority=priority or current.priority,
        opened_at=current.opened_at,
        calendar=current.sla_calendar,
        pauses=ticket_pauses(ticket=current),
        now=now,
    )
    fields = {}
    if not responded:
        fields["first_response_due"] = dues.first_response_due
        fields["first_response_risk_at"] = dues.first_response_risk_at
    if status not in DONE_STATUSES:
        fields["resolution_due"] = dues.resolution_due
        fields["resolution_risk_at"] = dues.resolution_risk_at
    if fields:
        Ticket.objects.filter(organization=current.organization_id, pk=current.pk).update(**fields)


def _ticket_now(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_related(
        "client", "contract", "request_type", "assignee__user", "opened_by__user"
    ).get(organization=ticket.organization_id, pk=ticket.pk)


def moment_raise(
    *,
    ticket: Ticket,
    kind: str,
    detail: str = "",
    raised_by: Membership | None = None,
    threshold_minutes: int | None = None,
) -> BillingMoment:
    """Open a billing moment: one open moment per ticket and kind, an open one
    is returned as is — a threshold moment still open takes the higher
    ``threshold_minutes`` and its detail, so one question covers every level
    passed before it is answered. Safe against a concurrent writer: the
    insert runs in a savepoint, and losing the race to the unique constraint
    returns the winner's moment."""
    open_moments = BillingMoment.objects.filter(
        organization=ticket.organization_id,
        ticket=ticket,
        kind=kind,
        status=BillingMoment.Status.OPEN,
    )
    existing = open_moments.first()
    if existing is not None:
        if threshold_minutes and threshold_minutes > (existing.threshold_minutes or 0):
            existing.threshold_minutes = threshold_minutes
            existing.detail = (detail or existing.detail)[:300]
            existing.save(update_fields=["threshold_minutes", "detail"])
        return existing
    try:
        with transaction.atomic():
            return BillingMoment.objects.create(
                organization_id=ticket.organization_id,
                ticket=ticket,
                kind=kind,
                detail=(detail or "")[:300],
                raised_by=raised_by,
                threshold_minutes=threshold_minutes,
            )
    except IntegrityError:
        return open_moments.get()


@transaction.atomic
def ticket_delete(*, ticket: Ticket) -> None:
    """Delete a ticket opened by mistake. A ticket with time logged is
    evidence for billing: resolve or close it instead."""
    org_id = ticket.organization_id
    locked = Ticket.objects.select_for_update().get(organization=org_id, pk=ticket.pk)
    if (
        locked.logged_minutes
        or TimeEntry.objects.filter(organization=org_id, ticket=ticket).exists()
    ):
        raise ValidationError(
            "This ticket has time logged; close it instead of deleting it.", code=IN_USE
        )
    try:
        with transaction.atomic():
            BillingMoment.objects.filter(organization=org_id, ticket=ticket).delete()
            locked.delete()
    except ProtectedError:
        raise ValidationError(
            "Billing records refer to this ticket; close it instead of deleting it.", code=IN_USE
        ) from None
