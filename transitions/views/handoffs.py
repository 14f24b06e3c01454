"""Handoff pages: account managers and admins start a handoff, name each
line's new owner and complete it; receivers take what is given to them; the
handoff document is a print-friendly page and a Markdown download.

Every write goes through :mod:`transitions.handoffs`; a refusal is a message
(or a form error) and changes nothing."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from msops.display import member_name
from msops.forms import add_service_errors
from msops.htmx import htmx_template, render_local
from msops.tenancy.roles import MANAGERS, require_role
from transitions import handoffs
from transitions.forms import HandoffOwnerForm, HandoffStartForm
from transitions.models import Handoff, HandoffItem, ItemKind
from transitions.ownership import owned_without_client_count


def _detail_url(org: str, pk: int) -> str:
    return reverse("transitions:handoff_detail", kwargs={"org": org, "pk": pk})


def _handoff_or_404(request: HttpRequest, pk: int) -> Handoff:
    """A handoff the member may see: managers every one, others those they
    hand over or receive lines of."""
    handoff = (
        handoffs.handoff_list(organization=request.organization, viewer=request.membership)
        .filter(pk=pk)
        .first()
    )
    if handoff is None:
        raise Http404("No such handoff.")
    return handoff


@require_GET
def handoff_list_view(request: HttpRequest, org: str) -> HttpResponse:
    membership = require_role(request)
    rows = handoffs.handoff_list(organization=request.organization, viewer=membership)
    return render_local(
        request,
        "transitions/handoff_list.html",
        {"handoffs": rows, "can_manage": membership.role in MANAGERS},
    )


@require_http_methods(["GET", "POST"])
def handoff_create_view(request: HttpRequest, org: str) -> HttpResponse:
    membership = require_role(request, *MANAGERS)
    form = HandoffStartForm(
        request.POST or None,
        organization=request.organization,
        initial={"person": request.GET.get("person")},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            handoff = handoffs.handoff_start(
                organization=request.organization,
                person=data["person"],
                by=membership,
                clients=data["clients"],
                all_clients=data["all_clients"],
                note=data["note"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            count = handoff.items.count()
            messages.success(
                request,
                f"Handoff started: {count} open item{'s' if count != 1 else ''} to hand over.",
            )
            return redirect(_detail_url(org, handoff.pk))
    return render_local(request, "transitions/handoff_form.html", {"form": form})


def _detail_context(request: HttpRequest, handoff: Handoff) -> dict:
    membership = request.membership
    groups = handoffs.handoff_lines_by_client(handoff=handoff, viewer=membership)
    lines = [line for group in groups for line in group.lines]
    mine = [
        line
        for line in lines
        if line.new_owner_id == membership.pk
        and line.status == HandoffItem.Status.PENDING
        and line.acknowledged_at is None
    ]
    return {
        "handoff": handoff,
        "groups": groups,
        "clients": handoffs.handoff_clients(handoff=handoff),
        "can_manage": membership.role in MANAGERS and handoff.status == Handoff.Status.OPEN,
        "is_open": handoff.status == Handoff.Status.OPEN,
        "is_manager": membership.role in MANAGERS,
        "left_without_client": (
            owned_without_client_count(organization=request.organization, person=handoff.person)
            if handoff.status == Handoff.Status.OPEN and not handoff.all_clients
            else 0
        ),
        "waiting_for_me": len(mine),
        "owner_form": HandoffOwnerForm(organization=request.organization),
        "item_kinds": ItemKind,
    }


@require_GET
def handoff_detail_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    require_role(request)
    handoff = _handoff_or_404(request, pk)
    return render_local(
        request,
        htmx_template(request, "transitions/handoff_detail.html", "handoff-checklist"),
        _detail_context(request, handoff),
    )


def _act(request: HttpRequest, org: str, handoff: Handoff, write, done) -> HttpResponse:
    """Run a write; its refusal or ``done(result)`` as one message; then the
    checklist again (its part only, for htmx)."""
    try:
        result = write()
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done(result))
    if request.htmx:
        handoff = _handoff_or_404(request, handoff.pk)
        return render_local(
            request,
            "transitions/handoff_detail.html#handoff-checklist",
            _detail_context(request, handoff),
        )
    return redirect(_detail_url(org, handoff.pk))


@require_POST
def handoff_item_assign_view(request: HttpRequest, org: str, pk: int, item: int) -> HttpResponse:
    membership = require_role(request, *MANAGERS)
    handoff = _handoff_or_404(request, pk)
    line = (
        handoffs.handoff_item_list(organization=request.organization)
        .filter(handoff=handoff, pk=item)
        .first()
    )
    if line is None:
        raise Http404("No such line in this handoff.")
    form = HandoffOwnerForm(request.POST, organization=request.organization)

    def write():
        if not form.is_valid():
            raise ValidationError(form.errors["new_owner"][0])
        return handoffs.handoff_assign(
            item=line, new_owner=form.cleaned_data["new_owner"], by=membership
        )

    return _act(
        request, org, handoff, write,
        lambda done: f"{done.label} goes to {member_name(form.cleaned_data['new_owner'])}.",
    )  # fmt: skip


@require_POST
def handoff_assign_all_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    membership = require_role(request, *MANAGERS)
    handoff = _handoff_or_404(request, pk)
    form = HandoffOwnerForm(request.POST, organization=request.organization)

    def write():
        if not form.is_valid():
            raise ValidationError(form.errors["new_owner"][0])
        return handoffs.handoff_assign_all(
            handoff=handoff, new_owner=form.cleaned_data["new_owner"], by=membership
        )

    def done(result: handoffs.AssignAllResult) -> str:
        text = f"{result.assigned} item{'s' if result.assigned != 1 else ''} assigned."
        if result.skipped:
            text += f" Not given ({len(result.skipped)}): " + "; ".join(result.skipped)
        return text

    return _act(request, org, handoff, write, done)


@require_POST
def handoff_acknowledge_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    membership = require_role(request)
    handoff = _handoff_or_404(request, pk)
    return _act(
        request, org, handoff,
        lambda: handoffs.handoff_acknowledge(handoff=handoff, by=membership),
        lambda n: f"You took {n} item{'s' if n != 1 else ''}: they are yours once the handoff completes.",
    )  # fmt: skip


@require_POST
def handoff_relist_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    membership = require_role(request, *MANAGERS)
    handoff = _handoff_or_404(request, pk)
    return _act(
        request, org, handoff,
        lambda: handoffs.handoff_relist(handoff=handoff, by=membership),
        lambda n: f"Listed again: {n} new item{'s' if n != 1 else ''}.",
    )  # fmt: skip


@require_POST
def handoff_complete_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    membership = require_role(request, *MANAGERS)
    handoff = _handoff_or_404(request, pk)
    try:
        handoffs.handoff_complete(handoff=handoff, by=membership)
    except ValidationError as error:
        messages.error(request, "Not completed: " + " ".join(error.messages))
        return redirect(_detail_url(org, pk))
    messages.success(request, "Handoff completed: every item has its new owner.")
    return redirect(reverse("transitions:handoff_document", kwargs={"org": org, "pk": pk}))


@require_POST
def handoff_cancel_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    membership = require_role(request, *MANAGERS)
    handoff = _handoff_or_404(request, pk)
    return _act(
        request, org, handoff,
        lambda: handoffs.handoff_cancel(handoff=handoff, by=membership),
        lambda _: "Handoff cancelled: nothing was moved.",
    )  # fmt: skip


def _document(request: HttpRequest, pk: int) -> handoffs.HandoffDocument:
    handoff = _handoff_or_404(request, pk)
    if handoff.status != Handoff.Status.COMPLETED:
        raise Http404("The document is made when the handoff completes.")
    return handoffs.handoff_document(handoff=handoff, viewer=request.membership)


@require_GET
def handoff_document_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    require_role(request)
    return render_local(
        request, "transitions/handoff_document.html", {"doc": _document(request, pk)}
    )


@require_GET
def handoff_markdown_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    require_role(request)
    doc = _document(request, pk)
    response = HttpResponse(
        handoffs.handoff_markdown(document=doc), content_type="text/markdown; charset=utf-8"
    )
    name = slugify(f"handoff-{doc.handoff.person.user.get_username()}-{doc.handoff.pk}")
    response["Content-Disposition"] = f'attachment; filename="{name}.md"'
    return response
