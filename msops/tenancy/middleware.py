"""Resolve the organization of a request and run the request inside its scope.

- ``/o/<slug>/...``: the organization comes from the URL; the user must be a
  member (anything else is a 404, the same answer as a slug that does not exist).
- ``/api/v1/...``: the organization comes from the API token's membership.
- Anywhere else no scope is entered, so a tenant query raises.
"""

import re

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse

from .scoping import activate_organization
from .selectors import membership_for, organization_by_slug
from .services import api_token_authenticate

ORG_PATH = re.compile(r"^/o/(?P<slug>[-a-zA-Z0-9_]+)/")
API_PATH = "/api/v1/"


def bearer_token(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    keyword, _, raw = header.partition(" ")
    if keyword.lower() in ("bearer", "token") and raw.strip():
        return raw.strip()
    return None


class OrganizationMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.organization = None
        request.membership = None
        request.api_token = None

        match = ORG_PATH.match(request.path_info)
        if match:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            organization = organization_by_slug(slug=match["slug"])
            membership = (
                membership_for(user=request.user, organization=organization)
                if organization
                else None
            )
            if membership is None:
                raise Http404("No such organization.")
            return self._in_scope(request, membership)

        if request.path_info.startswith(API_PATH):
            raw = bearer_token(request)
            token = api_token_authenticate(raw=raw) if raw else None
            if token is not None:
                request.api_token = token
                return self._in_scope(request, token.membership)

        return self.get_response(request)

    def _in_scope(self, request: HttpRequest, membership) -> HttpResponse:
        request.organization = membership.organization
        request.membership = membership
        with activate_organization(membership.organization):
            return self.get_response(request)
