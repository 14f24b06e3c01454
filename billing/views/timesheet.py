"""A person's week of time: the timesheet page and its cells.

- ``?week=2026-W49`` chooses the week (the practice's own, see
  billing.selectors.timesheet); none: this week; not a week: 404.
- Everyone sees their own sheet. Account managers, admins and finance may
  open another person's with ``?person=<membership id>`` (read only);
  a developer asking for someone else's gets a 403, an id that is nobody
  of the practice a 404.
- Editing a cell (one's own sheet, people who log time) sets that
  ticket-day's total through billing.services.timesheet_cell_set: the answer
  is the cell (with the service's message beside it when refused) and, out of
  band, the row's total and the sheet's totals. Without htmx: back to the
  week with a message.
"""

import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from msops.calendar import FIRST_YEAR, LAST_YEAR
from msops.display import member_name
from msops.htmx import render_local
from msops.tenancy.models import Membership
from msops.tenancy.roles import FINANCE, MANAGERS, require_role
from tickets.forms import parse_minutes
from tickets.services import TICKET_WRITERS

from ..selectors.timesheet import (
    Timesheet,
    Week,
    timesheet,
    timesheet_person_choices,
    timesheet_ticket_choices,
    timesheet_tickets,
    week_of,
    week_parse,
)
from ..services import timesheet_cell_set

TEMPLATE = "billing/timesheet.html"
# Who may open another person's timesheet (read only).
READS_OTHERS = MANAGERS | FINANCE


def _person(request: HttpRequest, raw: str | None) -> Membership:
    """Whose sheet: one's own, or (for managers and finance) the one asked for."""
    membership = request.membership
    if not raw:
        return membership
    try:
        pk = int(raw)
    except ValueError:
        raise Http404("No such person.") from None
    if pk == membership.pk:
        return membership
    if membership.role not in READS_OTHERS:
        raise PermissionDenied("You may see only your own timesheet.")
    person = timesheet_person_choices(organization=request.organization).filter(pk=pk).first()
    if person is None:
        raise Http404("No such person in this practice.")
    return person


def _week(request: HttpRequest, raw: str | None) -> Week:
    week = week_parse(request.organization, raw)
    if week is None:
        raise Http404("Not a week: give it as 2026-W49.")
    return week


def _ids(values: list[str]) -> list[int]:
    return [int(value) for value in values if value.strip().isdigit()][:20]


def sheet_url(org: str, week: Week, person: Membership, membership: Membership, **extra) -> str:
    query = {"week": week.label}
    if person.pk != membership.pk:
        query["person"] = person.pk
    query.update(extra)
    return f"{reverse('billing:timesheet', kwargs={'org': org})}?{urlencode(query, doseq=True)}"


def _context(
    request: HttpRequest, org: str, sheet: Timesheet, *, added: list[int], add_error: str = ""
) -> dict:
    membership = request.membership
    person = sheet.person
    own = person.pk == membership.pk
    editable = own and membership.role in TICKET_WRITERS
    week = sheet.week
    return {
        "sheet": sheet,
        "person_name": member_name(person),
        "own": own,
        "editable": editable,
        "people": (
            timesheet_person_choices(organization=request.organization)
            if membership.role in READS_OTHERS
            else None
        ),
        "ticket_choices": (
            timesheet_ticket_choices(organization=request.organization, person=person)
            if editable
            else ()
        ),
        "added": [pk for pk in added if (row := sheet.row(pk)) is not None and not row.total],
        "add_error": add_error,
        "previous_url": sheet_url(org, week.previous, person, membership),
        "next_url": sheet_url(org, week.next, person, membership),
        "current_url": sheet_url(org, week_parse(request.organization, None), person, membership),
    }


@require_GET
def timesheet_page(request: HttpRequest, org: str) -> HttpResponse:
    require_role(request)
    person = _person(request, request.GET.get("person"))
    week = _week(request, request.GET.get("week"))
    added, add_error = _ids(request.GET.getlist("add")), ""
    number = request.GET.get("number", "").strip().lstrip("#")
    numbers = []
    if number:
        if number.isdigit():
            numbers = [int(number)]
        else:
            add_error = "Give the ticket's number, e.g. 12."
    extra = (
        list(timesheet_tickets(organization=request.organization, ids=added, numbers=numbers))
        if person.pk == request.membership.pk and (added or numbers)
        else []
    )
    if numbers and not any(ticket.number == numbers[0] for ticket in extra):
        add_error = f"No ticket #{numbers[0]} in this practice."
    added = [ticket.pk for ticket in extra]
    sheet = timesheet(organization=request.organization, person=person, week=week,
                      extra_tickets=extra)  # fmt: skip
    return render_local(
        request, TEMPLATE, _context(request, org, sheet, added=added, add_error=add_error)
    )


@require_POST
def timesheet_cell(request: HttpRequest, org: str) -> HttpResponse:
    """Set one ticket-day of my own sheet: ``ticket`` (id), ``day``
    (YYYY-MM-DD), ``minutes`` (90, 1:30; 0 or empty removes)."""
    membership = require_role(request, *TICKET_WRITERS)
    try:
        day = datetime.date.fromisoformat(request.POST.get("day", ""))
        ticket_id = int(request.POST.get("ticket", ""))
    except ValueError:
        return HttpResponseBadRequest("Give the cell's ticket and day.")
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        return HttpResponseBadRequest("Give a day between 1900 and 9998.")
    ticket = (
        timesheet_tickets(organization=request.organization, ids=[ticket_id]).select_related(
            "organization"
        )
    ).first()
    if ticket is None:
        raise Http404("No such ticket.")
    typed = request.POST.get("minutes", "").strip()
    error = ""
    try:
        minutes = parse_minutes(typed) if typed else 0
        timesheet_cell_set(ticket=ticket, person=membership, work_date=day, minutes=minutes)
    except ValidationError as refusal:
        error = " ".join(refusal.messages)
    week = week_of(request.organization, day)
    if not request.htmx:
        if error:
            messages.error(request, f"#{ticket.number} on {day:%a %d %b}: {error}")
        return redirect(sheet_url(org, week, membership, membership, add=ticket.pk))
    sheet = timesheet(organization=request.organization, person=membership, week=week,
                      extra_tickets=[ticket])  # fmt: skip
    row = sheet.row(ticket.pk)
    context = {
        **_context(request, org, sheet, added=[ticket.pk]),
        "row": row,
        "cell": next(cell for cell in row.cells if cell.day == day),
        "cell_error": error,
        "cell_value": typed if error else None,
        "oob": True,
    }
    return render_local(request, f"{TEMPLATE}#cell-answer", context)
