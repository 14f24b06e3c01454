"""Billing decisions at the moment of work.

Every decision, scope-check transition and time entry that carries billing
meaning is written here, by pages, API, admin and commands alike:

- :func:`decision_record` — a person classifies a ticket's work with the rule
  in front of them; needs approval opens a scope check; unusual calls are
  logged; unlocked time entries are re-derived.
- :func:`time_entry_log` — log time; its billing status follows the decision
  in force for its work date; passing the rule's thresholds raises moments.
- scope checks: approve, reject, ask the client, the client's answer.
- moments the developer raises by hand: out of scope, change request.
"""

import datetime
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from clients.models import Client, Priority, RequestType
from msops.tenancy.models import Membership, Organization, Role
from msops.tenancy.tasks import enqueue_for
from tickets.models import BillingMoment, Classification, Ticket, TimeEntry
from tickets.selectors import ticket_rule
from tickets.services import (
    LoggedTime,
    TicketConflict,
    moment_raise,
    organization_today,
    ticket_open,
    time_entry_create,
    validate_ticket_opening,
    validate_time,
)

from ..models import BillingDecision, DecisionLogEntry, ScopeCheck
from ..notifications import notify
from ..tasks import flags_check_ticket_task

DECIDERS = frozenset({Role.DEVELOPER, Role.ACCOUNT_MANAGER, Role.ADMIN})
APPROVERS = frozenset({Role.ACCOUNT_MANAGER, Role.ADMIN})
CLIENT_LINK_SALT = "msops.billing.scope-check.client-link"
CLIENT_LINK_DAYS = 7
NO_APPROVAL_AFTER_THE_FACT = (
    "Work already done can't wait for approval: choose billable, included or unclear, and say why."
)

STATUS_FOR_CLASSIFICATION = {
    Classification.INCLUDED: TimeEntry.BillingStatus.INCLUDED,
    Classification.BILLABLE: TimeEntry.BillingStatus.BILLABLE,
    Classification.NEEDS_APPROVAL: TimeEntry.BillingStatus.PENDING_APPROVAL,
    Classification.UNCLEAR: TimeEntry.BillingStatus.UNCLEAR,
}

__all__ = [
    "APPROVERS",
    "DECIDERS",
    "ClientLinkError",
    "LoggedTime",
    "TicketConflict",
    "decision_record",
    "flags_check_soon",
    "link_organization_id",
    "moment_raise",
    "scope_check_approve",
    "scope_check_ask_client",
    "scope_check_client_answer",
    "scope_check_client_link",
    "scope_check_from_link",
    "scope_check_reject",
    "ticket_mark_change_request",
    "ticket_mark_out_of_scope",
    "time_entries_rederive",
    "time_entry_log",
    "work_log_after_the_fact",
]


def _require_role(actor: Membership, roles, organization_id: int) -> None:
    if actor is None or actor.organization_id != organization_id:
        raise ValidationError({"actor": "Only a member of this organization can do this."})
    if actor.role not in roles:
        raise PermissionDenied("Your role in this organization may not do this.")


def _status_for(decision: BillingDecision | None) -> str:
    if decision is None:
        return TimeEntry.BillingStatus.UNDECIDED
    if decision.written_off:
        return TimeEntry.BillingStatus.NON_BILLABLE
    return STATUS_FOR_CLASSIFICATION[decision.classification]


def _decision_in_force(decisions: list[BillingDecision], work_date: datetime.date):
    """The latest decision covering ``work_date`` (decisions oldest first)."""
    chosen = None
    for decision in decisions:
        if decision.applies_from is None or decision.applies_from <= work_date:
            chosen = decision
    return chosen


def _ticket_decisions(ticket: Ticket) -> list[BillingDecision]:
    return list(
        BillingDecision.objects.filter(organization=ticket.organization_id, ticket=ticket).order_by(
            "decided_at", "pk"
        )
    )


def _open_check(ticket: Ticket) -> ScopeCheck | None:
    return (
        ScopeCheck.objects.filter(
            organization=ticket.organization_id,
            ticket=ticket,
            status__in=ScopeCheck.OPEN_STATUSES,
        )
        .select_related("decision")
        .first()
    )


def _entry_status(
    decisions: list[BillingDecision], work_date: datetime.date, open_check: ScopeCheck | None
) -> str:
    """An entry's billing status: from the decision in force for its work
    date, except that work the open scope check asks about waits for its
    answer (pending approval)."""
    if open_check is not None:
        asked_from = open_check.decision.applies_from if open_check.decision_id else None
        if asked_from is None or asked_from <= work_date:
            return TimeEntry.BillingStatus.PENDING_APPROVAL
    return _status_for(_decision_in_force(decisions, work_date))


def time_entries_rederive(*, ticket: Ticket) -> int:
    """Re-derive the billing status of the ticket's unlocked entries from the
    decisions in force for their work dates (and the open scope check).
    Returns how many changed."""
    decisions = _ticket_decisions(ticket)
    open_check = _open_check(ticket)
    entries = list(
        TimeEntry.objects.filter(organization=ticket.organization_id, ticket=ticket, locked=False)
    )
    changed = []
    for entry in entries:
        status = _entry_status(decisions, entry.work_date, open_check)
        if entry.billing_status != status:
            entry.billing_status = status
            changed.append(entry)
    TimeEntry.objects.bulk_update(changed, ["billing_status"])
    return len(changed)


# --- decisions ----------------------------------------------------------------
@dataclass(frozen=True)
class ScopeCheckRequest:
    """What a needs-approval decision asks the account manager."""

    estimate_minutes: int
    client_explanation: str = ""


@transaction.atomic
def decision_record(
    *,
    ticket: Ticket,
    actor: Membership,
    classification: str,
    version: int,
    reason: str = "",
    moment: BillingMoment | None = None,
    write_off: bool = False,
    client_exception: bool = False,
    applies_from: datetime.date | None = None,
    scope_check: ScopeCheckRequest | None = None,
    _system_reason: str = "",
) -> BillingDecision:
    """Record what the ticket's work is.

    The decision answers the ticket's open moments (``moment`` first), records
    the rule and contract terms in force, re-derives unlocked time entries and
    writes the decision log for unusual calls. Overriding the rule's
    suggestion, choosing unclear, writing off or granting a client exception
    need a reason. ``needs_approval`` opens a scope check for the client's
    account manager. A stale ``version`` raises :class:`TicketConflict`."""
    org_id = ticket.organization_id
    _require_role(actor, DECIDERS, org_id)
    reason = (reason or "").strip()
    errors: dict[str, str] = {}
    if classification not in Classification.values:
        errors["classification"] = "Choose included, billable, needs approval or unclear."
    if moment is not None and (moment.organization_id != org_id or moment.ticket_id != ticket.pk):
        errors["moment"] = "This billing moment belongs to another ticket."
    try:
        version = int(version)
    except (TypeError, ValueError):
        errors["version"] = "Send the version of the ticket you are deciding on."
    if errors:
        raise ValidationError(errors)

    current = (
        Ticket.objects.select_related("client", "request_type", "contract", "organization")
        .select_for_update(of=("self",))
        .get(organization=org_id, pk=ticket.pk)
    )
    if current.version != version:
        raise TicketConflict(current)
    today = organization_today(current.organization)
    applied = ticket_rule(ticket=current, on=today)
    suggested = applied.suggested_classification
    overrides = classification != suggested and not _system_reason
    if write_off and classification == Classification.NEEDS_APPROVAL:
        errors["write_off"] = "Work waiting for approval can't be written off."
    if not reason:
        reason = _system_reason
    if not reason:
        if classification == Classification.UNCLEAR:
            errors["reason"] = "Say what is unclear, so the weekly review can settle it."
        elif overrides:
            errors["reason"] = (
                f"The rule suggests {Classification(suggested).label.lower()}: "
                "say why this work is different."
            )
        elif write_off:
            errors["reason"] = "A write-off needs a reason."
        elif client_exception:
            errors["reason"] = "A client exception needs a reason."
    open_check = None
    if classification == Classification.NEEDS_APPROVAL:
        open_check = ScopeCheck.objects.filter(
            organization=org_id, ticket=current, status__in=ScopeCheck.OPEN_STATUSES
        ).first()
        if open_check is not None:
            errors["classification"] = "A scope check is already open on this ticket."
        elif scope_check is None or not scope_check.estimate_minutes:
            errors["estimate_minutes"] = "Estimate the extra time in minutes."
        elif not 1 <= int(scope_check.estimate_minutes) <= 100_000:
            errors["estimate_minutes"] = "Estimate between 1 and 100000 minutes."
        if not reason and "reason" not in errors:
            errors["reason"] = "Say why this needs approval."
    if errors:
        raise ValidationError(errors)

    Ticket.objects.filter(organization=org_id, pk=current.pk).update(
        version=F("version") + 1, classification=classification, updated_at=timezone.now()
    )
    open_moments = list(
        BillingMoment.objects.filter(
            organization=org_id, ticket=current, status=BillingMoment.Status.OPEN
        ).order_by("created_at")
    )
    decision = BillingDecision.objects.create(
        organization_id=org_id,
        ticket=current,
        moment=moment or (open_moments[0] if open_moments else None),
        classification=classification,
        suggested_classification=suggested,
        reason=reason,
        decided_by=actor,
        scope_rule=applied.rule,
        contract_revision=applied.revision,
        treatment=applied.treatment,
        rule_in_words=applied.in_plain_words[:300],
        overrides_rule=overrides,
        written_off=write_off,
        applies_from=applies_from,
    )
    now = timezone.now()
    BillingMoment.objects.filter(organization=org_id, pk__in=[m.pk for m in open_moments]).update(
        status=BillingMoment.Status.DECIDED, decided_at=now
    )
    decision.entries_rederived = time_entries_rederive(ticket=current)
    decision.save(update_fields=["entries_rederived"])

    for kind, flag, summary in (
        (DecisionLogEntry.Kind.RULE_OVERRIDDEN, overrides,
         f"{applied.in_plain_words} → decided {Classification(classification).label.lower()}"),
        (DecisionLogEntry.Kind.WRITE_OFF, write_off, f"Written off on #{current.number}"),
        (DecisionLogEntry.Kind.CLIENT_EXCEPTION, client_exception,
         f"Client exception on #{current.number}"),
    ):  # fmt: skip
        if flag:
            DecisionLogEntry.objects.create(
                organization_id=org_id,
                kind=kind,
                client=current.client,
                ticket=current,
                decision=decision,
                actor=actor,
                summary=summary[:300],
                reason=reason,
            )

    if classification == Classification.NEEDS_APPROVAL:
        _scope_check_open(ticket=current, decision=decision, actor=actor, request=scope_check)
    flags_check_soon(ticket=current)
    return decision


def flags_check_soon(*, ticket: Ticket) -> None:
    """Check the ticket for exception flags once this transaction commits."""
    enqueue_for(flags_check_ticket_task, ticket.organization, ticket_id=ticket.pk)


def _scope_check_open(
    *, ticket: Ticket, decision: BillingDecision, actor: Membership, request: ScopeCheckRequest
) -> ScopeCheck:
    manager = ticket.client.account_manager
    explanation = (request.client_explanation or "").strip() or (
        f"{ticket.title}: this is outside what your support agreement covers. "
        f"We estimate {_hm(int(request.estimate_minutes))} of extra work, billed at the agreed rate."
    )
    check = ScopeCheck.objects.create(
        organization_id=ticket.organization_id,
        ticket=ticket,
        decision=decision,
        requested_by=actor,
        account_manager=manager,
        estimate_minutes=int(request.estimate_minutes),
        reason=decision.reason,
        client_explanation=explanation,
    )
    if manager is not None and manager.user.email:
        notify(
            to=[manager.user.email],
            subject=f"[{ticket.organization.name}] Scope check on #{ticket.number}: {ticket.title}",
            body=(
                f"{actor.user.get_full_name() or actor.user.username} asks for approval before "
                f"spending more time on #{ticket.number} for {ticket.client.name}.\n\n"
                f"Estimate: {_hm(check.estimate_minutes)}\nWhy: {check.reason}\n\n"
                f"Open your scope-check queue in msops to approve, reject or ask the client."
            ),
        )
    return check


def _hm(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d} h"


# --- time ---------------------------------------------------------------------
@transaction.atomic
def time_entry_log(
    *,
    ticket: Ticket,
    person: Membership,
    work_date: datetime.date,
    minutes: int,
    notes: str = "",
    idempotency_key: str | None = None,
    entered_at: datetime.datetime | None = None,
) -> LoggedTime:
    """Log time on a ticket. The entry's billing status is the one of the
    decision in force for its work date (waiting for approval while a scope
    check is open); passing the rule's expected time or approval threshold
    raises a billing moment."""
    logged = time_entry_create(
        ticket=ticket,
        person=person,
        work_date=work_date,
        minutes=minutes,
        notes=notes,
        idempotency_key=idempotency_key,
        entered_at=entered_at,
    )
    if logged.replayed:
        return logged
    entry = logged.entry
    current = Ticket.objects.select_related(
        "client", "request_type", "contract", "organization"
    ).get(organization=ticket.organization_id, pk=ticket.pk)
    status = _entry_status(_ticket_decisions(current), work_date, _open_check(current))
    if entry.billing_status != status:
        entry.billing_status = status
        entry.save(update_fields=["billing_status"])
    _threshold_moments(ticket=current, raised_by=person)
    flags_check_soon(ticket=current)
    return logged


def _threshold_moments(*, ticket: Ticket, raised_by: Membership) -> None:
    rule = ticket_rule(ticket=ticket)
    logged = ticket.logged_minutes
    if rule.expected_minutes and logged > rule.expected_minutes:
        _moment_raise_once(
            ticket=ticket,
            kind=BillingMoment.Kind.EXPECTED_TIME_PASSED,
            detail=f"{_hm(logged)} logged; the rule expects about {_hm(rule.expected_minutes)}.",
            raised_by=raised_by,
        )
    threshold = rule.approval_threshold_minutes
    if threshold and logged > threshold and not _approved(ticket):
        _moment_raise_once(
            ticket=ticket,
            kind=BillingMoment.Kind.APPROVAL_THRESHOLD_PASSED,
            detail=f"{_hm(logged)} logged; past {_hm(threshold)} the work needs approval.",
            raised_by=raised_by,
        )


def _approved(ticket: Ticket) -> bool:
    return ScopeCheck.objects.filter(
        organization=ticket.organization_id, ticket=ticket, status__in=ScopeCheck.APPROVED_STATUSES
    ).exists()


def _moment_raise_once(
    *, ticket: Ticket, kind: str, detail: str, raised_by
) -> BillingMoment | None:
    """Raise a threshold moment once per ticket: not again after it was decided."""
    existing = BillingMoment.objects.filter(
        organization=ticket.organization_id, ticket=ticket, kind=kind
    )
    if existing.exists():
        return None
    return moment_raise(ticket=ticket, kind=kind, detail=detail, raised_by=raised_by)


@transaction.atomic
def ticket_mark_out_of_scope(*, ticket: Ticket, actor: Membership, note: str = "") -> BillingMoment:
    """The developer says: this is outside normal support."""
    _require_role(actor, DECIDERS, ticket.organization_id)
    return moment_raise(
        ticket=ticket,
        kind=BillingMoment.Kind.OUT_OF_SCOPE,
        detail=(note or "").strip() or "Flagged as outside normal support.",
        raised_by=actor,
    )


@transaction.atomic
def ticket_mark_change_request(
    *, ticket: Ticket, actor: Membership, note: str = ""
) -> BillingMoment:
    """The client asked for a change rather than a fix."""
    _require_role(actor, DECIDERS, ticket.organization_id)
    return moment_raise(
        ticket=ticket,
        kind=BillingMoment.Kind.CHANGE_REQUEST,
        detail=(note or "").strip() or "The client asked for a change, not a fix.",
        raised_by=actor,
    )


@transaction.atomic
def work_log_after_the_fact(
    *,
    organization: Organization,
    actor: Membership,
    client: Client,
    request_type: RequestType,
    title: str,
    minutes: int,
    work_date: datetime.date,
    source: str,
    classification: str = "",
    reason: str = "",
    notes: str = "",
) -> BillingDecision:
    """The real process under pressure: work already done (a direct message,
    a phone call) becomes a ticket, its time entry and its first decision in
    one step. Without a classification the rule's suggestion is taken."""
    _require_role(actor, DECIDERS, organization.pk)
    opened_at = timezone.now()
    # Every field's problem at once (the services below check again).
    errors: dict[str, list[str]] = {}
    for check in (
        lambda: validate_ticket_opening(
            organization=organization,
            opened_by=actor,
            client=client,
            request_type=request_type,
            title=title,
            priority=Priority.NORMAL,
            source=source,
            assignee=actor,
            opened_at=opened_at,
        ),
        lambda: validate_time(organization=organization, work_date=work_date, minutes=minutes),
    ):
        try:
            check()
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                errors.setdefault(name, []).extend(messages)
    if classification and classification not in Classification.values:
        errors["classification"] = ["Choose included, billable or unclear."]
    elif classification == Classification.NEEDS_APPROVAL:
        errors["classification"] = [NO_APPROVAL_AFTER_THE_FACT]
    if errors:
        raise ValidationError(errors)
    ticket = ticket_open(
        organization=organization,
        opened_by=actor,
        client=client,
        request_type=request_type,
        title=title,
        description=notes,
        source=source,
        assignee=actor,
        opened_at=opened_at,
    )
    suggested = ticket_rule(ticket=ticket, on=work_date).suggested_classification
    classification = classification or suggested
    if classification == Classification.NEEDS_APPROVAL:
        raise ValidationError({"classification": NO_APPROVAL_AFTER_THE_FACT})
    time_entry_create(
        ticket=ticket,
        person=actor,
        work_date=work_date,
        minutes=minutes,
        notes=notes or title,
    )
    ticket.refresh_from_db()
    return decision_record(
        ticket=ticket,
        actor=actor,
        classification=classification,
        version=ticket.version,
        reason=reason,
    )


# --- scope checks ---------------------------------------------------------------
def _lock_check(check: ScopeCheck) -> ScopeCheck:
    return (
        ScopeCheck.objects.select_for_update(of=("self",))
        .select_related("ticket__client", "ticket__organization", "account_manager__user")
        .get(organization=check.organization_id, pk=check.pk)
    )


def _lock_check_open(check: ScopeCheck) -> ScopeCheck:
    """The check, locked, if the account manager can still act on it: pending,
    or waiting for the client (who may never answer: the account manager
    then decides, or asks again with a new link)."""
    current = _lock_check(check)
    if current.status not in ScopeCheck.OPEN_STATUSES:
        raise ValidationError(
            f"This scope check is already {current.get_status_display().lower()}."
        )
    return current


def _system_decision(
    *, check: ScopeCheck, actor: Membership, classification: str, reason: str
) -> BillingDecision:
    """The decision an answered scope check makes, from the same date as the
    decision that asked for approval. The ticket is locked first, so a
    concurrent edit waits instead of turning the answer into a conflict."""
    ticket = Ticket.objects.select_for_update().get(
        organization=check.organization_id, pk=check.ticket_id
    )
    return decision_record(
        ticket=ticket,
        actor=actor,
        classification=classification,
        version=ticket.version,
        applies_from=check.decision.applies_from if check.decision_id else None,
        _system_reason=reason,
    )


@transaction.atomic
def scope_check_approve(*, check: ScopeCheck, actor: Membership, note: str = "") -> ScopeCheck:
    """The account manager approves: the work is billable extra work."""
    _require_role(actor, APPROVERS, check.organization_id)
    current = _lock_check_open(check)
    current.status = ScopeCheck.Status.APPROVED
    current.client_link_nonce = ""  # a link sent to the client stops working
    current.decided_at = timezone.now()
    current.decided_by = actor
    current.decision_note = (note or "").strip()
    current.version += 1
    current.save()
    _system_decision(
        check=current,
        actor=actor,
        classification=Classification.BILLABLE,
        reason=f"Scope check approved by the account manager. {current.decision_note}".strip(),
    )
    return current


@transaction.atomic
def scope_check_reject(*, check: ScopeCheck, actor: Membership, note: str) -> ScopeCheck:
    """The account manager rejects: no extra billable work. Time already spent
    is absorbed (included); the call goes to the decision log."""
    _require_role(actor, APPROVERS, check.organization_id)
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": "Say why, so the developer and the next person know."})
    current = _lock_check_open(check)
    current.status = ScopeCheck.Status.REJECTED
    current.client_link_nonce = ""  # a link sent to the client stops working
    current.decided_at = timezone.now()
    current.decided_by = actor
    current.decision_note = note
    current.version += 1
    current.save()
    decision = _system_decision(
        check=current,
        actor=actor,
        classification=Classification.INCLUDED,
        reason=f"Scope check rejected: {note}",
    )
    DecisionLogEntry.objects.create(
        organization_id=current.organization_id,
        kind=DecisionLogEntry.Kind.SCOPE_CHECK_REJECTED,
        client=current.ticket.client,
        ticket=current.ticket,
        decision=decision,
        scope_check=current,
        actor=actor,
        summary=f"Scope check on #{current.ticket.number} rejected",
        reason=note,
    )
    return current


def scope_check_client_link(*, check: ScopeCheck) -> str:
    """The signed token of the check's client link (valid while the nonce is)."""
    return signing.dumps(
        {"o": check.organization_id, "c": check.pk, "n": check.client_link_nonce},
        salt=CLIENT_LINK_SALT,
        compress=True,
    )


@transaction.atomic
def scope_check_ask_client(
    *,
    check: ScopeCheck,
    actor: Membership,
    client_email: str,
    link_url: Callable[[str], str],
    client_explanation: str = "",
) -> ScopeCheck:
    """Send the client a signed, expiring, single-use link to approve or
    decline. ``link_url(token)`` builds the absolute URL (the view knows the host)."""
    _require_role(actor, APPROVERS, check.organization_id)
    client_email = (client_email or "").strip()
    try:
        validate_email(client_email)
    except ValidationError:
        raise ValidationError(
            {"client_email": "Enter the client contact's email address."}
        ) from None
    current = _lock_check_open(check)
    if client_explanation.strip():
        current.client_explanation = client_explanation.strip()
    current.status = ScopeCheck.Status.AWAITING_CLIENT
    current.client_email = client_email
    current.client_link_nonce = secrets.token_hex(16)
    current.client_asked_at = timezone.now()
    current.client_link_expires_at = current.client_asked_at + datetime.timedelta(
        days=CLIENT_LINK_DAYS
    )
    current.decided_by = actor
    current.version += 1
    current.save()
    organization = current.ticket.organization
    url = link_url(scope_check_client_link(check=current))
    notify(
        to=[client_email],
        subject=f"{organization.name}: your approval for a change ({current.ticket.client.name})",
        body=(
            f"Hello,\n\n{current.client_explanation}\n\n"
            f"Estimated extra time: {_hm(current.estimate_minutes)}.\n\n"
            f"Approve or decline here (the link works once, until "
            f"{timezone.localtime(current.client_link_expires_at, organization.tzinfo):%Y-%m-%d %H:%M}):\n"
            f"{url}\n\n— {actor.user.get_full_name() or actor.user.username}, {organization.name}"
        ),
    )
    return current


class ClientLinkError(Exception):
    """The client link is invalid, expired or already used. The message is
    safe to show: it names no ticket or organization. ``reason`` is one of
    ``invalid`` (never a link of ours), ``expired`` or ``used`` (answered,
    withdrawn or replaced by a newer link)."""

    INVALID = "invalid"
    EXPIRED = "expired"
    USED = "used"

    def __init__(self, message: str, reason: str = INVALID):
        super().__init__(message)
        self.reason = reason


_LINK_USED = "This link has already been used or is no longer valid."
_LINK_EXPIRED = "This link has expired. Ask your account manager for a new one."
_LINK_INVALID = "This link is not valid."


def scope_check_from_link(*, token: str) -> ScopeCheck:
    """Resolve a client link. Raises :class:`ClientLinkError`. Must run inside
    the scope of the organization named in the token (see the view)."""
    payload = _link_payload(token)
    check = (
        ScopeCheck.objects.select_related(
            "ticket__client", "ticket__organization", "decided_by__user"
        )
        .filter(organization=payload["o"], pk=payload["c"])
        .first()
    )
    if check is None:
        raise ClientLinkError(_LINK_INVALID, ClientLinkError.INVALID)
    if (
        not check.client_link_nonce
        or check.client_link_nonce != payload["n"]
        or check.status != ScopeCheck.Status.AWAITING_CLIENT
    ):
        raise ClientLinkError(_LINK_USED, ClientLinkError.USED)
    if check.client_link_expires_at and check.client_link_expires_at < timezone.now():
        raise ClientLinkError(_LINK_EXPIRED, ClientLinkError.EXPIRED)
    return check


def link_organization_id(token: str) -> int:
    """The organization a client link belongs to (signature checked)."""
    return int(_link_payload(token)["o"])


def _link_payload(token: str) -> dict:
    try:
        payload = signing.loads(
            token, salt=CLIENT_LINK_SALT, max_age=datetime.timedelta(days=CLIENT_LINK_DAYS)
        )
    except signing.SignatureExpired:
        raise ClientLinkError(_LINK_EXPIRED, ClientLinkError.EXPIRED) from None
    except signing.BadSignature:
        raise ClientLinkError(_LINK_INVALID, ClientLinkError.INVALID) from None
    if not isinstance(payload, dict) or not {"o", "c", "n"} <= set(payload):
        raise ClientLinkError(_LINK_INVALID, ClientLinkError.INVALID)
    try:
        payload["o"], payload["c"] = int(payload["o"]), int(payload["c"])
    except (TypeError, ValueError):
        raise ClientLinkError(_LINK_INVALID, ClientLinkError.INVALID) from None
    return payload


@transaction.atomic
def scope_check_client_answer(
    *, token: str, approve: bool, name: str, ip: str | None
) -> ScopeCheck:
    """Record the client's answer from the signed link: name typed, time, IP.
    The link works once."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Type your name to sign your answer."})
    check = scope_check_from_link(token=token)
    current = _lock_check(check)
    if (
        current.client_link_nonce != check.client_link_nonce
        or current.status != ScopeCheck.Status.AWAITING_CLIENT
    ):
        raise ClientLinkError(_LINK_USED, ClientLinkError.USED)
    current.status = (
        ScopeCheck.Status.CLIENT_APPROVED if approve else ScopeCheck.Status.CLIENT_DECLINED
    )
    current.client_answered_at = timezone.now()
    current.client_answer_name = name[:200]
    current.client_answer_ip = ip
    current.client_answer_channel = "link"
    current.client_link_nonce = ""  # single use
    current.version += 1
    current.save()
    actor = current.decided_by or current.account_manager or current.requested_by
    verdict = "approved" if approve else "declined"
    decision = _system_decision(
        check=current,
        actor=actor,
        classification=Classification.BILLABLE if approve else Classification.INCLUDED,
        reason=f"Client {verdict} the change ({name}, {current.client_answered_at:%Y-%m-%d %H:%M} UTC).",
    )
    if not approve:
        DecisionLogEntry.objects.create(
            organization_id=current.organization_id,
            kind=DecisionLogEntry.Kind.CLIENT_DECLINED,
            client=current.ticket.client,
            ticket=current.ticket,
            decision=decision,
            scope_check=current,
            actor=actor,
            summary=f"{name} declined the change on #{current.ticket.number}",
            reason=current.client_explanation,
        )
    recipients = [
        m.user.email for m in (current.requested_by, current.account_manager) if m and m.user.email
    ]
    if recipients:
        notify(
            to=sorted(set(recipients)),
            subject=f"[{current.ticket.organization.name}] Client {verdict} #{current.ticket.number}",
            body=f"{name} {verdict} the change on #{current.ticket.number} {current.ticket.title}.",
        )
    return current
