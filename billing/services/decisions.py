"""Billing decisions at the moment of work.

- :func:`decision_record` — a person classifies a ticket's work with the rule
  in front of them. The decision applies forward: it gives meaning to the
  work waiting for one and to the work logged after it; needs approval opens a
  scope check; unusual calls are logged.
- :func:`entries_reclassify` — the one way to change the meaning earlier work
  already has: named entries, a reason, a line in the decision log.

Work logged after the fact is in ``after_the_fact``.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max
from django.urls import reverse
from django.utils import timezone

from clients.models import Treatment
from clients.rules import AppliedRule
from msops.mail import absolute_url, notify
from msops.tenancy.models import Membership, Role
from tickets.models import BillingMoment, Classification, Ticket, TimeEntry
from tickets.selectors import ticket_rule
from tickets.services import (
    TicketConflict,
    organization_today,
)

from ..models import BillingDecision, DecisionLogEntry, EntryPortion, ScopeCheck
from ..pricing.money import time_amount
from ._common import APPROVERS, DECIDERS, flags_check_soon, hm, require_role
from .periods import ensure_open
from .time_entries import portions_give_meaning, waiting_portions

WORK_DONE_CANT_WAIT = (
    "Work already done can't wait for approval: choose billable, included or unclear."
)


def decision_rule(*, ticket: Ticket) -> AppliedRule:
    """The rule a decision on the ticket is made under: the one in force on the
    latest work date of the work waiting for a decision, else today's. The
    prompt on the ticket page shows the same rule."""
    waiting = waiting_portions(ticket=ticket).aggregate(last=Max("work_date"))["last"]
    on = waiting or organization_today(ticket.organization)
    return ticket_rule(ticket=ticket, on=on)


def writes_off(*, classification: str, rule: AppliedRule) -> bool:
    """Included work the rule can't include (excluded, or no contract covers
    it) is a write-off: not billed and drawn from no allowance."""
    return classification == Classification.INCLUDED and (
        not rule.covered or rule.treatment == Treatment.EXCLUDED
    )


BILL_AS_INVALID = "Choose how the approved work is billed: the actual time or the estimate."


@dataclass(frozen=True)
class ScopeCheckRequest:
    """What a needs-approval decision asks the account manager. ``bill_as`` is
    the developer's proposal (the actual time by default); the account
    manager settles it when approving."""

    estimate_minutes: int
    client_explanation: str = ""
    bill_as: str = ScopeCheck.BillAs.ACTUAL


def _lock_ticket(ticket: Ticket, version) -> Ticket:
    current = (
        Ticket.objects.select_related(
            "client__organization", "request_type", "contract", "organization"
        )
        .select_for_update(of=("self",))
        .get(organization=ticket.organization_id, pk=ticket.pk)
    )
    if current.version != version:
        raise TicketConflict(current)
    return current


def _version(errors: dict, version) -> int | None:
    try:
        return int(version)
    except (TypeError, ValueError):
        errors["version"] = "Send the version of the ticket you are deciding on."
        return None


def _log(*, kind, ticket: Ticket, decision, actor, summary: str, reason: str, check=None):
    DecisionLogEntry.objects.create(
        organization_id=ticket.organization_id,
        kind=kind,
        client=ticket.client,
        ticket=ticket,
        decision=decision,
        scope_check=check,
        actor=actor,
        summary=summary[:300],
        reason=reason,
    )


def _decision_create(
    *,
    ticket: Ticket,
    actor: Membership,
    applied: AppliedRule,
    classification: str,
    reason: str,
    written_off: bool,
    **fields,
) -> BillingDecision:
    """The decision row, with the rule and terms it was made under."""
    return BillingDecision.objects.create(
        organization_id=ticket.organization_id,
        ticket=ticket,
        classification=classification,
        suggested_classification=applied.suggested_classification,
        reason=reason,
        decided_by=actor,
        scope_rule=applied.rule,
        contract_revision=applied.revision,
        treatment=applied.treatment,
        rule_in_words=applied.in_plain_words[:300],
        rule_on=applied.on,
        written_off=written_off,
        **fields,
    )


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
    scope_check: ScopeCheckRequest | None = None,
    answers: ScopeCheck | None = None,
    _system_reason: str = "",
    as_finance: bool = False,
) -> BillingDecision:
    """Record what the ticket's work is, from now on.

    The decision answers the ticket's open moments (``moment`` first), records
    the rule and terms it was made under (:func:`decision_rule`), gives meaning
    to the work waiting for one and to the work logged after it, and writes the
    decision log for unusual calls. Overriding the rule's suggestion, choosing
    unclear, writing off or granting a client exception need a reason; included
    on work the rule can't include is a write-off. ``needs_approval`` opens a
    scope check for the client's account manager; ``answers`` is the check an
    automatic decision answers. A stale ``version`` raises :class:`TicketConflict`.
    ``as_finance``: finance settling a pre-invoice exception may decide too."""
    org_id = ticket.organization_id
    require_role(actor, DECIDERS | {Role.FINANCE} if as_finance else DECIDERS, org_id)
    reason = (reason or "").strip()
    errors: dict[str, str] = {}
    if classification not in Classification.values:
        errors["classification"] = "Choose included, billable, needs approval or unclear."
    if moment is not None and (moment.organization_id != org_id or moment.ticket_id != ticket.pk):
        errors["moment"] = "This billing moment belongs to another ticket."
    version = _version(errors, version)
    if errors:
        raise ValidationError(errors)

    current = _lock_ticket(ticket, version)
    applied = decision_rule(ticket=current)
    suggested = applied.suggested_classification
    write_off = write_off or writes_off(classification=classification, rule=applied)
    overrides = classification != suggested and not _system_reason and not write_off
    if write_off and classification == Classification.NEEDS_APPROVAL:
        errors["write_off"] = "Work waiting for approval can't be written off."
    if not reason:
        reason = _system_reason
    if not reason:
        if classification == Classification.UNCLEAR:
            errors["reason"] = "Say what is unclear, so the weekly review can settle it."
        elif write_off:
            errors["reason"] = (
                "Included here means written off (not billed, drawn from no allowance): "
                "a write-off needs a reason."
                if writes_off(classification=classification, rule=applied)
                else "A write-off needs a reason."
            )
        elif overrides:
            errors["reason"] = (
                f"The rule suggests {Classification(suggested).label.lower()}: "
                "say why this work is different."
            )
        elif client_exception:
            errors["reason"] = "A client exception needs a reason."
    if classification == Classification.NEEDS_APPROVAL:
        if ScopeCheck.objects.filter(
            organization=org_id, ticket=current, status__in=ScopeCheck.OPEN_STATUSES
        ).exists():
            errors["classification"] = "A scope check is already open on this ticket."
        elif scope_check is None or not scope_check.estimate_minutes:
            errors["estimate_minutes"] = "Estimate the extra time in minutes."
        elif not 1 <= int(scope_check.estimate_minutes) <= 100_000:
            errors["estimate_minutes"] = "Estimate between 1 and 100000 minutes."
        if scope_check is not None and scope_check.bill_as not in ScopeCheck.BillAs.values:
            errors["bill_as"] = BILL_AS_INVALID
        if not reason and "reason" not in errors:
            errors["reason"] = "Say why this needs approval."
    if errors:
        raise ValidationError(errors)

    Ticket.objects.filter(organization=org_id, pk=current.pk).update(
        version=F("version") + 1, classification=classification, updated_at=timezone.now()
    )
    # Past the approval threshold only an approver, a request for approval or
    # a scope check's answer settles the wait; a developer's other decisions
    # leave that question (and those minutes) open.
    settles_approval = (
        actor.role in APPROVERS
        or classification == Classification.NEEDS_APPROVAL
        or answers is not None
    )
    moments = BillingMoment.objects.filter(
        organization=org_id, ticket=current, status=BillingMoment.Status.OPEN
    )
    if not settles_approval:
        moments = moments.exclude(kind=BillingMoment.Kind.APPROVAL_THRESHOLD_PASSED)
    open_moments = list(moments.order_by("created_at"))
    decision = _decision_create(
        ticket=current,
        actor=actor,
        applied=applied,
        classification=classification,
        reason=reason,
        written_off=write_off,
        moment=moment or (open_moments[0] if open_moments else None),
        overrides_rule=overrides,
        scope_check=answers,
    )
    BillingMoment.objects.filter(organization=org_id, pk__in=[m.pk for m in open_moments]).update(
        status=BillingMoment.Status.DECIDED, decided_at=timezone.now()
    )
    decision.entries_rederived = portions_give_meaning(
        portions=waiting_portions(
            ticket=current,
            answers=answers,
            settles_approval=settles_approval,
            settles_unclear=classification != Classification.UNCLEAR,
        ),
        decision=decision,
    )
    decision.save(update_fields=["entries_rederived"])

    label = Classification(classification).label.lower()
    for kind, flag, summary in (
        (DecisionLogEntry.Kind.RULE_OVERRIDDEN, overrides,
         f"{applied.in_plain_words} → decided {label}"),
        (DecisionLogEntry.Kind.WRITE_OFF, write_off,
         f"Written off on #{current.number} ({applied.in_plain_words})"),
        (DecisionLogEntry.Kind.CLIENT_EXCEPTION, client_exception,
         f"Client exception on #{current.number}"),
    ):  # fmt: skip
        if flag:
            _log(
                kind=kind,
                ticket=current,
                decision=decision,
                actor=actor,
                summary=summary,
                reason=reason,
            )

    if classification == Classification.NEEDS_APPROVAL:
        scope_check_open(
            ticket=current, decision=decision, actor=actor, request=scope_check, rule=applied
        )
    flags_check_soon(ticket=current)
    return decision


LOCKED_ENTRY = "A locked entry's billing period is closed."


@transaction.atomic
def entries_reclassify(
    *,
    ticket: Ticket,
    actor: Membership,
    entries: list[TimeEntry],
    classification: str,
    reason: str,
    version: int,
    write_off: bool = False,
) -> BillingDecision:
    """Change the meaning earlier work already has: every minute of the named
    entries takes the new classification (under the rule of its own work
    date), with a reason, recorded in the decision log. Work logged later is
    not affected: it still follows the ticket's latest decision."""
    org_id = ticket.organization_id
    require_role(actor, DECIDERS, org_id)
    reason = (reason or "").strip()
    errors: dict[str, str] = {}
    if classification not in Classification.values:
        errors["classification"] = "Choose included, billable or unclear."
    elif classification == Classification.NEEDS_APPROVAL:
        errors["classification"] = WORK_DONE_CANT_WAIT
    if not reason:
        errors["reason"] = "Say why the earlier work means something else now."
    ids = {getattr(entry, "pk", entry) for entry in entries or []}
    if not ids:
        errors["entries"] = "Choose the entries to reclassify."
    version = _version(errors, version)
    if errors:
        raise ValidationError(errors)
    current = _lock_ticket(ticket, version)
    chosen = list(
        TimeEntry.objects.filter(organization=org_id, ticket=current, pk__in=ids).order_by(
            "work_date", "pk"
        )
    )
    if len(chosen) != len(ids):
        raise ValidationError({"entries": "Choose entries of this ticket."})
    if any(entry.locked for entry in chosen):
        raise ValidationError({"entries": ValidationError(LOCKED_ENTRY, code="period_locked")})
    ensure_open(
        organization_id=org_id, client=current.client,
        days=[entry.work_date for entry in chosen], field="entries",
    )  # fmt: skip
    on = max(entry.work_date for entry in chosen)
    applied = ticket_rule(ticket=current, on=on)
    write_off = write_off or writes_off(classification=classification, rule=applied)
    decision = _decision_create(
        ticket=current,
        actor=actor,
        applied=applied,
        classification=classification,
        reason=reason,
        written_off=write_off,
        reclassification=True,
    )
    portions = EntryPortion.objects.filter(organization=org_id, entry__in=chosen)
    decision.entries_rederived = portions_give_meaning(portions=portions, decision=decision)
    decision.save(update_fields=["entries_rederived"])
    Ticket.objects.filter(organization=org_id, pk=current.pk).update(
        version=F("version") + 1, updated_at=timezone.now()
    )
    listed = ", ".join(f"{e.work_date:%Y-%m-%d} {hm(e.minutes)}" for e in chosen[:6])
    more = f" and {len(chosen) - 6} more" if len(chosen) > 6 else ""
    _log(
        kind=DecisionLogEntry.Kind.RECLASSIFIED,
        ticket=current,
        decision=decision,
        actor=actor,
        summary=f"#{current.number}: {listed}{more} reclassified as "
        + ("written off" if write_off else Classification(classification).label.lower()),
        reason=reason,
    )
    flags_check_soon(ticket=current)
    return decision


def scope_check_open(
    *,
    ticket: Ticket,
    decision: BillingDecision,
    actor: Membership,
    request: ScopeCheckRequest,
    rule: AppliedRule,
) -> ScopeCheck:
    """Open the scope check a needs-approval decision asks for. Unless the
    developer wrote one for the client, the client's explanation is the
    developer's own words about the extra work, with the rule that makes it
    extra."""
    manager = ticket.client.account_manager
    estimate = int(request.estimate_minutes)
    explanation = (request.client_explanation or "").strip() or (
        f"{decision.reason}\n\n"
        f"Under your agreement: {rule.in_plain_words}. We estimate {hm(estimate)} of extra "
        "work, billed at the agreed rate."
    )
    check = ScopeCheck.objects.create(
        organization_id=ticket.organization_id,
        ticket=ticket,
        decision=decision,
        requested_by=actor,
        account_manager=manager,
        estimate_minutes=estimate,
        reason=decision.reason,
        client_explanation=explanation,
        bill_as=request.bill_as,
        rate=rule.rate,
        currency=rule.contract.currency if rule.contract else ticket.organization.currency,
        estimate_amount=None if rule.rate is None else time_amount(estimate, rule.rate),
    )
    if manager is not None and manager.user.email:
        slug = ticket.organization.slug
        queue = absolute_url(reverse("billing:scope_check_queue", kwargs={"org": slug}))
        ticket_url = absolute_url(
            reverse("tickets:ticket_detail", kwargs={"org": slug, "number": ticket.number})
        )
        notify(
            to=[manager.user.email],
            subject=f"[{ticket.organization.name}] Scope check on #{ticket.number}: {ticket.title}",
            body=(
                f"{actor.user.get_full_name() or actor.user.username} asks for approval before "
                f"spending more time on #{ticket.number} for {ticket.client.name}.\n\n"
                f"Estimate: {hm(check.estimate_minutes)}\nWhy: {check.reason}\n"
                f"Proposed billing: {check.get_bill_as_display().lower()}.\n\n"
                f"Approve, reject or ask the client in your scope-check queue:\n{queue}\n\n"
                f"The ticket: {ticket_url}"
            ),
        )
    return check
