"""Resolve the organization of a request and run the request inside its scope.

- ``/o/<slug>/...``: the organization comes from the URL; the user must be a
  member (anything else is a 404, the same answer as a slug that does not exist).
- ``/api/v1/...``: the organization comes from the API token's membership.
- Anywhere else no scope is entered, so a tenant query raises.

A tenant request runs in one transaction: the organization is set in it for
row-level security once, an exception undoes all its writes, and an API error
answer does too (msops/tenancy/api/exceptions.py). Work queued with on_commit
runs after it commits, outside the organization: it only enqueues tasks that
enter it again (TenantTask).
"""

import re

from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone

from . import rls
from .scoping import activate_organization
from .selectors import membership_for, organization_by_slug
from .services import api_token_authenticate

ORG_PATH = re.compile(r"^/o/(?P<slug>[-a-zA-Z0-9_]+)/")
API_PATH = "/api/v1/"
ADMIN_PATH = "/admin/"


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
            if organization is None:
                raise Http404("No such organization.")
            # The membership is read inside the organization: row security shows
            # nothing else. Not a member: the same 404 as a slug that does not exist.
            with transaction.atomic(), activate_organization(organization):
                membership = membership_for(user=request.user, organization=organization)
                if membership is None:
                    raise Http404("No such organization.")
                return self._in_scope(request, membership)

        if request.path_info.startswith(API_PATH):
            raw = bearer_token(request)
            token = None
            if raw:
                # The token is what tells us the organization: looked up across
                # organizations, through the documented bypass.
                with rls.bypass():
                    token = api_token_authenticate(raw=raw, request=request)
            if token is not None:
                request.api_token = token
                organization = token.membership.organization
                with transaction.atomic(), activate_organization(organization):
                    return self._in_scope(request, token.membership)

        if request.path_info.startswith(ADMIN_PATH) and request.user.is_staff:
            # Django's admin spans the organizations a staff member administers;
            # TenantAdmin limits its rows to those (msops/tenancy/admin.py).
            with rls.bypass():
                return self.get_response(request)

        return self.get_response(request)

    def _in_scope(self, request: HttpRequest, membership) -> HttpResponse:
        """The request runs in one transaction, inside its organization. A page
        shows times in the organization's timezone (``|date``, ``{{ moment }}``);
        the API's datetimes stay ISO 8601 in UTC, as its schema says."""
        request.organization = membership.organization
        request.membership = membership
        if request.api_token is not None:
            return self.get_response(request)
        with timezone.override(membership.organization.tzinfo):
            return self.get_response(request)
