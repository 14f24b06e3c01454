"""What finance does about a pre-invoice exception, inline: classify the
time, write it off with a reason, or resolve a flag — each through the
service that owns it, refused once the period is locked."""

from django.core.exceptions import ValidationError

from msops.tenancy.models import Membership
from msops.tenancy.roles import FINANCE
from tickets.models import Classification, Ticket

from ..models import BillingDecision, BillingPeriod, ExceptionFlag
from ._common import require_role
from .decisions import decision_record
from .periods import PeriodLocked
from .review import flag_resolve


def _check(period: BillingPeriod, actor: Membership, ticket: Ticket | None) -> None:
    require_role(actor, FINANCE, period.organization_id)
    if period.is_closed:
        raise PeriodLocked(period.client, period.month, "status")
    if ticket is not None and (
        ticket.organization_id != period.organization_id or ticket.client_id != period.client_id
    ):
        raise ValidationError({"ticket": "The ticket is not this client's."})


def exception_classify(
    *,
    period: BillingPeriod,
    ticket: Ticket,
    actor: Membership,
    classification: str,
    reason: str = "",
) -> BillingDecision:
    """Give the ticket's waiting (or unclear) time a clear meaning."""
    _check(period, actor, ticket)
    if classification not in (Classification.INCLUDED, Classification.BILLABLE):
        raise ValidationError({"classification": "Finance classifies as included or billable."})
    current = Ticket.objects.get(organization=ticket.organization_id, pk=ticket.pk)
    return decision_record(
        ticket=current,
        actor=actor,
        classification=classification,
        version=current.version,
        reason=reason,
        as_finance=True,
    )


def exception_write_off(
    *, period: BillingPeriod, ticket: Ticket, actor: Membership, reason: str
) -> BillingDecision:
    """Write the ticket's waiting (or unclear) time off, with a reason."""
    _check(period, actor, ticket)
    if not (reason or "").strip():
        raise ValidationError({"reason": "A write-off needs a reason."})
    current = Ticket.objects.get(organization=ticket.organization_id, pk=ticket.pk)
    return decision_record(
        ticket=current,
        actor=actor,
        classification=Classification.BILLABLE,
        version=current.version,
        reason=reason,
        write_off=True,
        as_finance=True,
    )


def exception_resolve_flag(
    *, period: BillingPeriod, flag: ExceptionFlag, actor: Membership, note: str
) -> ExceptionFlag:
    """Accept what a flag pointed at (e.g. bill work outside any contract at
    the default rate), with a note."""
    _check(period, actor, None)
    if flag.organization_id != period.organization_id or flag.client_id != period.client_id:
        raise ValidationError({"flag": "The flag is not this client's."})
    if not (note or "").strip():
        raise ValidationError({"note": "Say why the flag is settled."})
    return flag_resolve(flag=flag, actor=actor, note=note)
