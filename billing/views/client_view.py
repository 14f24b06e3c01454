"""The client view: a public page read through a signed, expiring,
revocable link (no login, every view logged), and the staff page that
creates, lists and revokes a client's links.

The public page works like the scope-check client link: the organization
comes from the signed token (signature checked), the page runs inside its
scope, and a refused link shows a page that names nothing (404 or 410)."""

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clients.models import Client
from msops.forms import add_service_errors
from msops.htmx import htmx_template, render_local
from msops.tenancy.audit import client_ip_address
from msops.tenancy.models import Membership, Organization, Role
from msops.tenancy.roles import require_role
from msops.tenancy.scoping import activate_organization

from ..models import ClientViewLink
from ..selectors.client_view import (
    EVENTS_SHOWN,
    client_view_event_list,
    client_view_link_list,
    client_view_page,
)
from ..services.client_link import scope_check_client_link
from ..services.client_view import (
    CLIENT_VIEW_DAYS,
    CLIENT_VIEW_MAX_DAYS,
    ClientViewError,
    can_manage_client_view,
    client_view_from_token,
    client_view_link_create,
    client_view_link_revoke,
    client_view_log,
    client_view_organization_id,
    client_view_token,
)

PUBLIC_PAGE = "billing/client_view.html"
LINKS_PAGE = "billing/client_view_links.html"
REFUSED_STATUS = {
    ClientViewError.INVALID: 404,
    ClientViewError.EXPIRED: 410,
    ClientViewError.REVOKED: 410,
}
# Finance reads every client's links; account managers their own clients'.
LINK_READERS = frozenset({Role.ACCOUNT_MANAGER, Role.FINANCE, Role.ADMIN})


# --- the client's page --------------------------------------------------------------------
def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "same-origin"
    return response


def _refused(request: HttpRequest, error: ClientViewError) -> HttpResponse:
    """A friendly page that names no client and no organization."""
    context = {"link_error": str(error), "reason": error.reason}
    return render(request, PUBLIC_PAGE, context, status=REFUSED_STATUS.get(error.reason, 404))


@require_GET
def client_view(request: HttpRequest, token: str) -> HttpResponse:
    """The client contact's page: this period's allowance, work, open scope
    checks and SLA results. Each view is logged; every answer is private."""
    return _private(_client_view(request, token))


def _client_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        organization_id = client_view_organization_id(token)
    except ClientViewError as error:
        return _refused(request, error)
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return _refused(request, ClientViewError())
    with activate_organization(organization), timezone.override(organization.tzinfo):
        try:
            link = client_view_from_token(token=token)
        except ClientViewError as error:
            return _refused(request, error)
        client_view_log(
            link=link,
            ip=client_ip_address(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
        page = client_view_page(link=link)
        for row in page["scope_checks"]:
            check = row.pop("_check")
            row["approval_token"] = scope_check_client_link(check=check) if check else ""
        return render(request, PUBLIC_PAGE, {"page": page})


# --- the staff page -----------------------------------------------------------------------
class ClientViewLinkForm(forms.Form):
    contact_name = forms.CharField(label="Contact's name", max_length=200)
    contact_email = forms.EmailField(label="Contact's email")
    days = forms.IntegerField(
        label="Expires after (days)",
        min_value=1,
        max_value=CLIENT_VIEW_MAX_DAYS,
        initial=CLIENT_VIEW_DAYS,
    )


def _client_for(request: HttpRequest, pk: int) -> tuple[Membership, Client, bool]:
    """The member, the client and whether they manage its links. Finance and
    admins read every client's links, an account manager their own clients';
    anyone else is a 403 (a foreign client is a 404)."""
    membership = require_role(request, *LINK_READERS)
    client = Client.objects.filter(organization=request.organization, pk=pk).first()
    if client is None:
        raise Http404("No such client.")
    manages = can_manage_client_view(membership=membership, client=client)
    if membership.role == Role.ACCOUNT_MANAGER and not manages:
        raise PermissionDenied("Only the client's account manager can see its client views.")
    return membership, client, manages


def _links_page(
    request: HttpRequest,
    client: Client,
    manages: bool,
    *,
    form: ClientViewLinkForm | None = None,
    created_url: str = "",
    status: int = 200,
) -> HttpResponse:
    organization = request.organization
    links = list(client_view_link_list(organization=organization, client=client))
    events = list(client_view_event_list(organization=organization, client=client)[:EVENTS_SHOWN])
    now = timezone.now()
    context = {
        "client": client,
        "links": links,
        "events": events,
        "now": now,
        # A client that has ended: every link of it is refused (the service).
        "client_ended": client.status == Client.Status.ENDED,
        "manages": manages,
        "form": (form or ClientViewLinkForm()) if manages else None,
        "created_url": created_url,
        "max_days": CLIENT_VIEW_MAX_DAYS,
    }
    template = htmx_template(request, LINKS_PAGE, "client-view-links")
    return render_local(request, template, context, status=status)


@require_http_methods(["GET", "POST"])
def client_view_links(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """A client's view links: status, last viewed, views, the log; create one
    (the URL is shown once) or revoke one."""
    membership, client, manages = _client_for(request, pk)
    if request.method == "GET":
        return _links_page(request, client, manages)
    if not manages:
        raise PermissionDenied("Only the client's account manager or an admin can do this.")
    form = ClientViewLinkForm(request.POST)
    # htmx swaps only a 2xx answer: the errors come back in place with a 200;
    # a plain post gets the page with its errors and a 400.
    failed = 200 if request.htmx else 400
    if not form.is_valid():
        return _links_page(request, client, manages, form=form, status=failed)
    try:
        link = client_view_link_create(client=client, actor=membership, **form.cleaned_data)
    except ValidationError as error:
        add_service_errors(form, error)
        return _links_page(request, client, manages, form=form, status=failed)
    url = request.build_absolute_uri(
        reverse("public:client_view", kwargs={"token": client_view_token(link=link)})
    )
    return _links_page(request, client, manages, created_url=url)


@require_POST
def client_view_link_revoke_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """Revoke one link (htmx: the links list comes back)."""
    membership = require_role(request, Role.ACCOUNT_MANAGER, Role.ADMIN)
    link = (
        ClientViewLink.objects.filter(organization=request.organization, pk=pk)
        .select_related("client")
        .first()
    )
    if link is None:
        raise Http404("No such link.")
    client_view_link_revoke(link=link, actor=membership)
    return _links_page(request, link.client, True)
