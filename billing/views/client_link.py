"""The client's page: no login, no organization URL. The client reads the
change and the estimate in plain words and approves or declines it; the
organization comes from the signed, single-use link (billing.services checks
it) and the page runs inside its scope."""

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from msops.forms import add_service_errors
from msops.tenancy.audit import client_ip_address
from msops.tenancy.models import Organization
from msops.tenancy.scoping import activate_organization

from ..forms import ClientAnswerForm
from ..services import (
    ClientLinkError,
    link_organization_id,
    scope_check_client_answer,
    scope_check_from_link,
)

CLIENT_PAGE = "billing/client_scope_check.html"

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
                    ip=client_ip_address(request),
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
