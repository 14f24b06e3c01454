"""The team page (admins): members with their role, status and last sign-in,
changed in place, and the invitations, sent, resent and revoked in place;
and the invitee's page behind the signed link (no login, no organization
URL). Every write goes through :mod:`msops.tenancy.team`."""

import re

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.forms import UserCreationForm
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from msops.htmx import render_local

from .models import Invitation, Membership, Organization, Role
from .roles import ADMINS, require_role
from .scoping import activate_organization
from .team import (
    INVITATIONS_SHOWN,
    InvitationLinkError,
    account_for_email,
    invitation_accept,
    invitation_create,
    invitation_from_link,
    invitation_link_organization_id,
    invitation_link_url,
    invitation_list,
    invitation_resend,
    invitation_revoke,
    member_deactivate,
    member_reactivate,
    member_role_change,
    membership_of,
    team_member_list,
)

TEAM_PAGE = "tenancy/team.html"
ACCEPT_PAGE = "tenancy/invitation_accept.html"


# --- forms -----------------------------------------------------------------------------
class InvitationForm(forms.Form):
    email = forms.EmailField(max_length=254)
    name = forms.CharField(max_length=150, required=False, help_text="Optional.")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.DEVELOPER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class AccountForm(UserCreationForm):
    """A new account for the invited email: a username and a password checked
    by the site's password validators (against the username and email too)."""


# --- the team page -------------------------------------------------------------------------
def _context(request: HttpRequest, **extra) -> dict:
    organization = request.organization
    return {
        "members": team_member_list(organization=organization),
        "invitations": invitation_list(organization=organization)[:INVITATIONS_SHOWN],
        "invitations_shown": INVITATIONS_SHOWN,
        "roles": Role.choices,
        "me": request.membership,
        "invite_form": InvitationForm(),
        **extra,
    }


@require_http_methods(["GET", "POST"])
def team_view(request: HttpRequest, org: str) -> HttpResponse:
    """The members and the invitations; a POST invites someone."""
    actor = require_role(request, *ADMINS)
    if request.method == "GET":
        return render_local(request, TEAM_PAGE, _context(request))
    form = InvitationForm(request.POST)
    if form.is_valid():
        try:
            invitation = invitation_create(
                organization=request.organization,
                email=form.cleaned_data["email"],
                name=form.cleaned_data["name"],
                role=form.cleaned_data["role"],
                invited_by=actor,
                link_url=invitation_link_url(request),
                request=request,
            )
        except ValidationError as error:
            form.add_error(None, error)  # a dict names the form's fields
        else:
            return _invitation_answer(request, org, done=f"Invitation sent to {invitation.email}.")
    context = _context(request, invite_form=form)
    if request.htmx:  # htmx swaps only 2xx answers: the form shows its errors in place
        return render_local(request, f"{TEAM_PAGE}#invitation-panel", context)
    return render_local(request, TEAM_PAGE, context, status=400)


def _invitation_answer(
    request: HttpRequest, org: str, *, done: str = "", failure: str = ""
) -> HttpResponse:
    """htmx: the invitations panel with the outcome; a plain post: back to
    the page (PRG) when it worked, the page with the refusal when not."""
    context = _context(request, done=done, failure=failure)
    if request.htmx:
        return render_local(request, f"{TEAM_PAGE}#invitation-panel", context)
    if not failure:
        messages.success(request, done)
        return redirect("tenancy:team", org=org)
    return render_local(request, TEAM_PAGE, context, status=400)


def _invitation_or_404(request: HttpRequest, pk: int) -> Invitation:
    invitation = invitation_list(organization=request.organization).filter(pk=pk).first()
    if invitation is None:
        raise Http404("No such invitation.")
    return invitation


@require_POST
def team_invitation_resend_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    actor = require_role(request, *ADMINS)
    invitation = _invitation_or_404(request, pk)
    try:
        invitation_resend(
            invitation=invitation, by=actor, link_url=invitation_link_url(request), request=request
        )
    except ValidationError as error:
        return _invitation_answer(request, org, failure=" ".join(error.messages))
    return _invitation_answer(request, org, done=f"Invitation sent again to {invitation.email}.")


@require_POST
def team_invitation_revoke_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    actor = require_role(request, *ADMINS)
    invitation = _invitation_or_404(request, pk)
    try:
        invitation_revoke(invitation=invitation, by=actor, request=request)
    except ValidationError as error:
        return _invitation_answer(request, org, failure=" ".join(error.messages))
    return _invitation_answer(
        request, org, done=f"Invitation of {invitation.email} revoked: its link no longer works."
    )


# --- a member's row ------------------------------------------------------------------------
def _member_or_404(request: HttpRequest, pk: int) -> Membership:
    member = team_member_list(organization=request.organization).filter(pk=pk).first()
    if member is None:
        raise Http404("No such member.")
    return member


def _member_answer(
    request: HttpRequest, org: str, pk: int, *, done: str = "", failure: str = ""
) -> HttpResponse:
    """htmx: the member's row with the outcome in place; a plain post: back to
    the page (PRG) when it worked, the page with the refusal when not. An
    admin who just took their own admin role away leaves for the home page."""
    member = _member_or_404(request, pk)
    actor = request.membership
    if (
        not failure
        and member.pk == actor.pk
        and (member.deactivated_at or member.role != Role.ADMIN)
    ):
        messages.success(request, done)
        home = (
            reverse("home")
            if member.deactivated_at
            else reverse("tenancy:organization_home", kwargs={"org": org})
        )
        if request.htmx:
            response = HttpResponse(status=204)
            response["HX-Redirect"] = home
            return response
        return redirect(home)
    if request.htmx:
        context = {"member": member, "roles": Role.choices, "me": actor}
        context.update(row_done=done, row_failure=failure)
        return render_local(request, f"{TEAM_PAGE}#member-row", context)
    if not failure:
        messages.success(request, done)
        return redirect("tenancy:team", org=org)
    context = _context(request, failed_member=member.pk, row_failure=failure)
    return render_local(request, TEAM_PAGE, context, status=400)


def _refusal(error: ValidationError) -> str:
    return " ".join(error.messages)


@require_POST
def team_member_role_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    actor = require_role(request, *ADMINS)
    member = _member_or_404(request, pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return _member_answer(request, org, pk, failure="Choose one of the roles.")
    try:
        changed = member_role_change(
            membership=member, role=form.cleaned_data["role"], by=actor, request=request
        )
    except ValidationError as error:
        return _member_answer(request, org, pk, failure=_refusal(error))
    name = changed.user.get_username()
    return _member_answer(
        request, org, pk, done=f"{name} is now {changed.get_role_display().lower()}."
    )


@require_POST
def team_member_deactivate_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    actor = require_role(request, *ADMINS)
    member = _member_or_404(request, pk)
    try:
        member_deactivate(membership=member, by=actor, request=request)
    except ValidationError as error:
        return _member_answer(request, org, pk, failure=_refusal(error))
    return _member_answer(
        request,
        org,
        pk,
        done=f"{member.user.get_username()} is deactivated: their pages and API tokens"
        " stopped working.",
    )


@require_POST
def team_member_reactivate_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    actor = require_role(request, *ADMINS)
    member = _member_or_404(request, pk)
    try:
        member_reactivate(membership=member, by=actor, request=request)
    except ValidationError as error:
        return _member_answer(request, org, pk, failure=_refusal(error))
    return _member_answer(
        request,
        org,
        pk,
        done=f"{member.user.get_username()} is active again (their old API tokens stay revoked).",
    )


# --- the invitee's page ----------------------------------------------------------------------
LINK_STATUS = {
    InvitationLinkError.INVALID: 404,
    InvitationLinkError.EXPIRED: 410,
    InvitationLinkError.USED: 410,
    InvitationLinkError.REVOKED: 410,
}


def _private(response: HttpResponse) -> HttpResponse:
    """Not cached, not indexed; the token never leaves in a Referer."""
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "same-origin"
    return response


def _link_refused(request: HttpRequest, error: InvitationLinkError) -> HttpResponse:
    """A page that names no organization: the link may have been tampered with."""
    context = {"link_error": str(error), "reason": error.reason}
    return render(request, ACCEPT_PAGE, context, status=LINK_STATUS.get(error.reason, 404))


def _suggested_username(email: str) -> str:
    return re.sub(r"[^\w.@+-]", "", email.partition("@")[0])[:150]


def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    """The invitee joins the organization: with a new account (username and
    password chosen here), or, when their email already has an account, by
    signing in as it first. The organization comes from the signed link."""
    return _private(_invitation_accept_page(request, token))


@require_http_methods(["GET", "POST"])
def _invitation_accept_page(request: HttpRequest, token: str) -> HttpResponse:
    try:
        organization_id = invitation_link_organization_id(token)
    except InvitationLinkError as error:
        return _link_refused(request, error)
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return _link_refused(request, InvitationLinkError("This invitation link is not valid."))
    with activate_organization(organization), timezone.override(organization.tzinfo):
        try:
            invitation = invitation_from_link(token=token)
        except InvitationLinkError as error:
            return _link_refused(request, error)
        answer = _accept(request, token, invitation)
    if isinstance(answer, Membership):
        if not request.user.is_authenticated:
            login(request, answer.user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome to {organization.name}, {answer.user.get_username()}.")
        return redirect("tenancy:organization_home", org=organization.slug)
    return answer


def _accept(request: HttpRequest, token: str, invitation: Invitation) -> HttpResponse | Membership:
    """The page for who is asking, or (accepted) the new membership."""
    organization = invitation.organization
    context = {"invitation": invitation, "organization_name": organization.name, "token": token}
    user = request.user
    if user.is_authenticated:
        if (user.email or "").lower() != invitation.email.lower():
            return render(request, ACCEPT_PAGE, {**context, "mode": "wrong_account"})
        existing = membership_of(user=user, organization=organization)
        if existing is not None:
            context.update(mode="member", existing=existing, organization_slug=organization.slug)
            return render(request, ACCEPT_PAGE, context)
        if request.method == "POST":
            try:
                return invitation_accept(token=token, user=user, request=request)
            except InvitationLinkError as error:
                return _link_refused(request, error)
            except ValidationError as error:
                context["failure"] = _refusal(error)
        return render(request, ACCEPT_PAGE, {**context, "mode": "join"})
    account = account_for_email(invitation.email)
    if account is not None:
        mode = "sign_in" if account.is_active else "account_deactivated"
        login_url = f"{reverse('login')}?next={request.path}"
        return render(request, ACCEPT_PAGE, {**context, "mode": mode, "login_url": login_url})
    User = get_user_model()
    instance = User(email=invitation.email)
    form = AccountForm(
        request.POST or None,
        instance=instance,
        initial={"username": _suggested_username(invitation.email)},
    )
    if request.method == "POST" and form.is_valid():
        try:
            return invitation_accept(
                token=token,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
                request=request,
            )
        except InvitationLinkError as error:
            return _link_refused(request, error)
        except ValidationError as error:
            form.add_error(None, error)  # a dict names the form's fields
    status = 400 if form.is_bound else 200
    return render(request, ACCEPT_PAGE, {**context, "mode": "create", "form": form}, status=status)
