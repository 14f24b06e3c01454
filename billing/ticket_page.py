"""The ticket page's context, assembled in one place: the ticket's status
box and time entries (tickets) and the developer's billing prompt (billing).

The ticket views (tickets/views.py) and the billing actions on the ticket
page (billing/views/decisions.py) both answer with it, so neither imports the
other's views. It reads through the selectors of both apps and builds the
forms the page shows; it decides nothing."""

import uuid
from dataclasses import dataclass

from django.db.models import Prefetch
from django.http import HttpRequest
from django.utils import timezone

from clients.rules import AppliedRule
from msops.tenancy.roles import MANAGERS
from msops.timezones import organization_today
from tickets import selectors as ticket_selectors
from tickets.forms import LogTimeForm, TicketUpdateForm
from tickets.models import BillingMoment, Classification, Ticket, TimeEntry
from tickets.services import TICKET_WRITERS, TicketConflict

from .forms import DecisionForm, TicketNoteForm
from .selectors.decisions import ticket_billing
from .selectors.questions import moment_question
from .selectors.time_entries import portion_list
from .services import DECIDERS, decision_rule
from .timer_page import timer_context

TEMPLATE = "tickets/ticket_detail.html"
OUT_OF_SCOPE_PREFIX = "out_of_scope"
CHANGE_REQUEST_PREFIX = "change_request"
# The prompt's forms as a failed billing action posted them.
PROMPT_PARTS = frozenset(
    {"decision_form", "prompt_conflict", "out_of_scope_form", "change_request_form"}
)


@dataclass(frozen=True)
class Question:
    """The question the ticket asks now, in one line with its numbers."""

    kind: str
    text: str


def ticket_question(
    *, ticket: Ticket, rule: AppliedRule, open_moments: list[BillingMoment]
) -> Question | None:
    """The newest open billing moment as the question it asks; ``None`` when
    nothing waits."""
    if not open_moments:
        return None
    moment = open_moments[-1]
    text = moment_question(moment, ticket, rule)
    if len(open_moments) > 1:
        text += f" ({len(open_moments)} moments wait)"
    return Question(kind=moment.kind, text=text)


def log_time_form(organization, data=None) -> LogTimeForm:
    """The "log time" form: today in the organization, and a fresh key so a
    double submit logs the time once."""
    return LogTimeForm(
        data,
        initial={"work_date": organization_today(organization), "idempotency_key": uuid.uuid4()},
    )


def time_entries(request: HttpRequest, ticket: Ticket) -> list[TimeEntry]:
    """The ticket's time entries with their portions (each minute's meaning
    and the decision behind it), each marked with whether this member may
    delete it."""
    membership = request.membership
    writes = membership.role in TICKET_WRITERS
    may_delete_any = membership.role in MANAGERS
    entries = list(
        ticket_selectors.time_entry_list(
            organization=request.organization, ticket=ticket
        ).prefetch_related(
            Prefetch("portions", queryset=portion_list(organization=request.organization))
        )
    )
    for entry in entries:
        entry.can_delete = (
            writes and not entry.locked and (may_delete_any or entry.person_id == membership.pk)
        )
    return entries


def time_context(request: HttpRequest, ticket: Ticket, log_form=None) -> dict:
    """The time entries part (``#time-entries``)."""
    return {
        "ticket": ticket,
        "entries": time_entries(request, ticket),
        "log_form": log_form or log_time_form(request.organization),
        "can_write": request.membership.role in TICKET_WRITERS,
    }


def status_context(request: HttpRequest, ticket: Ticket, update_form=None, conflict=None) -> dict:
    """The status box (``#ticket-status``)."""
    return {
        "ticket": ticket,
        "update_form": update_form
        or TicketUpdateForm.for_ticket(ticket, organization=request.organization),
        "conflict": conflict,
        "can_write": request.membership.role in TICKET_WRITERS,
        "now": timezone.now(),
    }


def prompt_context(
    request: HttpRequest,
    ticket: Ticket,
    *,
    rule=None,
    moments=None,
    decision_form: DecisionForm | None = None,
    prompt_conflict: TicketConflict | None = None,
    out_of_scope_form: TicketNoteForm | None = None,
    change_request_form: TicketNoteForm | None = None,
) -> dict:
    """What the prompt partial (billing/partials/ticket-prompt.html) shows:
    the open moments, the rule and its suggestion, the decision form, the
    ticket actions, the scope checks and the decision history."""
    rule = rule or decision_rule(ticket=ticket)
    billing = ticket_billing(ticket=ticket, moments=moments)
    suggested = rule.suggested_classification
    form = decision_form or DecisionForm()
    return {
        "billing": billing,
        "question": ticket_question(ticket=ticket, rule=rule, open_moments=billing.open_moments),
        "rule": rule,
        "suggested": suggested,
        "suggested_label": Classification(suggested).label,
        "classification_choices": [
            {"value": value, "label": label, "suggested": value == suggested}
            for value, label in Classification.choices
        ],
        "decision_form": form,
        "decision_conflict": prompt_conflict,
        "decide_open": bool(billing.open_moments) or not ticket.classification or form.is_bound,
        "out_of_scope_form": out_of_scope_form or TicketNoteForm(prefix=OUT_OF_SCOPE_PREFIX),
        "change_request_form": change_request_form or TicketNoteForm(prefix=CHANGE_REQUEST_PREFIX),
        "can_decide": request.membership.role in DECIDERS,
        "can_move_to_implementation": ticket.phase == Ticket.Phase.INVESTIGATION,
    }


def ticket_page_context(request: HttpRequest, ticket: Ticket, **parts) -> dict:
    """The whole ticket page. ``parts`` are forms as posted (``update_form``,
    ``conflict``, ``log_form`` and the prompt's PROMPT_PARTS) to show with
    their errors."""
    rule = decision_rule(ticket=ticket)  # the rule a decision now is made under
    moments = list(
        ticket_selectors.billing_moment_list(organization=request.organization, ticket=ticket)
    )
    return {
        **status_context(request, ticket, parts.get("update_form"), parts.get("conflict")),
        **time_context(request, ticket, parts.get("log_form")),
        **timer_context(request, ticket),
        "rule": rule,
        "moments": moments,
        # The developer's billing prompt (billing/partials/ticket-prompt.html).
        **prompt_context(
            request,
            ticket,
            rule=rule,
            moments=moments,
            **{key: value for key, value in parts.items() if key in PROMPT_PARTS},
        ),
    }


def ticket_page_parts(request: HttpRequest, ticket: Ticket) -> dict:
    """Every part of the page an action may change — header, status box,
    time entries, billing moments — for answers that swap them out of band."""
    return {
        **status_context(request, ticket),
        "entries": time_entries(request, ticket),
        "moments": list(
            ticket_selectors.billing_moment_list(organization=request.organization, ticket=ticket)
        ),
    }


def open_moment_ids(moments) -> frozenset[int]:
    return frozenset(m.pk for m in moments if m.status == BillingMoment.Status.OPEN)


def asked_before(request: HttpRequest, ticket: Ticket) -> frozenset[int]:
    """The ticket's open billing moments before an action, to tell whether it
    changed the question the page asks (:func:`after_change_context`). A
    plain form post redirects to the page: nothing to compare, no query."""
    if not request.htmx:
        return frozenset()
    return open_moment_ids(
        ticket_selectors.billing_moment_list(
            organization=request.organization, ticket=ticket, status=BillingMoment.Status.OPEN
        )
    )


def after_change_context(request: HttpRequest, ticket: Ticket, *, asked_before: frozenset) -> dict:
    """What an action outside the prompt (logging time, changing the status)
    swaps out of band besides its own part (tickets/partials/ticket-oob.html):
    the header, the billing moments, the navigation's counts, the messages —
    and the whole prompt when the question changed (a new moment opened or one
    was settled); otherwise the prompt keeps what is typed in it."""
    rule = decision_rule(ticket=ticket)
    moments = list(
        ticket_selectors.billing_moment_list(organization=request.organization, ticket=ticket)
    )
    context = {"rule": rule, "moments": moments, "now": timezone.now()}
    if open_moment_ids(moments) != asked_before:
        context["prompt_changed"] = True
        context.update(prompt_context(request, ticket, rule=rule, moments=moments))
    return context
