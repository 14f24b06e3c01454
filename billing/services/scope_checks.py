"""Scope checks: the account manager approves, rejects or asks the client.
Each answer is a decision (:func:`~billing.services.decisions.decision_record`)
that gives meaning to the work that waited for it.

How approved work is billed (``bill_as``: the actual time, or the approved
estimate charged once) is the account manager's choice while the check is
open — when approving or asking the client — and is fixed from then on. It
can't change while any of the check's work is in a closed billing period."""

import datetime
import secrets
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from msops.display import local_time
from msops.mail import absolute_url, notify
from msops.tenancy.models import Membership
from tickets.models import Classification, Ticket

from ..models import BillingDecision, DecisionLogEntry, EntryPortion, ScopeCheck
from ._common import APPROVERS, hm, require_role
from .client_link import (
    CLIENT_LINK_DAYS,
    LINK_USED,
    ClientLinkError,
    scope_check_client_link,
    scope_check_from_link,
)
from .decisions import BILL_AS_INVALID, decision_record
from .periods import ensure_open
from .time_entries import waiting_portions


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


def _bill_as_valid(bill_as: str | None) -> None:
    """``None`` keeps the check's (the developer's proposal, or the actual
    time); anything else must be one of :class:`ScopeCheck.BillAs`."""
    if bill_as is not None and bill_as not in ScopeCheck.BillAs.values:
        raise ValidationError({"bill_as": BILL_AS_INVALID})


def _check_work_days(check: ScopeCheck) -> set[datetime.date]:
    """The work dates of the check's portions: those its answer gives meaning
    to (waiting for it, or for any decision), and any already under it."""
    ticket = check.ticket
    waiting = waiting_portions(
        ticket=ticket, answers=check, settles_approval=True, settles_unclear=True
    )
    under = Q(decision__scope_check=check.pk)
    if check.decision_id:  # the needs-approval decision the check asks about
        under |= Q(decision=check.decision_id)
    ours = EntryPortion.objects.filter(under, organization=check.organization_id, ticket=ticket.pk)
    return {
        *waiting.values_list("work_date", flat=True).distinct(),
        *ours.values_list("work_date", flat=True).distinct(),
    }


def _bill_as_set(current: ScopeCheck, bill_as: str | None) -> None:
    """Set how the locked, open ``current`` is billed. Refused
    (:class:`~billing.services.periods.PeriodLocked`) when it would change
    and any of its work is in a closed period: that month's charges are
    final."""
    if bill_as is None or bill_as == current.bill_as:
        return
    # The ticket before its billing period, as every time service takes them.
    Ticket.objects.select_for_update().filter(
        organization=current.organization_id, pk=current.ticket_id
    ).first()
    ensure_open(
        organization_id=current.organization_id,
        client=current.ticket.client,
        days=_check_work_days(current),
        field="bill_as",
    )
    current.bill_as = bill_as


def billed_in_words(check: ScopeCheck) -> str:
    """How the approved work is billed, in the client's words."""
    if check.bill_as == ScopeCheck.BillAs.ESTIMATE:
        return f"at the approved estimate of {hm(check.estimate_minutes)}"
    return "at the time spent"


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
def scope_check_approve(
    *, check: ScopeCheck, actor: Membership, note: str = "", bill_as: str | None = None
) -> ScopeCheck:
    """The account manager approves: the work is billable extra work, billed
    as ``bill_as`` says (``None``: as the check says — the developer's
    proposal, else the actual time)."""
    require_role(actor, APPROVERS, check.organization_id)
    _bill_as_valid(bill_as)
    current = _lock_check_open(check)
    _bill_as_set(current, bill_as)
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
        reason=(
            f"Scope check approved by the account manager, billed {billed_in_words(current)}."
            f" {current.decision_note}"
        ).strip(),
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
    bill_as: str | None = None,
) -> ScopeCheck:
    """Send the client a signed, expiring, single-use link to approve or
    decline. ``link_url(token)`` builds the absolute URL (the view knows the
    host). ``bill_as`` (``None``: as the check says) is what the client
    approves."""
    require_role(actor, APPROVERS, check.organization_id)
    _bill_as_valid(bill_as)
    client_email = (client_email or "").strip()
    try:
        validate_email(client_email)
    except ValidationError:
        raise ValidationError(
            {"client_email": "Enter the client contact's email address."}
        ) from None
    current = _lock_check_open(check)
    _bill_as_set(current, bill_as)
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
            f"Estimated extra time: {hm(current.estimate_minutes)}, billed"
            f" {billed_in_words(current)}.\n\n"
            "Approve or decline here; the link works once, until "
            f"{local_time(current.client_link_expires_at, organization, with_zone=True)}:\n"
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
    decision = system_decision(
        check=current,
        actor=actor,
        classification=Classification.BILLABLE if approve else Classification.INCLUDED,
        reason=f"Client {verdict} the change ({name}) on "
        f"{local_time(current.client_answered_at, organization, with_zone=True)}.",
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
        ticket_url = absolute_url(
            reverse(
                "tickets:ticket_detail",
                kwargs={"org": organization.slug, "number": current.ticket.number},
            )
        )
        notify(
            to=sorted(set(recipients)),
            subject=f"[{current.ticket.organization.name}] Client {verdict} #{current.ticket.number}",
            body=f"{name} {verdict} the change on #{current.ticket.number} {current.ticket.title}."
            f"\n\nThe ticket: {ticket_url}",
        )
    return current
