"""Work logged after the fact: the real process under pressure. Work already
done (a direct message, a phone call) becomes a ticket, its time entry and its
first decision in one step, judged by the rule in force on the work date."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clients.models import Client, Priority, RequestType
from msops.limits import DATE_REASON_MAX
from msops.tenancy.models import Membership, Organization
from tickets.models import Classification
from tickets.selectors import ticket_rule
from tickets.services import ticket_open, validate_ticket_opening, validate_time

from ..models import BillingDecision
from ._common import DECIDERS, require_role
from .decisions import decision_record
from .time_entries import time_entry_log

NO_APPROVAL_AFTER_THE_FACT = (
    "Work already done can't wait for approval: choose billable, included or unclear, and say why."
)
# Why the entry's date may be before its ticket was opened (or outside every
# contract): this flow opens the ticket now for work already done.
LOGGED_AFTER_THE_FACT = "Logged after the fact: the ticket was opened for work already done."


def _date_reason(reason: str) -> str:
    """The entry's date reason: the flow's own, with the decision's reason
    when it fits."""
    reason = (reason or "").strip()
    with_reason = f"Logged after the fact: {reason}"
    return with_reason if reason and len(with_reason) <= DATE_REASON_MAX else LOGGED_AFTER_THE_FACT


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
    one step, judged by the rule in force on the work date. Without a
    classification the rule's suggestion is taken."""
    require_role(actor, DECIDERS, organization.pk)
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
            description=notes,
        ),
        lambda: validate_time(
            organization=organization, work_date=work_date, minutes=minutes, notes=notes
        ),
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
    time_entry_log(
        ticket=ticket,
        person=actor,
        work_date=work_date,
        minutes=minutes,
        notes=notes or title,
        date_reason=_date_reason(reason),
    )
    ticket.refresh_from_db()
    return decision_record(
        ticket=ticket,
        actor=actor,
        classification=classification,
        version=ticket.version,
        reason=reason,
    )
