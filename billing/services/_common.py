"""What the billing services share: who may decide and approve, and the
one derivation of a billing status from a decision and a rule."""

from django.core.exceptions import PermissionDenied, ValidationError

from clients.models import Treatment
from msops.tenancy.models import Membership, Role
from msops.tenancy.tasks import enqueue_for
from tickets.models import Classification, Ticket, TimeEntry

DECIDERS = frozenset({Role.DEVELOPER, Role.ACCOUNT_MANAGER, Role.ADMIN})
APPROVERS = frozenset({Role.ACCOUNT_MANAGER, Role.ADMIN})

Status = TimeEntry.BillingStatus

STATUS_FOR_CLASSIFICATION = {
    Classification.INCLUDED: Status.INCLUDED,
    Classification.BILLABLE: Status.BILLABLE,
    Classification.NEEDS_APPROVAL: Status.PENDING_APPROVAL,
    Classification.UNCLEAR: Status.UNCLEAR,
}


def require_role(actor: Membership, roles, organization_id: int) -> None:
    if actor is None or actor.organization_id != organization_id:
        raise ValidationError({"actor": "Only a member of this organization can do this."})
    if actor.role not in roles:
        raise PermissionDenied("Your role in this organization may not do this.")


def portion_status(*, decision, covered: bool, treatment: str) -> str:
    """THE billing status of minutes: from the decision that gave them meaning
    (None: still waiting) and the rule in force on their work date.

    Included only stands where something can include it. Work no contract
    covers, or excluded by the rule, is billable — unless the decision wrote
    it off, with its reason (never silently included). Included work that can
    be included draws from the allowance even under a decision that wrote
    off other, excludable work. Billable or unclear work written off is not
    billed."""
    if decision is None:
        return Status.UNDECIDED
    if decision.classification == Classification.INCLUDED:
        if covered and treatment != Treatment.EXCLUDED:
            return Status.INCLUDED
        return Status.NON_BILLABLE if decision.written_off else Status.BILLABLE
    if decision.written_off:
        return Status.NON_BILLABLE
    return STATUS_FOR_CLASSIFICATION[decision.classification]


def hm(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d} h"


def flags_check_soon(*, ticket: Ticket) -> None:
    """Check the ticket for exception flags once this transaction commits."""
    from ..tasks import flags_check_ticket_task  # tasks are a face over the services

    enqueue_for(flags_check_ticket_task, ticket.organization, ticket_id=ticket.pk)


def draft_run_soon(*, organization, run_id: int) -> None:
    """Queue the month's draft job once this transaction commits."""
    from ..tasks import draft_run_task  # tasks are a face over the services

    enqueue_for(draft_run_task, organization, run_id=run_id)
