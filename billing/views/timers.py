"""The timer on the ticket page: start (or switch), stop and log, discard.

Each action acts on the signed-in person's own timer only (a service takes
the person, never a timer id), and answers the timer box
(billing/partials/timer.html) to htmx, or redirects to the ticket page with a
message. Stopping (and switching, which stops the old timer) sends the
``time-logged`` event (``HX-Trigger``) so the page can refresh its time
entries. Developers, account managers and admins: finance does not log time
(403)."""

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from msops.htmx import render_local
from msops.tenancy.roles import require_role
from tickets import selectors as ticket_selectors
from tickets.models import Ticket
from tickets.services import TICKET_WRITERS, LoggedTime

from ..services import timer_discard, timer_start, timer_stop
from ..ticket_page import after_change_context, asked_before, time_context
from ..timer_page import timer_context

# The timer box, and when time was logged on the page's own ticket every part
# of the ticket page that changed, out of band.
RESPONSE = "billing/partials/timer-response.html"

TIME_LOGGED = "time-logged"


def _ticket_or_404(request: HttpRequest, pk: int) -> Ticket:
    try:
        return ticket_selectors.ticket_detail(organization=request.organization, pk=pk)
    except Ticket.DoesNotExist:
        raise Http404("No such ticket.") from None


def _hm(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"


def logged_notice(logged: LoggedTime) -> str:
    entry = logged.entry
    what = "was already logged" if logged.replayed else "logged"
    return f"{_hm(entry.minutes)} on #{entry.ticket.number} ({entry.work_date:%a %d %b}) {what}."


def _answer(
    request: HttpRequest,
    org: str,
    ticket: Ticket,
    *,
    error: str = "",
    notice: str = "",
    logged: LoggedTime | None = None,
    asked_before: frozenset[int] = frozenset(),
) -> HttpResponse:
    if not request.htmx:
        if error:
            messages.error(request, error)
        elif notice:
            messages.success(request, notice)
        return redirect("tickets:ticket_detail", org=org, number=ticket.number)
    context = timer_context(request, ticket, error=error, notice=notice)
    if logged is not None and logged.entry.ticket_id == ticket.pk:
        ticket = _ticket_or_404(request, ticket.pk)  # its new total
        context.update(time_context(request, ticket))  # with the ticket's new total
        context.update(after_change_context(request, ticket, asked_before=asked_before))
        context["page_changed"] = True
    response = render_local(request, RESPONSE, context)
    if logged is not None:
        entry = logged.entry
        response["HX-Trigger"] = json.dumps(
            {
                TIME_LOGGED: {
                    "ticket": entry.ticket_id,
                    "number": entry.ticket.number,
                    "entry": entry.pk,
                    "minutes": entry.minutes,
                }
            }
        )
    return response


def _message(error: ValidationError) -> str:
    return " ".join(error.messages)


@require_POST
def ticket_timer_start(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """Start my timer on this ticket; ``switch=1`` stops the one running
    elsewhere first (and logs its time)."""
    membership = require_role(request, *TICKET_WRITERS)
    ticket = _ticket_or_404(request, pk)
    asked = asked_before(request, ticket)
    try:
        started = timer_start(
            ticket=ticket,
            person=membership,
            switch=request.POST.get("switch") in {"1", "true", "on"},
            note=request.POST.get("note", ""),
        )
    except ValidationError as error:
        return _answer(request, org, ticket, error=_message(error))
    notice = f"Timer started on #{ticket.number}."
    if started.stopped is not None:
        notice = f"{logged_notice(started.stopped)} {notice}"
    return _answer(request, org, ticket, notice=notice, logged=started.stopped, asked_before=asked)


@require_POST
def ticket_timer_stop(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """Stop my timer (on this ticket or the one it runs on) and log its time."""
    membership = require_role(request, *TICKET_WRITERS)
    ticket = _ticket_or_404(request, pk)
    asked = asked_before(request, ticket)
    try:
        logged = timer_stop(person=membership, notes=request.POST.get("notes", ""))
    except ValidationError as error:
        return _answer(request, org, ticket, error=_message(error))
    notice = logged_notice(logged)
    return _answer(request, org, ticket, notice=notice, logged=logged, asked_before=asked)


@require_POST
def ticket_timer_discard(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """Throw my timer away: nothing is logged."""
    membership = require_role(request, *TICKET_WRITERS)
    ticket = _ticket_or_404(request, pk)
    discarded = timer_discard(person=membership)
    notice = "Timer discarded: nothing was logged." if discarded else "No timer was running."
    return _answer(request, org, ticket, notice=notice)
