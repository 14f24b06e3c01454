"""Billing decisions in the browser: the developer's prompt on the ticket page
and its actions, work logged after the fact, the account manager's scope-check
queue, a client's decision log, and the client's signed approval page.

Views parse input and call billing/services.py (and tickets.services for the
phase change); every rule lives there. htmx requests get the part of the page
they swap; plain form posts are redirected (or shown the page with the errors).

- deciding, flagging and moving to implementation: developers, account
  managers and admins (finance reads the ticket page only: 403);
- the scope-check queue and its actions: account managers and admins;
- the decision log: every member;
- the client's page: no login; the organization comes from the signed link.
"""

import datetime
import ipaddress

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from msops.tenancy.models import Organization
from msops.tenancy.roles import require_role
from msops.tenancy.scoping import activate_organization
from tickets import selectors as ticket_selectors
from tickets.models import Classification, Ticket
from tickets.services import organization_today, ticket_update

from .. import selectors
from ..forms import (
    AfterTheFactForm,
    AskClientForm,
    ClientAnswerForm,
    DecisionForm,
    MoveToImplementationForm,
    RejectForm,
    TicketNoteForm,
    add_service_errors,
)
from ..models import DecisionLogEntry, ScopeCheck
from ..services import (
    APPROVERS,
    DECIDERS,
    ClientLinkError,
    ScopeCheckRequest,
    TicketConflict,
    decision_record,
    link_organization_id,
    scope_check_approve,
    scope_check_ask_client,
    scope_check_client_answer,
    scope_check_from_link,
    scope_check_reject,
    ticket_mark_change_request,
    ticket_mark_out_of_scope,
    work_log_after_the_fact,
)

PROMPT_RESPONSE = "billing/partials/ticket-prompt-response.html"
AFTER_THE_FACT = "billing/after_the_fact.html"
QUEUE = "billing/scope_check_queue.html"
DECISION_LOG = "billing/decision_log.html"
CLIENT_PAGE = "billing/client_scope_check.html"
PAGE_SIZE = 50
OUT_OF_SCOPE_PREFIX = "out_of_scope"
CHANGE_REQUEST_PREFIX = "change_request"


def _render(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    """Render with times shown in the organization's timezone."""
    with timezone.override(request.organization.tzinfo):
        return render(request, template, context, status=status)


def _ticket_or_404(request: HttpRequest, pk: int) -> Ticket:
    try:
        return ticket_selectors.ticket_detail(organization=request.organization, pk=pk)
    except Ticket.DoesNotExist:
        raise Http404("No such ticket.") from None


def _ticket_url(org: str, ticket: Ticket) -> str:
    return reverse("tickets:ticket_detail", kwargs={"org": org, "pk": ticket.pk})


# --- the developer's prompt on the ticket page --------------------------------------
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
    ticket actions, the scope checks and the decision history. The ticket
    page (tickets.views.ticket_detail) and the actions below both use it."""
    rule = rule or ticket_selectors.ticket_rule(ticket=ticket)
    billing = selectors.ticket_billing(ticket=ticket, moments=moments)
    suggested = rule.suggested_classification
    form = decision_form or DecisionForm()
    return {
        "billing": billing,
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


def _prompt_answer(
    request: HttpRequest, org: str, ticket: Ticket, *, failed: bool = False, **parts
) -> HttpResponse:
    """htmx: the prompt, with the parts of the page the change touched swapped
    out of band (status and version, time entries' billing, the rule box, the
    waiting banner). A plain post: back to the ticket page, or the page with
    the errors when it failed."""
    from tickets import views as ticket_views  # the ticket page's own parts

    if not request.htmx:
        if not failed:
            return redirect(_ticket_url(org, ticket))
        status = 409 if parts.get("prompt_conflict") else 200
        return ticket_views.ticket_page_response(request, ticket, status=status, **parts)
    context = {
        **ticket_views.ticket_page_parts(request, ticket),
        **prompt_context(request, ticket, **parts),
    }
    return _render(request, PROMPT_RESPONSE, context)


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
    key = "out_of_scope_form" if prefix == OUT_OF_SCOPE_PREFIX else "change_request_form"
    parts = {key: form} if failed else {}
    return _prompt_answer(request, org, _ticket_or_404(request, pk), failed=failed, **parts)


@require_POST
def ticket_out_of_scope(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """The developer says: this is outside normal support (a billing moment)."""
    return _note_action(
        request,
        org,
        pk,
        prefix=OUT_OF_SCOPE_PREFIX,
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
        prefix=CHANGE_REQUEST_PREFIX,
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
    template = AFTER_THE_FACT + ("#after-the-fact-form" if request.htmx else "")
    return _render(request, template, {"form": form})


# --- scope checks ----------------------------------------------------------------
def _row(check: ScopeCheck, now: datetime.datetime, **forms) -> dict:
    prefix = f"check-{check.pk}"
    return {
        "check": check,
        "age": selectors.scope_check_age(check, now),
        "reject_form": forms.get("reject_form") or RejectForm(prefix=prefix),
        "ask_form": forms.get("ask_form")
        or AskClientForm(prefix=prefix, initial={"client_explanation": check.client_explanation}),
        "error": forms.get("error", ""),
        "done": forms.get("done", ""),
    }


@require_GET
def scope_check_queue(request: HttpRequest, org: str) -> HttpResponse:
    """Open scope checks, oldest first: an account manager's own clients',
    an admin's every one."""
    membership = require_role(request, *APPROVERS)
    checks = selectors.scope_check_queue(membership=membership)
    page = Paginator(checks, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    context = {
        "page": page,
        "rows": [_row(check, now) for check in page.object_list],
        "sees_all": membership.role in selectors.SEES_ALL_SCOPE_CHECKS,
    }
    return _render(request, QUEUE + ("#scope-check-table" if request.htmx else ""), context)


def _check_or_404(request: HttpRequest, pk: int) -> ScopeCheck:
    check = selectors.scope_check_get(organization=request.organization, pk=pk)
    if check is None:
        raise Http404("No such scope check.")
    return check


def _check_answer(
    request: HttpRequest, org: str, pk: int, *, failure: ValidationError | None = None, **row
) -> HttpResponse:
    """htmx: the check's row again, with the outcome or the errors in place
    (field errors on their field); a plain post: back to the queue with a
    message."""
    if not request.htmx:
        if failure is not None:
            messages.error(request, " ".join(failure.messages))
        elif row.get("done"):
            messages.success(request, row["done"])
        return redirect("billing:scope_check_queue", org=org)
    if failure is not None:
        form = row.get("reject_form") or row.get("ask_form")
        if form is not None:
            if not form.errors:  # the service's errors; the form's own are shown already
                add_service_errors(form, failure)
        else:
            row["error"] = " ".join(failure.messages)
    check = _check_or_404(request, pk)
    context = {"row": _row(check, timezone.now(), **row)}
    return _render(request, f"{QUEUE}#scope-check-row", context)


def _invalid(form) -> ValidationError:
    """A form's own errors, as the error of the action (already on the form)."""
    return ValidationError(
        [str(message) for messages in form.errors.values() for message in messages]
    )


@require_POST
def scope_check_approve_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    membership = require_role(request, *APPROVERS)
    check = _check_or_404(request, pk)
    try:
        scope_check_approve(check=check, actor=membership, note=request.POST.get("note", ""))
    except ValidationError as error:
        return _check_answer(request, org, pk, failure=error)
    return _check_answer(request, org, pk, done=f"Approved: #{check.ticket.number} is billable.")


@require_POST
def scope_check_reject_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    membership = require_role(request, *APPROVERS)
    check = _check_or_404(request, pk)
    form = RejectForm(request.POST, prefix=f"check-{pk}")
    if not form.is_valid():
        return _check_answer(request, org, pk, reject_form=form, failure=_invalid(form))
    try:
        scope_check_reject(check=check, actor=membership, note=form.cleaned_data["note"])
    except ValidationError as error:
        return _check_answer(request, org, pk, reject_form=form, failure=error)
    return _check_answer(request, org, pk, done=f"Rejected: #{check.ticket.number} stays included.")


@require_POST
def scope_check_ask_client_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    membership = require_role(request, *APPROVERS)
    check = _check_or_404(request, pk)
    form = AskClientForm(request.POST, prefix=f"check-{pk}")
    if not form.is_valid():
        return _check_answer(request, org, pk, ask_form=form, failure=_invalid(form))

    def link_url(token: str) -> str:
        return request.build_absolute_uri(
            reverse("public:client_scope_check", kwargs={"token": token})
        )

    try:
        scope_check_ask_client(
            check=check,
            actor=membership,
            client_email=form.cleaned_data["client_email"],
            client_explanation=form.cleaned_data["client_explanation"],
            link_url=link_url,
        )
    except ValidationError as error:
        return _check_answer(request, org, pk, ask_form=form, failure=error)
    return _check_answer(
        request, org, pk, done=f"Sent to {form.cleaned_data['client_email']}: waiting for them."
    )


# --- decision log ------------------------------------------------------------------
@require_GET
def decision_log(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """A client's recent unusual calls: overrides, write-offs, client
    exceptions, rejected and declined scope checks, with their reasons."""
    require_role(request)
    client = selectors.decision_log_client(organization=request.organization, pk=pk)
    if client is None:
        raise Http404("No such client.")
    kind = request.GET.get("kind", "")
    kind = kind if kind in DecisionLogEntry.Kind.values else ""
    entries = selectors.decision_log_list(
        organization=request.organization, client=client, kind=kind
    )
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "client": client,
        "page": page,
        "entries": page.object_list,
        "kind": kind,
        "kinds": DecisionLogEntry.Kind.choices,
    }
    return _render(request, DECISION_LOG + ("#decision-log-table" if request.htmx else ""), context)


# --- the client's page (no login) ------------------------------------------------------
LINK_STATUS = {
    ClientLinkError.INVALID: 404,
    ClientLinkError.EXPIRED: 410,
    ClientLinkError.USED: 410,
}


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    # The token never leaves in a Referer: "same-origin" (the site's policy)
    # keeps it here. ("no-referrer" would make browsers send Origin: null,
    # which fails the CSRF check of the answer form.)
    response["Referrer-Policy"] = "same-origin"
    return response


def _link_refused(request: HttpRequest, error: ClientLinkError) -> HttpResponse:
    """A friendly page that names no ticket and no organization."""
    context = {"link_error": str(error), "reason": error.reason}
    return render(request, CLIENT_PAGE, context, status=LINK_STATUS.get(error.reason, 404))


def _client_ip(request: HttpRequest) -> str | None:
    """The address that signed: behind ``TRUSTED_PROXY_HOPS`` proxies, the
    entry of X-Forwarded-For the nearest trusted proxy saw (entries further
    left are what the client claims, and are not trusted)."""
    hops = settings.TRUSTED_PROXY_HOPS
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [a for a in forwarded if a]
    address = (
        forwarded[-hops] if hops and len(forwarded) >= hops else request.META.get("REMOTE_ADDR")
    )
    try:
        return str(ipaddress.ip_address(address)) if address else None
    except ValueError:
        return None


def client_scope_check(request: HttpRequest, token: str) -> HttpResponse:
    """The client reads the change and the estimate in plain words and
    approves or declines it with their name. The organization comes from the
    signed link (signature checked) and the page runs inside its scope.
    Every answer, refusals included, is private: not cached, not indexed."""
    return _private(_client_scope_check_page(request, token))


@require_http_methods(["GET", "POST"])
def _client_scope_check_page(request: HttpRequest, token: str) -> HttpResponse:
    return _client_scope_check(request, token)


def _client_scope_check(request: HttpRequest, token: str) -> HttpResponse:
    try:
        organization_id = link_organization_id(token)
    except ClientLinkError as error:
        return _link_refused(request, error)
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return _link_refused(request, ClientLinkError("This link is not valid."))
    with activate_organization(organization), timezone.override(organization.tzinfo):
        try:
            check = scope_check_from_link(token=token)
        except ClientLinkError as error:
            return _link_refused(request, error)
        form = ClientAnswerForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                answered = scope_check_client_answer(
                    token=token,
                    approve=form.cleaned_data["answer"] == ClientAnswerForm.APPROVE,
                    name=form.cleaned_data["name"],
                    ip=_client_ip(request),
                )
            except ClientLinkError as error:
                return _link_refused(request, error)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                context = {"organization_name": organization.name, "answered": answered}
                return render(request, CLIENT_PAGE, context)
        context = {
            "organization_name": organization.name,
            "check": check,
            "form": form,
            "token": token,
        }
        return render(request, CLIENT_PAGE, context)
