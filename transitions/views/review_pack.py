"""Review pack pages: the list per practice (filtered by client) with
"Prepare now", the print-ready pack and its PDF. Finance and admins reach
every client's packs, an account manager those of the clients they manage
(the money rule, :func:`billing.selectors.finance_pages.money_reach`);
developers none (403). The prepare form is the named partial
``prepare-form`` that htmx swaps, answered by the same view."""

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from billing.selectors.finance_pages import money_reach
from clients.models import Client
from clients.selectors import client_get
from msops.display import member_name
from msops.forms import add_service_errors
from msops.htmx import render_local
from msops.tenancy.models import Membership
from msops.tenancy.roles import MONEY_READERS, require_role

from ..models import ReviewPack
from ..review_pack import (
    review_pack_clients,
    review_pack_context,
    review_pack_contracts,
    review_pack_get,
    review_pack_list,
    review_pack_pdf_bytes,
    review_pack_prepare,
)

LIST_TEMPLATE = "transitions/review_pack_list.html"
PAGE_SIZE = 25
PREPARE_PARTIAL = f"{LIST_TEMPLATE}#prepare-form"
NOT_YOURS = "Only the client's account manager, finance and admins read its review packs."


class PrepareForm(forms.Form):
    contract = forms.ModelChoiceField(queryset=None, empty_label=None)
    on = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Any day of the review period (empty: the next review's).",
    )

    def __init__(self, *args, client: Client, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contract"].queryset = review_pack_contracts(client=client)


def _reader(request: HttpRequest) -> Membership:
    return require_role(request, *MONEY_READERS)


def _client_or_404(request: HttpRequest, membership: Membership, pk) -> Client:
    client = client_get(organization=request.organization, pk=pk)
    if client is None:
        raise Http404("No such client.")
    if not money_reach(membership=membership).allows(client):
        raise PermissionDenied(NOT_YOURS)
    return client


def _pack_or_404(request: HttpRequest, membership: Membership, pk: int) -> ReviewPack:
    pack = review_pack_get(organization=request.organization, pk=pk)
    if pack is None:
        raise Http404("No such review pack.")
    if not money_reach(membership=membership).allows(pack.client):
        raise PermissionDenied(NOT_YOURS)
    return pack


def _list_context(request, membership, client, *, form=None, prepared=None) -> dict:
    packs = review_pack_list(organization=request.organization, membership=membership)
    if client is not None:
        packs = packs.filter(client=client)
        if form is None:
            form = PrepareForm(client=client)
    page = Paginator(packs, PAGE_SIZE).get_page(request.GET.get("page"))
    return {
        "client": client,
        "clients": review_pack_clients(organization=request.organization, membership=membership),
        "page": page,
        "packs": page.object_list,
        "form": form,
        "contracts": form.fields["contract"].queryset.exists() if form else False,
        "prepared": prepared,
    }


def _id(value: str) -> int | None:
    """A positive id typed in a query string (ASCII digits only: ``int``
    also reads "1_000", "+1" and other scripts' digits, and ``isdigit``
    passes "²", which ``int`` refuses), or None."""
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        return None
    return int(value) or None


@require_GET
def review_packs_view(request: HttpRequest, org: str) -> HttpResponse:
    membership = _reader(request)
    raw = request.GET.get("client", "").strip()
    client = None
    if raw:
        pk = _id(raw)
        if pk is None:
            raise Http404("No such client.")
        client = _client_or_404(request, membership, pk)
    return render_local(request, LIST_TEMPLATE, _list_context(request, membership, client))


@require_POST
def review_pack_prepare_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """Prepare (again) a pack of one of the client's contracts now."""
    membership = _reader(request)
    client = _client_or_404(request, membership, pk)
    form = PrepareForm(request.POST, client=client)
    if form.is_valid():
        try:
            pack = review_pack_prepare(
                contract=form.cleaned_data["contract"],
                on=form.cleaned_data["on"],
                actor=membership,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if request.htmx:
                context = _list_context(
                    request, membership, client, form=PrepareForm(client=client), prepared=pack
                )
                return render_local(request, PREPARE_PARTIAL, context)
            return redirect("transitions:review_pack_detail", org=org, pk=pack.pk)
    context = _list_context(request, membership, client, form=form)
    if request.htmx:  # htmx swaps only 2xx answers: the form shows its errors in place
        return render_local(request, PREPARE_PARTIAL, context)
    return render_local(request, LIST_TEMPLATE, context, status=400)


@require_GET
def review_pack_detail_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """The pack, print-ready (the browser's print gives the same page as the PDF)."""
    membership = _reader(request)
    record = _pack_or_404(request, membership, pk)
    context = review_pack_context(
        data=record.data, organization=request.organization, generated_at=record.generated_at
    )
    context.update(
        record=record,
        generated_by=member_name(record.generated_by) if record.generated_by_id else "",
    )
    return render_local(request, "transitions/review_pack_detail.html", context)


@require_GET
def review_pack_pdf_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """The pack's PDF as a download; 404 with the way out when it has none."""
    membership = _reader(request)
    record = _pack_or_404(request, membership, pk)
    pdf = review_pack_pdf_bytes(pack=record)
    if pdf is None:
        return render_local(
            request, "transitions/review_pack_no_pdf.html", {"record": record}, status=404
        )
    name = slugify(f"review-pack-{record.client.name}-{record.review_on:%Y-%m-%d}") or "review-pack"
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
    return response
