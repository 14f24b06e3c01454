"""Pages of the tenancy core: landing, organization home, API tokens, the
audit log, and the sign-in page's lockout answer."""

import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from msops.htmx import htmx_template, render_local

from .audit import auth_event_list
from .forms import ApiTokenForm
from .models import Role
from .roles import ADMINS, require_role
from .selectors import api_token_list, membership_list, membership_list_for_user
from .services import api_token_create, api_token_revoke


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Landing page: the organizations I belong to."""
    memberships = membership_list_for_user(user=request.user)
    if len(memberships) == 1:
        return redirect("tenancy:organization_home", org=memberships[0].organization.slug)
    return render(request, "tenancy/home.html", {"memberships": memberships})


def organization_home(request: HttpRequest, org: str) -> HttpResponse:
    """What needs this member now, by role: the counts, and under them a
    developer's open questions and tickets waiting on the client, an account
    manager's scope checks, allowances and review, finance's blockers of the
    month, an admin's team. A fixed number of queries per role."""
    # The face may read any app's selectors.
    from billing.selectors import home as home_selectors
    from billing.selectors.finance_pages import my_clients_usage, sent_back_to
    from tickets.selectors import home_counts

    membership = require_role(request)
    organization = request.organization
    sent_back_count, sent_back = sent_back_to(membership=membership)
    context = {
        "me": membership,
        "counts": home_counts(membership=membership),
        "sent_back_count": sent_back_count,
        "sent_back": sent_back,
    }
    if membership.role == Role.DEVELOPER:
        context["questions_count"], context["questions"] = home_selectors.my_open_questions(
            membership=membership
        )
        context["waiting_count"], context["waiting"] = home_selectors.my_tickets_waiting_on_client(
            membership=membership
        )
    elif membership.role == Role.ACCOUNT_MANAGER:
        context["today"], context["my_usage"] = my_clients_usage(membership=membership)
        context["allowance_alerts"] = home_selectors.allowance_alerts(
            organization=organization, rows=context["my_usage"]
        )
        context["scope_checks"] = home_selectors.scope_checks_waiting(membership=membership)
    elif membership.role == Role.FINANCE:
        context["period"] = home_selectors.current_period_blockers(organization=organization)
    else:
        context["members"] = membership_list(organization=organization)
    return render(request, "tenancy/organization_home.html", context)


@require_http_methods(["GET", "POST"])
def api_token_list_view(request: HttpRequest, org: str) -> HttpResponse:
    membership = require_role(request)
    issued = None
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        expires_on = form.cleaned_data["expires_on"]
        expires_at = (
            datetime.datetime.combine(
                expires_on, datetime.time.max, tzinfo=request.organization.tzinfo
            )
            if expires_on
            else None
        )
        try:
            issued = api_token_create(
                membership=membership,
                name=form.cleaned_data["name"],
                expires_at=expires_at,
                request=request,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            form = ApiTokenForm()
    context = {"form": form, "issued": issued, "tokens": api_token_list(membership=membership)}
    template = "tenancy/api_token_list.html"
    if request.htmx:
        template += "#token-panel"
    return render(request, template, context)


@require_POST
def api_token_revoke_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    membership = require_role(request)
    token = get_object_or_404(api_token_list(membership=membership), pk=pk)
    api_token_revoke(token=token, request=request)
    messages.success(request, f"Token “{token.name}” revoked.")
    if request.htmx:
        context = {"form": ApiTokenForm(), "tokens": api_token_list(membership=membership)}
        return render(request, "tenancy/api_token_list.html#token-panel", context)
    return redirect("tenancy:api_token_list", org=org)


AUDIT_PAGE_SIZE = 50


@require_GET
def auth_event_list_view(request: HttpRequest, org: str) -> HttpResponse:
    """Admins read who signed in, failed to or was locked out (the
    organization's members), and what happened to its API tokens."""
    require_role(request, *ADMINS)
    paginator = Paginator(auth_event_list(organization=request.organization), AUDIT_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    context = {"page": page, "events": page.object_list}
    return render_local(
        request, htmx_template(request, "tenancy/auth_event_list.html", "audit-table"), context
    )


def sign_in_locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    """django-axes' answer to a locked-out sign-in (AXES_LOCKOUT_CALLABLE): the
    sign-in page again, saying why and for how long, with 429."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    context = {
        "form": AuthenticationForm(
            request, initial={"username": (credentials or {}).get("username", "")}
        ),
        "locked_out": True,
        "cool_off_minutes": minutes,
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "next": request.POST.get("next", ""),
    }
    return render(request, "registration/login.html", context, status=429)
