"""Billing moments a developer raises by hand: out of scope, change request."""

from django.db import transaction

from msops.tenancy.models import Membership
from tickets.models import BillingMoment, Ticket
from tickets.services import moment_raise

from ._common import DECIDERS, require_role


@transaction.atomic
def ticket_mark_out_of_scope(*, ticket: Ticket, actor: Membership, note: str = "") -> BillingMoment:
    """The developer says: this is outside normal support."""
    require_role(actor, DECIDERS, ticket.organization_id)
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
    require_role(actor, DECIDERS, ticket.organization_id)
    return moment_raise(
        ticket=ticket,
        kind=BillingMoment.Kind.CHANGE_REQUEST,
        detail=(note or "").strip() or "The client asked for a change, not a fix.",
        raised_by=actor,
    )
