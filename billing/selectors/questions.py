"""The question a ticket asks, in one line with its numbers ("1:30 logged vs
about 1:00 — still included?"): the ticket page's prompt and the developer's
home say it the same way."""

from clients.rules import AppliedRule
from tickets.models import BillingMoment, Classification, Ticket


def _hm(minutes: int | None) -> str:
    minutes = int(minutes or 0)
    return f"{minutes // 60}:{minutes % 60:02d}"


def _note(moment: BillingMoment) -> str:
    """The note someone wrote when raising the moment, if it is not the
    default sentence (billing.services.moments)."""
    note = (moment.detail or "").strip()
    defaults = ("Flagged as outside normal support.", "The client asked for a change, not a fix.")
    return f" ({note})" if note and note not in defaults else ""


def moment_question(moment: BillingMoment, ticket: Ticket, rule: AppliedRule | None = None) -> str:
    """What ``moment`` (open, on ``ticket``) asks. With the rule in force the
    opening question names its suggestion; without it (a list of many
    tickets) it asks plainly."""
    Kind = BillingMoment.Kind
    logged = _hm(ticket.logged_minutes)
    if ticket.classification:
        still = f"still {ticket.get_classification_display().lower()}?"
    else:
        still = "what is this work?"
    match moment.kind:
        case Kind.EXPECTED_TIME_PASSED:
            expected = moment.threshold_minutes or (rule.expected_minutes if rule else None)
            return f"{logged} logged vs about {_hm(expected)} — {still}"
        case Kind.APPROVAL_THRESHOLD_PASSED:
            threshold = moment.threshold_minutes or (
                rule.approval_threshold_minutes if rule else None
            )
            return f"{logged} logged, past the approval threshold of {_hm(threshold)} — ask for approval?"
        case Kind.ESTIMATE_PASSED:
            return f"{logged} logged, past the approved estimate — ask for more?"
        case Kind.OUT_OF_SCOPE:
            return (
                f"Flagged as outside normal support{_note(moment)} — billable, or ask for approval?"
            )
        case Kind.CHANGE_REQUEST:
            return f"The client asked for a change{_note(moment)} — billable, or ask for approval?"
        case Kind.PHASE_CHANGE:
            return f"Moved to implementation — {still}"
        case Kind.REQUEST_TYPE_CHANGED:
            return f"Request type now {ticket.request_type.name} — {still}"
        case Kind.RECURRING_ISSUE:
            return f"A recurring issue — {still}"
    if rule is None:
        return "What is this work?" + (f" The rule: {moment.detail}" if moment.detail else "")
    suggested = Classification(rule.suggested_classification).label.lower()
    return f"New {ticket.request_type.name} ticket — {suggested}, as the rule suggests?"
