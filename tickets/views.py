"""Ticket pages: list, new ticket, ticket page with its work, logging time,
changing status/priority/assignee. htmx requests get the named partial the
same view renders in full otherwise (one access check for both)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from billing import services as billing_services
from billing.ticket_page import TEMPLATE as TICKET_PAGE
from billing.ticket_page import (
    after_change_context,
    asked_before,
    log_time_form,
    status_context,
    ticket_page_context,
    time_context,
)
from msops.forms import add_service_errors
from msops.fragments import fragment_key
from msops.htmx import htmx_template, render_local
from msops.tenancy.models import Role
from msops.tenancy.roles import MANAGERS, require_role

from . import selectors, services
from .forms import TicketFilterForm, TicketForm, TicketUpdateForm
from .models import Ticket, TimeEntry
from .selectors import ticket_sort_key
from .services import TICKET_WRITERS, TicketConflict

PAGE_SIZE = 25
TEMPLATE_LIST = "tickets/ticket_list.html"
TEMPLATE_DETAIL = TICKET_PAGE
TEMPLATE_FORM = "tickets/ticket_form.html"

COLUMNS = [
    ("number", "#"),
    ("title", "Title"),
    ("client", "Client"),
    ("status", "Status"),
    ("priority", "Priority"),
    ("opened_at", "Opened"),
    ("logged_minutes", "Logged"),
]


def _ticket_or_404(request: HttpRequest, pk: int) -> Ticket:
    try:
        return selectors.ticket_detail(organization=request.organization, pk=pk)
    except Ticket.DoesNotExist:
        raise Http404("No such ticket.") from None


def _can_write(membership) -> bool:
    return membership.role in TICKET_WRITERS


# --- list -------------------------------------------------------------------
def _sort_columns(sort: str) -> list[dict]:
    columns = []
    for key, label in COLUMNS:
        current = sort.lstrip("-") == key
        descending = sort.startswith("-")
        columns.append(
            {
                "key": key,
                "label": label,
                "next": f"-{key}" if current and not descending else key,
                "aria_sort": ("descending" if descending else "ascending") if current else "",
            }
        )
    return columns


def _rows_key(request: HttpRequest, tickets) -> str:
    """The rows' fragment key: every value a row of the list shows."""
    return fragment_key(
        request,
        tuple(
            (
                ticket.pk,
                ticket.number,
                ticket.title,
                ticket.waits_for_decision,
                ticket.client.name,
                ticket.status,
                ticket.priority,
                ticket.opened_at,
                ticket.logged_minutes,
                ticket.request_type.name,
                ticket.assignee_id
                and (ticket.assignee.user.get_full_name(), ticket.assignee.user.username),
            )
            for ticket in tickets
        ),
    )


@require_GET
def ticket_list(request: HttpRequest, org: str) -> HttpResponse:
    membership = require_role(request)
    organization = request.organization
    form = TicketFilterForm(request.GET or None, organization=organization)
    filters: dict = {}
    if form.is_bound:
        form.is_valid()  # invalid filters are shown with their error and ignored
        filters = form.filters()
        if form.cleaned_data.get("mine"):
            filters["assignee"] = membership
        if form.cleaned_data.get("my_clients"):
            filters["account_manager"] = membership
        if form.cleaned_data.get("mine_or_opened"):
            filters["mine_or_opened"] = membership
    sort = ticket_sort_key(request.GET.get("sort"))
    tickets = selectors.ticket_list(organization=organization, ordering=sort, **filters)
    page = Paginator(tickets, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "tickets": page.object_list,
        "rows_key": _rows_key(request, page.object_list),
        "sort": sort,
        "columns": _sort_columns(sort),
        "can_write": _can_write(membership),
        "mine": bool(filters.get("assignee") == membership),
    }
    return render_local(request, htmx_template(request, TEMPLATE_LIST, "ticket-results"), context)


# --- create -----------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def ticket_create(request: HttpRequest, org: str) -> HttpResponse:
    membership = require_role(request, *TICKET_WRITERS)
    organization = request.organization
    # A developer's new ticket is theirs unless they choose otherwise.
    mine = {"assignee": membership.pk} if membership.role == Role.DEVELOPER else None
    form = TicketForm(request.POST or None, organization=organization, initial=mine)
    if request.method == "POST" and form.is_valid():
        try:
            ticket = services.ticket_open(
                organization=organization, opened_by=membership, **form.cleaned_data
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Ticket #{ticket.number} opened.")
            return redirect("tickets:ticket_detail", org=org, number=ticket.number)
    template = htmx_template(request, TEMPLATE_FORM, "ticket-form")
    return render_local(request, template, {"form": form})


# --- detail -----------------------------------------------------------------
@require_GET
def ticket_detail(request: HttpRequest, org: str, number: int) -> HttpResponse:
    require_role(request)
    try:
        ticket = selectors.ticket_detail(organization=request.organization, number=number)
    except Ticket.DoesNotExist:
        raise Http404(f"No ticket #{number} in this practice.") from None
    return render_local(request, TEMPLATE_DETAIL, ticket_page_context(request, ticket))


@require_GET
def ticket_by_id(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """A link by database id goes to the ticket's page by number."""
    require_role(request)
    ticket = _ticket_or_404(request, pk)
    return redirect("tickets:ticket_detail", org=org, number=ticket.number, permanent=True)


@require_POST
def ticket_log_time(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    membership = require_role(request)
    ticket = _ticket_or_404(request, pk)
    if not _can_write(membership):
        raise PermissionDenied("Your role in this organization may not log time.")
    form = log_time_form(request.organization, request.POST)
    asked = asked_before(request, ticket)
    logged = None
    if form.is_valid():
        try:
            logged = billing_services.time_entry_log(
                ticket=ticket,
                person=membership,
                work_date=form.cleaned_data["work_date"],
                minutes=form.cleaned_data["minutes"],
                notes=form.cleaned_data["notes"],
                idempotency_key=form.cleaned_data["idempotency_key"],
                date_reason=form.cleaned_data["date_reason"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
    if logged is not None:
        what = "was already logged" if logged.replayed else "logged"
        messages.success(request, f"{logged.entry.minutes} min on {logged.entry.work_date} {what}.")
        if not request.htmx:
            return redirect("tickets:ticket_detail", org=org, number=ticket.number)
        ticket = _ticket_or_404(request, pk)  # the new total
        form = log_time_form(request.organization)
        form.initial["work_date"] = logged.entry.work_date
    if request.htmx:
        context = {
            **time_context(request, ticket, form),
            **after_change_context(request, ticket, asked_before=asked),
        }
        return render_local(request, TEMPLATE_DETAIL + "#time-entries", context)
    return render_local(
        request, TEMPLATE_DETAIL, ticket_page_context(request, ticket, log_form=form)
    )


@require_POST
def ticket_update(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    membership = require_role(request)
    ticket = _ticket_or_404(request, pk)
    if not _can_write(membership):
        raise PermissionDenied("Your role in this organization may not change tickets.")
    form = TicketUpdateForm(
        request.POST, organization=request.organization, keep_assignee=ticket.assignee_id
    )
    asked = asked_before(request, ticket)
    conflict = None
    status = 200
    if form.is_valid():
        data = dict(form.cleaned_data)
        version = data.pop("version")
        try:
            ticket = services.ticket_update(
                ticket=ticket, actor=membership, version=version, **data
            )
        except TicketConflict as error:
            ticket = error.current
            conflict = error
            status = 409
            form = TicketUpdateForm.for_ticket(ticket, organization=request.organization)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Ticket #{ticket.number} saved.")
            if not request.htmx:
                return redirect("tickets:ticket_detail", org=org, number=ticket.number)
            form = TicketUpdateForm.for_ticket(ticket, organization=request.organization)
    if request.htmx:
        # htmx swaps only 2xx answers: the conflict is explained in the partial.
        context = {
            **status_context(request, ticket, form, conflict),
            **after_change_context(request, ticket, asked_before=asked),
        }
        return render_local(request, TEMPLATE_DETAIL + "#ticket-status", context)
    context = ticket_page_context(request, ticket, update_form=form, conflict=conflict)
    return render_local(request, TEMPLATE_DETAIL, context, status=status)


@require_POST
def time_entry_delete(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    membership = require_role(request)
    try:
        entry = selectors.time_entry_detail(organization=request.organization, pk=pk)
    except TimeEntry.DoesNotExist:
        raise Http404("No such time entry.") from None
    if not _can_write(membership) or (
        membership.role not in MANAGERS and entry.person_id != membership.pk
    ):
        raise PermissionDenied("You may delete only your own time entries.")
    asked = asked_before(request, entry.ticket)
    try:
        billing_services.time_entry_remove(entry=entry)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Removed {entry.minutes} min on {entry.work_date}.")
    if not request.htmx:
        return redirect("tickets:ticket_detail", org=org, number=entry.ticket.number)
    ticket = _ticket_or_404(request, entry.ticket_id)
    context = {
        **time_context(request, ticket),
        **after_change_context(request, ticket, asked_before=asked),
    }
    return render_local(request, TEMPLATE_DETAIL + "#time-entries", context)


__all__ = [
    "ticket_by_id",
    "ticket_create",
    "ticket_detail",
    "ticket_list",
    "ticket_log_time",
    "ticket_update",
    "time_entry_delete",
]
