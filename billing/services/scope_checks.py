"""Scope checks: the account manager approves, rejects or asks the client.
Each answer is a decision (:func:`~billing.services.decisions.decision_record`)
that gives meaning to the work that waited for it."""

import datetime
import secrets
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from msops.mail import notify
from msops.tenancy.models import Membership
from tickets.models import Classification, Ticket

from ..models import BillingDecision, DecisionLogEntry, ScopeCheck
from ._common import APPROVERS, hm, require_role
from .client_link import (
    CLIENT_LINK_DAYS,
    LINK_USED,
    ClientLinkError,
    scope_check_client_link,
    scope_check_from_link,
)
from .decisions import decision_record


def lock_check(check: ScopeCheck) -> ScopeCheck:
    return (
        ScopeCheck.objects.select_for_update(of=("self",))
        .select_related("ticket__client", "ticket__organization", "account_manager__user")
        .get(organization=check.organization_id, pk=check.pk)
    )


def _lock_check_open(check: ScopeCheck) -> ScopeCheck:
    """The check, locked, if the account manager can still act on it: pending,
    or waiting for the client (who may never answer: the account manager
    then decides, or asks again with a new link)."""
    current = lock_check(check)
    if current.status not in ScopeCheck.OPEN_STATUSES:
        raise ValidationError(
            f"This scope check is already {current.get_status_display().lower()}."
        )
    return current


def system_decision(
    *, check: ScopeCheck, actor: Membership, classification: str, reason: str
) -> BillingDecision:
    """The decision an answered scope check makes: it gives meaning to the
    work that waited for the answer and to the work after it. The ticket is
    locked first, so a concurrent edit waits instead of turning the answer
    into a conflict."""
    ticket = Ticket.objects.select_for_update().get(
        organization=check.organization_id, pk=check.ticket_id
    )
    return decision_record(
        ticket=ticket,
        actor=actor,
        classification=classification,
        version=ticket.version,
        answers=check,
        _system_reason=reason,
    )


@transaction.atomic
def scope_check_approve(*, check: ScopeCheck, actor: Membership, note: str = "") -> ScopeCheck:
    """The account manager approves: the work is billable extra work."""
    require_role(actor, APPROVERS, check.organization_id)
    current = _lock_check_open(check)
    current.status = ScopeCheck.Status.APPROVED
    current.client_link_nonce = ""  # a link sent to the client stops working
    current.decided_at = timezone.now()
    current.decided_by = actor
    current.decision_note = (note or "").strip()
    current.version += 1
    current.save()
    system_decision(
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
    require_role(actor, APPROVERS, check.organization_id)
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
    decision = system_decision(
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
    require_role(actor, APPROVERS, check.organization_id)
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
            f"Estimated extra time: {hm(current.estimate_minutes)}.\n\n"
            f"Approve or decline here (the link works once, until "
            f"{timezone.localtime(current.client_link_expires_at, organization.tzinfo):%Y-%m-%d %H:%M}):\n"
            f"{url}\n\n— {actor.user.get_full_name() or actor.user.username}, {organization.name}"
        ),
    )
    return current


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
    current = lock_check(check)
    if (
        current.client_link_nonce != check.client_link_nonce
        or current.status != ScopeCheck.Status.AWAITING_CLIENT
    ):
        raise ClientLinkError(LINK_USED, ClientLinkError.USED)
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
    organization = current.ticket.organization
    answered = timezone.localtime(current.client_answered_at, organization.tzinfo)
    decision = system_decision(
        check=current,
        actor=actor,
        classification=Classification.BILLABLE if approve else Classification.INCLUDED,
        reason=f"Client {verdict} the change ({name}, "
        f"{answered:%Y-%m-%d %H:%M} {organization.timezone}).",
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
