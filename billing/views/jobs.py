"""Pages of what the jobs catch: the exception flags and the weekly ambiguity
review. Each view checks the role once and renders either the page or, for
htmx, the named partial of the same template.

- flags: every member reads; account managers, admins and finance resolve.
- review: account managers, admins and finance work it; admins rebuild it.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST

from msops.display import member_name
from msops.htmx import render_local
from msops.tenancy.roles import ADMINS, require_role
from msops.timezones import organization_week_start

from ..models import ExceptionFlag, ReviewItem, ReviewQueue
from ..selectors import flags as flag_selectors
from ..selectors import review as review_selectors
from ..selectors.review import REVIEWERS
from ..services.review import (
    flag_resolve,
    review_item_reassign,
    review_item_resolve,
    review_queue_build,
)

PAGE_SIZE = 50
NOTE_MAX = 2000
FLAG_TEMPLATE = "billing/flag_list.html"
REVIEW_TEMPLATE = "billing/review_detail.html"
FLAG_STATUSES = [("open", "Open"), ("resolved", "Resolved"), ("all", "Open and resolved")]
ITEM_STATUSES = FLAG_STATUSES


def _int(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _choice(value: str | None, choices, default: str = "") -> str:
    return value if value in {c[0] for c in choices} else default


def _note(request: HttpRequest) -> str:
    return (request.POST.get("note") or "").strip()[:NOTE_MAX]


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


# --- flags ------------------------------------------------------------------------
@require_GET
def flag_list(request: HttpRequest, org: str) -> HttpResponse:
    membership = require_role(request)
    organization = request.organization
    status = _choice(request.GET.get("status"), FLAG_STATUSES, "open")
    kind = _choice(request.GET.get("kind"), ExceptionFlag.Kind.choices)
    clients = list(flag_selectors.flag_client_choices(organization=organization))
    owners = list(flag_selectors.member_choices(organization=organization))
    client_id = _int(request.GET.get("client"))
    client_id = client_id if client_id in {c.pk for c in clients} else None
    owner = request.GET.get("owner", "")
    owner_id = membership.pk if owner == "me" else _int(owner)
    owner_id = owner_id if owner_id in {m.pk for m in owners} else None
    person_id = _int(request.GET.get("person"))  # whose time entries (the insights link here)
    person_id = person_id if person_id in {m.pk for m in owners} else None
    flags = flag_selectors.flag_list(
        organization=organization,
        kind=kind,
        status="" if status == "all" else status,
        client=client_id,
        owner=owner_id,
        person=person_id,
    )
    page = Paginator(flags, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "flags": page.object_list,
        "filters": {
            "status": status,
            "kind": kind,
            "client": client_id,
            "owner": "me" if owner == "me" and owner_id else owner_id,
            "person": person_id,
        },
        "statuses": FLAG_STATUSES,
        "kinds": ExceptionFlag.Kind.choices,
        "clients": clients,
        "owners": owners,
        "can_resolve": membership.role in REVIEWERS,
    }
    template = f"{FLAG_TEMPLATE}#flag-table" if request.htmx else FLAG_TEMPLATE
    return render_local(request, template, context)


@require_POST
def flag_resolve_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """Resolve with a note. htmx gets the flag's row back; a form post goes
    back to the flags page."""
    require_role(request, *REVIEWERS)
    flag = flag_selectors.flag_get(organization=request.organization, pk=pk)
    if flag is None:
        raise Http404("No such flag.")
    error = None
    try:
        flag_resolve(flag=flag, actor=request.membership, note=_note(request))
    except ValidationError as exc:
        error = _error_text(exc)
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, f"Flag resolved: {flag.get_kind_display()}.")
        return redirect("billing:flag_list", org=org)
    flag = flag_selectors.flag_get(organization=request.organization, pk=pk)
    context = {"flag": flag, "can_resolve": True, "row_error": error}
    return render_local(request, f"{FLAG_TEMPLATE}#flag-row", context)


# --- review -----------------------------------------------------------------------
def _review_context(request: HttpRequest, queue: ReviewQueue | None) -> dict:
    organization = request.organization
    membership = request.membership
    reviewers = list(review_selectors.reviewer_choices(organization=organization))
    status = _choice(request.GET.get("status"), ITEM_STATUSES, "open")
    kind = _choice(request.GET.get("kind"), ReviewItem.Kind.choices)
    owner = request.GET.get("owner", "")
    owner_id = membership.pk if owner == "me" else _int(owner)
    owner_id = owner_id if owner_id in {m.pk for m in reviewers} else None
    context = {
        "queue": queue,
        "week_start": queue.week_start if queue else organization_week_start(organization),
        "is_current": queue is None or queue.week_start == organization_week_start(organization),
        "filters": {
            "status": status,
            "kind": kind,
            "owner": "me" if owner == "me" and owner_id else owner_id,
        },
        "statuses": ITEM_STATUSES,
        "kinds": ReviewItem.Kind.choices,
        "reviewers": reviewers,
        "can_rebuild": membership.role in ADMINS,
        "page": None,
        "items": [],
        "counts": None,
    }
    if queue is not None:
        items = review_selectors.review_item_list(
            organization=organization,
            queue=queue,
            kind=kind,
            status="" if status == "all" else status,
            owner=owner_id,
        )
        page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
        context.update(
            page=page,
            items=page.object_list,
            counts=review_selectors.review_counts(queue=queue, membership=membership),
        )
    return context


def _review_page(request: HttpRequest, queue: ReviewQueue | None) -> HttpResponse:
    context = _review_context(request, queue)
    if request.htmx:
        counts = request.GET.get("part") == "counts" and queue is not None  # none to count yet
        part = "review-counts" if counts else "review-items"
        return render_local(request, f"{REVIEW_TEMPLATE}#{part}", context)
    context["past_queues"] = list(
        review_selectors.review_queue_list(organization=request.organization)[:12]
    )
    return render_local(request, REVIEW_TEMPLATE, context)


@require_GET
def review_current(request: HttpRequest, org: str) -> HttpResponse:
    """This week's review, in the organization's own week."""
    require_role(request, *REVIEWERS)
    queue = review_selectors.review_queue_current(organization=request.organization)
    return _review_page(request, queue)


@require_GET
def review_detail(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """Any week's review, by its queue."""
    require_role(request, *REVIEWERS)
    queue = review_selectors.review_queue_get(organization=request.organization, pk=pk)
    if queue is None:
        raise Http404("No such review.")
    return _review_page(request, queue)


@require_POST
def review_rebuild(request: HttpRequest, org: str) -> HttpResponse:
    """Admins: build this week's queue now (or top it up and settle what was
    resolved elsewhere)."""
    require_role(request, *ADMINS)
    result = review_queue_build(organization=request.organization)
    messages.success(
        request,
        f"Review for the week of {result.queue.week_start:%Y-%m-%d} rebuilt: "
        f"{result.created} new items.",
    )
    return redirect("billing:review_current", org=org)


def _item_or_404(request: HttpRequest, pk: int) -> ReviewItem:
    item = review_selectors.review_item_get(organization=request.organization, pk=pk)
    if item is None:
        raise Http404("No such review item.")
    return item


def _item_answer(
    request: HttpRequest, org: str, pk: int, *, done: str, error: str | None
) -> HttpResponse:
    """htmx: the item's row (and a signal for the counts to refresh); a form
    post: back to the item's week."""
    item = _item_or_404(request, pk)
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, done)
        return redirect("billing:review_detail", org=org, pk=item.queue_id)
    context = {
        "item": item,
        "reviewers": list(review_selectors.reviewer_choices(organization=request.organization)),
        "row_error": error,
    }
    response = render_local(request, f"{REVIEW_TEMPLATE}#review-item-row", context)
    if not error:
        response["HX-Trigger"] = "review-changed"
    return response


@require_POST
def review_item_resolve_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    require_role(request, *REVIEWERS)
    item = _item_or_404(request, pk)
    error = None
    try:
        review_item_resolve(item=item, actor=request.membership, note=_note(request))
    except ValidationError as exc:
        error = _error_text(exc)
    return _item_answer(request, org, pk, done="Item resolved.", error=error)


@require_POST
def review_item_reassign_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    require_role(request, *REVIEWERS)
    item = _item_or_404(request, pk)
    owner_id = _int(request.POST.get("owner"))
    owner = (
        flag_selectors.member_choices(organization=request.organization).filter(pk=owner_id).first()
        if owner_id
        else None
    )
    error = None
    if owner is None:
        error = "Choose who should own this item."
    else:
        try:
            review_item_reassign(item=item, actor=request.membership, owner=owner)
        except ValidationError as exc:
            error = _error_text(exc)
    done = f"Item given to {member_name(owner)}." if owner else ""
    return _item_answer(request, org, pk, done=done, error=error)
