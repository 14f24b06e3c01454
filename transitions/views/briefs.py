"""The client brief page: account managers, admins and finance read every
client's; developers read the briefs of the clients they work for
(:func:`transitions.selectors.clients_worked_for`). Admins and account
managers write the summary and mark it reviewed. The summary
block is the named partial ``brief-summary`` that htmx swaps after a write,
rendered by the same views (one access check for both)."""

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST

from clients.models import Client
from clients.selectors import client_get
from msops.forms import add_service_errors
from msops.htmx import render_local
from msops.tenancy.roles import MANAGERS, require_role

from ..briefs import (
    SUMMARY_MAX,
    client_brief_list,
    client_brief_mark_reviewed,
    client_brief_page,
    client_brief_update,
)
from ..selectors import clients_worked_for, reads_every_brief

TEMPLATE = "transitions/client_brief.html"
SUMMARY_PARTIAL = f"{TEMPLATE}#brief-summary"


class ClientBriefForm(forms.Form):
    summary = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=SUMMARY_MAX,
        help_text="Current state, environment, preferences and escalation rules. "
        "Saving it records you as its reviewer.",
    )


def _client_or_404(request: HttpRequest, pk: int) -> Client:
    client = client_get(organization=request.organization, pk=pk)
    if client is None:
        raise Http404("No such client.")
    return client


def _context(request: HttpRequest, client: Client, *, can_manage: bool, form=None) -> dict:
    page = client_brief_page(client=client)
    if can_manage and form is None:
        form = ClientBriefForm(initial={"summary": page.brief.summary if page.brief else ""})
    return {"client": client, "page": page, "can_manage": can_manage, "form": form}


@require_GET
def client_brief_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    membership = require_role(request)
    client = _client_or_404(request, pk)
    if (
        not reads_every_brief(membership)
        and not clients_worked_for(organization=request.organization, membership=membership)
        .filter(pk=client.pk)
        .exists()
    ):
        raise PermissionDenied(
            "You read the briefs of the clients you work for: ask the account manager."
        )
    context = _context(request, client, can_manage=membership.role in MANAGERS)
    return render_local(request, TEMPLATE, context)


def _after_write(request: HttpRequest, org: str, client: Client) -> HttpResponse:
    if request.htmx:
        return render_local(request, SUMMARY_PARTIAL, _context(request, client, can_manage=True))
    return redirect("transitions:client_brief", org=org, pk=client.pk)


@require_POST
def client_brief_edit_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    membership = require_role(request, *MANAGERS)
    client = _client_or_404(request, pk)
    form = ClientBriefForm(request.POST)
    if form.is_valid():
        try:
            client_brief_update(client=client, summary=form.cleaned_data["summary"], by=membership)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return _after_write(request, org, client)
    context = _context(request, client, can_manage=True, form=form)
    if request.htmx:  # htmx swaps only 2xx answers: the form shows its errors in place
        return render_local(request, SUMMARY_PARTIAL, context)
    return render_local(request, TEMPLATE, context, status=400)


@require_POST
def client_brief_reviewed_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    membership = require_role(request, *MANAGERS)
    client = _client_or_404(request, pk)
    brief = client_brief_list(organization=request.organization).filter(client=client).first()
    if brief is None:
        raise Http404("This client has no brief yet: write its summary first.")
    client_brief_mark_reviewed(brief=brief, by=membership)
    return _after_write(request, org, client)
