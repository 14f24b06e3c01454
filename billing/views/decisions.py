"""Billing decisions in the browser: the developer's prompt on the ticket page
and its actions, work logged after the fact, and a client's decision log.

Views parse input and call billing.services (and tickets.services for the
phase change); every rule lives there. htmx requests get the part of the page
they swap; plain form posts are redirected (or shown the page with the errors).

- deciding, flagging and moving to implementation: developers, account
  managers and admins (finance reads the ticket page only: 403);
- the decision log: every member.

The scope-check queue is in scope_checks.py, the client's page in client_link.py.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from msops.forms import add_service_errors
from msops.htmx import htmx_template, render_local
from msops.tenancy.roles import require_role
from msops.timezones import organization_today
from tickets import selectors as ticket_selectors
from tickets.models import Classification, Ticket
from tickets.services import ticket_update

from .. import ticket_page
from ..forms import (
    AfterTheFactForm,
    DecisionForm,
    MoveToImplementationForm,
    ReclassifyForm,
    TicketNoteForm,
)
from ..models import DecisionLogEntry, ScopeCheck
from ..selectors.decisions import decision_log_client, decision_log_list
from ..services import (
    DECIDERS,
    ScopeCheckRequest,
    TicketConflict,
    decision_record,
    entries_reclassify,
    ticket_mark_change_request,
    ticket_mark_out_of_scope,
    work_log_after_the_fact,
)

PROMPT_RESPONSE = "billing/partials/ticket-prompt-response.html"
AFTER_THE_FACT = "billing/after_the_fact.html"
DECISION_LOG = "billing/decision_log.html"
PAGE_SIZE = 50


def _ticket_or_404(request: HttpRequest, pk: int) -> Ticket:
    try:
        return ticket_selectors.ticket_detail(organization=request.organization, pk=pk)
    except Ticket.DoesNotExist:
        raise Http404("No such ticket.") from None


def _ticket_url(org: str, ticket: Ticket) -> str:
    return reverse("tickets:ticket_detail", kwargs={"org": org, "number": ticket.number})


# --- the developer's prompt on the ticket page --------------------------------------
def _prompt_answer(
    request: HttpRequest, org: str, ticket: Ticket, *, failed: bool = False, **parts
) -> HttpResponse:
    """htmx: the prompt, with the parts of the page the change touched swapped
    out of band (status and version, time entries' billing, the rule box, the
    waiting banner). A plain post: back to the ticket page, or the page with
    the errors when it failed."""
    if not request.htmx:
        if not failed:
            return redirect(_ticket_url(org, ticket))
        status = 409 if parts.get("prompt_conflict") else 200
        context = ticket_page.ticket_page_context(request, ticket, **parts)
        return render_local(request, ticket_page.TEMPLATE, context, status=status)
    context = {
        **ticket_page.ticket_page_parts(request, ticket),
        **ticket_page.prompt_context(request, ticket, **parts),
    }
    return render_local(request, PROMPT_RESPONSE, context)


@require_POST
def ticket_decide(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """One click: included / billable / needs approval / unclear, with the
    reason, estimate and explanation the service asks for."""
    membership = require_role(request, *DECIDERS)
    ticket = _ticket_or_404(request, pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return _prompt_answer(request, org, ticket, failed=True, decision_form=form)
    data = form.cleaned_data
    scope_check = None
    if data["classification"] == Classification.NEEDS_APPROVAL:
        scope_check = ScopeCheckRequest(
            estimate_minutes=data["estimate_minutes"] or 0,
            client_explanation=data["client_explanation"],
            bill_as=data["bill_as"] or ScopeCheck.BillAs.ACTUAL,
        )
    try:
        decision = decision_record(
            ticket=ticket,
            actor=membership,
            classification=data["classification"],
            version=data["version"],
            reason=data["reason"],
            write_off=data["write_off"],
            client_exception=data["client_exception"],
            scope_check=scope_check,
        )
    except TicketConflict as conflict:
        # Nothing saved: the current state, and the form as the user typed it.
        ticket = _ticket_or_404(request, pk)
        return _prompt_answer(
            request, org, ticket, failed=True, decision_form=form, prompt_conflict=conflict
        )
    except ValidationError as error:
        add_service_errors(form, error)
        return _prompt_answer(request, org, ticket, failed=True, decision_form=form)
    text = f"Decided: {decision.get_classification_display().lower()}."
    if decision.classification == Classification.NEEDS_APPROVAL:
        text += " The account manager has been asked to approve."
    messages.success(request, text)
    return _prompt_answer(request, org, _ticket_or_404(request, pk))


@require_POST
def ticket_reclassify(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """Reclassify named earlier entries of the ticket, with a reason (the one
    way to change meaning an earlier decision gave). Back to the ticket page,
    with what was done or what is missing."""
    membership = require_role(request, *DECIDERS)
    ticket = _ticket_or_404(request, pk)
    entries = list(
        ticket_selectors.time_entry_list(organization=request.organization, ticket=ticket)
    )
    form = ReclassifyForm(request.POST, entries=entries)
    errors: list[str] = []
    if form.is_valid():
        data = form.cleaned_data
        try:
            entries_reclassify(
                ticket=ticket,
                actor=membership,
                entries=data["entries"],
                classification=data["classification"],
                reason=data["reason"],
                version=data["version"],
                write_off=data["write_off"],
            )
        except TicketConflict:
            errors.append("The ticket changed meanwhile: check it and reclassify again.")
        except ValidationError as error:
            errors += [m for messages_ in error.message_dict.values() for m in messages_]
        else:
            messages.success(request, f"Reclassified {len(data['entries'])} entries.")
    else:
        errors += [f"{name}: {m}" for name, field in form.errors.items() for m in field]
    if errors:
        messages.error(request, "Nothing was reclassified. " + " ".join(errors))
    return redirect(_ticket_url(org, ticket) + "#time-entries")


def _note_action(request: HttpRequest, org: str, pk: int, *, prefix: str, service, done: str):
    membership = require_role(request, *DECIDERS)
    ticket = _ticket_or_404(request, pk)
    form = TicketNoteForm(request.POST, prefix=prefix)
    failed = True
    if form.is_valid():
        try:
            service(ticket=ticket, actor=membership, note=form.cleaned_data["note"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            failed = False
            messages.success(request, done)
    key = (
        "out_of_scope_form" if prefix == ticket_page.OUT_OF_SCOPE_PREFIX else "change_request_form"
    )
    parts = {key: form} if failed else {}
    return _prompt_answer(request, org, _ticket_or_404(request, pk), failed=failed, **parts)


@require_POST
def ticket_out_of_scope(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """The developer says: this is outside normal support (a billing moment)."""
    return _note_action(
        request,
        org,
        pk,
        prefix=ticket_page.OUT_OF_SCOPE_PREFIX,
        service=ticket_mark_out_of_scope,
        done="Flagged as outside normal support: decide below what it is.",
    )


@require_POST
def ticket_change_request(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """The client asked for a change rather than a fix (a billing moment)."""
    return _note_action(
        request,
        org,
        pk,
        prefix=ticket_page.CHANGE_REQUEST_PREFIX,
        service=ticket_mark_change_request,
        done="Marked as a change the client asked for: decide below what it is.",
    )


@require_POST
def ticket_move_to_implementation(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """Investigation → implementation: the ticket service raises the moment."""
    membership = require_role(request, *DECIDERS)
    ticket = _ticket_or_404(request, pk)
    form = MoveToImplementationForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Reload the ticket and try again: its version was missing.")
        return _prompt_answer(request, org, ticket, failed=True)
    if ticket.phase == Ticket.Phase.IMPLEMENTATION:
        messages.info(request, "The work is already in implementation.")
        return _prompt_answer(request, org, ticket)
    try:
        ticket_update(
            ticket=ticket,
            actor=membership,
            version=form.cleaned_data["version"],
            phase=Ticket.Phase.IMPLEMENTATION,
        )
    except TicketConflict as conflict:
        return _prompt_answer(
            request, org, _ticket_or_404(request, pk), failed=True, prompt_conflict=conflict
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return _prompt_answer(request, org, ticket, failed=True)
    messages.success(request, "Moved to implementation: decide below what the work is now.")
    return _prompt_answer(request, org, _ticket_or_404(request, pk))


# --- work after the fact -------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def after_the_fact(request: HttpRequest, org: str) -> HttpResponse:
    """“I already did it”: client, request type, what was done, minutes and
    how it came in → the ticket, its time entry and its first decision."""
    membership = require_role(request, *DECIDERS)
    organization = request.organization
    form = AfterTheFactForm(
        request.POST or None,
        organization=organization,
        initial={"work_date": organization_today(organization)},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            decision = work_log_after_the_fact(
                organization=organization,
                actor=membership,
                client=data["client"],
                request_type=data["request_type"],
                title=data["title"],
                minutes=data["minutes"],
                work_date=data["work_date"],
                source=data["source"],
                classification=data["classification"],
                reason=data["reason"],
                notes=data["notes"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            ticket = decision.ticket
            messages.success(
                request,
                f"Ticket #{ticket.number} logged with {data['minutes']} min, "
                f"{decision.get_classification_display().lower()}.",
            )
            return redirect(_ticket_url(org, ticket))
    template = htmx_template(request, AFTER_THE_FACT, "after-the-fact-form")
    return render_local(request, template, {"form": form})


# --- decision log ------------------------------------------------------------------
@require_GET
def decision_log(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """A client's recent unusual calls: overrides, write-offs, client
    exceptions, rejected and declined scope checks, with their reasons."""
    require_role(request)
    client = decision_log_client(organization=request.organization, pk=pk)
    if client is None:
        raise Http404("No such client.")
    kind = request.GET.get("kind", "")
    kind = kind if kind in DecisionLogEntry.Kind.values else ""
    entries = decision_log_list(organization=request.organization, client=client, kind=kind)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "client": client,
        "page": page,
        "entries": page.object_list,
        "kind": kind,
        "kinds": DecisionLogEntry.Kind.choices,
    }
    return render_local(
        request, htmx_template(request, DECISION_LOG, "decision-log-table"), context
    )
