"""Team management: an organization's members (role, deactivation,
reactivation) and its invitations (send, resend, revoke, accept through a
signed link). Services write inside ``transaction.atomic`` and record what
they did in the audit log (:func:`msops.tenancy.audit.auth_event_record`);
selectors read one organization's rows.

The rules, each with its one home here:

- An organization always keeps an active admin: demoting or deactivating
  the last one is refused (``refused``, a 409 in the API).
- A deactivated member is a stranger at once: their pages are 404
  (:func:`msops.tenancy.selectors.membership_for`), their API tokens are
  revoked here and refused anyway
  (:func:`msops.tenancy.services.api_token_authenticate`). When none of their
  memberships anywhere is active any more, their account is deactivated too
  (``user.is_active``): that signs them out, and is what the transition
  layer reads as "gone". Reactivating turns it back on; their revoked tokens
  stay revoked.
- An invitation link is signed, carries the invitation's nonce, expires
  after :data:`INVITATION_DAYS` and works once; resending replaces the nonce,
  so only the newest link works.
- Accepting: a new email gets a new account (username and password chosen
  on the page). An email that already has an account joins with that
  account: the person signs in as it first (their email must match the
  invitation's); a deactivated account can't sign in, so it can't accept.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from msops.errors import REFUSED
from msops.mail import notify

from . import rls
from .audit import auth_event_record
from .models import ApiToken, AuthEvent, Invitation, Membership, Organization, Role
from .services import api_token_revoke

INVITATION_DAYS = 7
INVITATION_SALT = "msops.tenancy.invitation"
INVITATIONS_SHOWN = 100


# --- selectors ---------------------------------------------------------------------------
def team_member_list(*, organization: Organization) -> QuerySet[Membership]:
    """Every member, the deactivated ones last, for the team page and its API."""
    return (
        Membership.objects.filter(organization=organization)
        .select_related("user")
        .order_by(F("deactivated_at").asc(nulls_first=True), "user__username")
    )


def invitation_list(*, organization: Organization) -> QuerySet[Invitation]:
    """The organization's invitations, newest first."""
    return (
        Invitation.objects.filter(organization=organization)
        .select_related("invited_by__user", "accepted_membership__user")
        .order_by("-created_at", "-pk")
    )


def member_name(membership: Membership) -> str:
    """As people read a member (msops.display's rule; that module sits above
    tenancy, so it is not imported here)."""
    return membership.user.get_full_name() or membership.user.get_username()


# --- members -----------------------------------------------------------------------------
def _locked(membership: Membership) -> Membership:
    return (
        Membership.objects.select_for_update()
        .select_related("user", "organization")
        .get(organization=membership.organization_id, pk=membership.pk)
    )


def _keep_an_admin(member: Membership) -> None:
    """Refuse to take away the organization's last active admin. The active
    admins are locked, so two admins can't demote each other at once."""
    admins = list(
        Membership.objects.select_for_update()
        .filter(organization=member.organization_id, role=Role.ADMIN, deactivated_at__isnull=True)
        .values_list("pk", flat=True)
    )
    if not set(admins) - {member.pk}:
        raise ValidationError(
            f"{member_name(member)} is the last active admin of {member.organization.name}:"
            " make someone else admin first.",
            code=REFUSED,
        )


def _team_event(
    kind: str, *, subject: AbstractBaseUser, by: Membership, request: HttpRequest | None, **detail
) -> None:
    auth_event_record(
        kind=kind,
        request=request,
        user=subject,
        organization=by.organization,
        detail={"by": by.user.get_username(), **detail},
    )


def _account_follows_memberships(user: AbstractBaseUser) -> None:
    """The account is active while one of its memberships anywhere is. Read
    across organizations (a person's other memberships), through the bypass."""
    with scopes_disabled(), rls.bypass():
        active = Membership.objects.filter(user=user, deactivated_at__isnull=True).exists()
    if user.is_active != active:
        user.is_active = active
        user.save(update_fields=["is_active"])


@transaction.atomic
def member_role_change(
    *, membership: Membership, role: str, by: Membership, request: HttpRequest | None = None
) -> Membership:
    if role not in Role.values:
        raise ValidationError({"role": f"“{role}” is not a role."})
    member = _locked(membership)
    if member.role == role:
        return member
    if member.role == Role.ADMIN and member.deactivated_at is None:
        _keep_an_admin(member)
    previous = member.role
    member.role = role
    member.save(update_fields=["role"])
    _team_event(
        AuthEvent.Kind.ROLE_CHANGED,
        subject=member.user,
        by=by,
        request=request,
        role=role,
        previous_role=previous,
    )
    return member


@transaction.atomic
def member_deactivate(
    *, membership: Membership, by: Membership, request: HttpRequest | None = None
) -> Membership:
    """The member may no longer use the organization, from their next request
    on: pages 404, tokens revoked (and refused)."""
    member = _locked(membership)
    if member.deactivated_at is not None:
        return member
    if member.role == Role.ADMIN:
        _keep_an_admin(member)
    member.deactivated_at = timezone.now()
    member.save(update_fields=["deactivated_at"])
    live = ApiToken.objects.filter(
        organization=member.organization_id, membership=member, revoked_at__isnull=True
    ).select_related("membership__user", "membership__organization")
    for token in live:
        api_token_revoke(token=token, request=request)
    _account_follows_memberships(member.user)
    _team_event(AuthEvent.Kind.MEMBER_DEACTIVATED, subject=member.user, by=by, request=request)
    return member


@transaction.atomic
def member_reactivate(
    *, membership: Membership, by: Membership, request: HttpRequest | None = None
) -> Membership:
    """The member may use the organization again (with new API tokens)."""
    member = _locked(membership)
    if member.deactivated_at is None:
        return member
    member.deactivated_at = None
    member.save(update_fields=["deactivated_at"])
    _account_follows_memberships(member.user)
    _team_event(AuthEvent.Kind.MEMBER_REACTIVATED, subject=member.user, by=by, request=request)
    return member


# --- invitations -------------------------------------------------------------------------
LinkUrl = Callable[[str], str]


def invitation_link_url(request: HttpRequest) -> LinkUrl:
    """Absolute acceptance URLs on the host the admin is using (msops has no
    site URL setting; the host is checked against ALLOWED_HOSTS)."""

    def link_url(token: str) -> str:
        return request.build_absolute_uri(reverse("invitation_accept", kwargs={"token": token}))

    return link_url


def invitation_token(*, invitation: Invitation) -> str:
    """The signed token of the invitation's current link."""
    return signing.dumps(
        {"o": invitation.organization_id, "i": invitation.pk, "n": invitation.nonce},
        salt=INVITATION_SALT,
        compress=True,
    )


def _normalized_email(email: str) -> str:
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": "Enter a valid email address."}) from None
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def _refuse_members_and_pending(organization: Organization, email: str) -> None:
    members = Membership.objects.filter(organization=organization, user__email__iexact=email)
    if members.filter(deactivated_at__isnull=True).exists():
        raise ValidationError({"email": f"{email} is already a member of {organization.name}."})
    if members.exists():
        raise ValidationError(
            {"email": f"{email} was a member and is deactivated: reactivate them instead."}
        )
    pending = Invitation.objects.filter(
        Invitation.status_filter(Invitation.Status.PENDING),
        organization=organization,
        email__iexact=email,
    )
    if pending.exists():
        raise ValidationError(
            {"email": f"{email} already has a pending invitation: resend it from the list."}
        )


def _send(invitation: Invitation, *, by: Membership, link_url: LinkUrl) -> None:
    organization = invitation.organization
    expires = timezone.localtime(invitation.expires_at, organization.tzinfo)
    greeting = f"Hello {invitation.name}," if invitation.name else "Hello,"
    notify(
        to=[invitation.email],
        subject=f"{organization.name} invites you to msops",
        body=(
            f"{greeting}\n\n{member_name(by)} invites you to join {organization.name} on msops"
            f" as {invitation.get_role_display().lower()}.\n\n"
            "Accept here and choose your username and password:\n"
            f"{link_url(invitation_token(invitation=invitation))}\n\n"
            f"The link works once, until {expires:%Y-%m-%d %H:%M} ({organization.timezone}).\n\n"
            "If you did not expect this email, ignore it: nothing happens without you."
        ),
    )


@transaction.atomic
def invitation_create(
    *,
    organization: Organization,
    email: str,
    role: str,
    invited_by: Membership,
    link_url: LinkUrl,
    name: str = "",
    request: HttpRequest | None = None,
) -> Invitation:
    """Invite an email with a role; the link is emailed after commit."""
    email = _normalized_email(email)
    if role not in Role.values:
        raise ValidationError({"role": f"“{role}” is not a role."})
    _refuse_members_and_pending(organization, email)
    now = timezone.now()
    invitation = Invitation.objects.create(
        organization=organization,
        email=email,
        name=(name or "").strip()[:150],
        role=role,
        invited_by=invited_by,
        nonce=secrets.token_hex(16),
        sent_at=now,
        expires_at=now + datetime.timedelta(days=INVITATION_DAYS),
    )
    _send(invitation, by=invited_by, link_url=link_url)
    _team_event(
        AuthEvent.Kind.INVITATION_SENT,
        subject=invited_by.user,
        by=invited_by,
        request=request,
        email=email,
        role=role,
    )
    return invitation


def _locked_invitation(invitation: Invitation) -> Invitation:
    return (
        Invitation.objects.select_for_update()
        .select_related("organization")
        .get(organization=invitation.organization_id, pk=invitation.pk)
    )


@transaction.atomic
def invitation_resend(
    *,
    invitation: Invitation,
    by: Membership,
    link_url: LinkUrl,
    request: HttpRequest | None = None,
) -> Invitation:
    """Send a new link (valid for another INVITATION_DAYS); earlier links stop working."""
    current = _locked_invitation(invitation)
    if current.accepted_at is not None or current.revoked_at is not None:
        raise ValidationError(
            f"The invitation of {current.email} was {current.get_status_display().lower()}:"
            " it can't be sent again. Invite them anew.",
            code=REFUSED,
        )
    if Membership.objects.filter(
        organization=current.organization_id, user__email__iexact=current.email
    ).exists():
        raise ValidationError(f"{current.email} is already a member.", code=REFUSED)
    current.nonce = secrets.token_hex(16)
    current.sent_at = timezone.now()
    current.expires_at = current.sent_at + datetime.timedelta(days=INVITATION_DAYS)
    current.save(update_fields=["nonce", "sent_at", "expires_at"])
    _send(current, by=by, link_url=link_url)
    _team_event(
        AuthEvent.Kind.INVITATION_SENT,
        subject=by.user,
        by=by,
        request=request,
        email=current.email,
        role=current.role,
        resent=True,
    )
    return current


@transaction.atomic
def invitation_revoke(
    *, invitation: Invitation, by: Membership, request: HttpRequest | None = None
) -> Invitation:
    current = _locked_invitation(invitation)
    if current.accepted_at is not None:
        raise ValidationError(
            f"{current.email} already accepted: deactivate the member instead.", code=REFUSED
        )
    if current.revoked_at is None:
        current.revoked_at = timezone.now()
        current.save(update_fields=["revoked_at"])
        _team_event(
            AuthEvent.Kind.INVITATION_REVOKED,
            subject=by.user,
            by=by,
            request=request,
            email=current.email,
            role=current.role,
        )
    return current


# --- the invitee's link ------------------------------------------------------------------
class InvitationLinkError(Exception):
    """The link can't be used. The message is safe to show anyone holding the
    link. ``reason``: ``invalid`` (not a link of ours: 404), ``expired``,
    ``used`` or ``revoked`` (withdrawn or replaced by a newer link): 410."""

    INVALID = "invalid"
    EXPIRED = "expired"
    USED = "used"
    REVOKED = "revoked"

    def __init__(self, message: str, reason: str = INVALID):
        super().__init__(message)
        self.reason = reason


ASK_AGAIN = "Ask an admin of the organization to send you a new invitation."
LINK_INVALID = "This invitation link is not valid. Check that you copied all of it. " + ASK_AGAIN
LINK_EXPIRED = "This invitation has expired. " + ASK_AGAIN
LINK_USED = "This invitation was already accepted: sign in instead."
LINK_REVOKED = "This invitation was withdrawn, or replaced by a newer email. " + ASK_AGAIN


def _link_payload(token: str) -> dict:
    try:
        payload = signing.loads(
            token, salt=INVITATION_SALT, max_age=datetime.timedelta(days=INVITATION_DAYS)
        )
    except signing.SignatureExpired:
        raise InvitationLinkError(LINK_EXPIRED, InvitationLinkError.EXPIRED) from None
    except signing.BadSignature:
        raise InvitationLinkError(LINK_INVALID) from None
    if not isinstance(payload, dict) or not {"o", "i", "n"} <= set(payload):
        raise InvitationLinkError(LINK_INVALID)
    try:
        payload["o"], payload["i"] = int(payload["o"]), int(payload["i"])
    except (TypeError, ValueError):
        raise InvitationLinkError(LINK_INVALID) from None
    return payload


def invitation_link_organization_id(token: str) -> int:
    """The organization a link belongs to (signature checked)."""
    return _link_payload(token)["o"]


def _check_usable(invitation: Invitation | None, nonce: str) -> Invitation:
    if invitation is None:
        raise InvitationLinkError(LINK_INVALID)
    if invitation.accepted_at is not None:
        raise InvitationLinkError(LINK_USED, InvitationLinkError.USED)
    if invitation.revoked_at is not None or invitation.nonce != nonce:
        raise InvitationLinkError(LINK_REVOKED, InvitationLinkError.REVOKED)
    if invitation.expires_at <= timezone.now():
        raise InvitationLinkError(LINK_EXPIRED, InvitationLinkError.EXPIRED)
    return invitation


def invitation_from_link(*, token: str) -> Invitation:
    """The invitation a link names, if it can still be accepted. Raises
    :class:`InvitationLinkError`. Runs inside the organization the token
    names (see the view)."""
    payload = _link_payload(token)
    invitation = (
        Invitation.objects.select_related("organization")
        .filter(organization=payload["o"], pk=payload["i"])
        .first()
    )
    return _check_usable(invitation, payload["n"])


def account_for_email(email: str) -> AbstractBaseUser | None:
    """The existing account an invited email belongs to, if any (the oldest,
    should several share it)."""
    User = get_user_model()
    return User._default_manager.filter(email__iexact=email).order_by("pk").first()


def membership_of(*, user: AbstractBaseUser, organization: Organization) -> Membership | None:
    """The user's membership of the organization, deactivated or not."""
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(organization=organization, user=user).first()


@transaction.atomic
def invitation_accept(
    *,
    token: str,
    user: AbstractBaseUser | None = None,
    username: str = "",
    password: str = "",
    request: HttpRequest | None = None,
) -> Membership:
    """Use the link once: join the organization with the invited role.
    Without ``user`` a new account is made (``username``, ``password``; the
    page has checked the password against the validators). With ``user`` (a
    signed-in account), its email must be the invited one."""
    payload = _link_payload(token)
    invitation = _check_usable(
        Invitation.objects.select_for_update()
        .select_related("organization")
        .filter(organization=payload["o"], pk=payload["i"])
        .first(),
        payload["n"],
    )
    organization = invitation.organization
    if user is None:
        user = _account_create(invitation, username=username, password=password)
    elif (user.email or "").lower() != invitation.email.lower():
        raise ValidationError(
            f"This invitation is for {invitation.email}; you are signed in as"
            f" {user.get_username()}. Sign out, then open the link again.",
            code=REFUSED,
        )
    existing = membership_of(user=user, organization=organization)
    if existing is not None:
        message = (
            f"You are already a member of {organization.name}."
            if existing.deactivated_at is None
            else f"Your membership of {organization.name} was deactivated. " + ASK_AGAIN
        )
        raise ValidationError(message, code=REFUSED)
    membership = Membership.objects.create(
        organization=organization, user=user, role=invitation.role
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_membership = membership
    invitation.save(update_fields=["accepted_at", "accepted_membership"])
    auth_event_record(
        kind=AuthEvent.Kind.INVITATION_ACCEPTED,
        request=request,
        user=user,
        organization=organization,
        detail={"email": invitation.email, "role": invitation.role},
    )
    return membership


def _account_create(invitation: Invitation, *, username: str, password: str) -> AbstractBaseUser:
    User = get_user_model()
    username = (username or "").strip()
    if not username:
        raise ValidationError({"username": "Choose a username."})
    if not password:
        raise ValidationError({"password1": "Choose a password."})
    if account_for_email(invitation.email) is not None:
        raise ValidationError(
            "An account with this email already exists: sign in with it, then open the link again.",
            code=REFUSED,
        )
    if User._default_manager.filter(username__iexact=username).exists():
        raise ValidationError({"username": "That username is taken: choose another."})
    first_name, _, last_name = invitation.name.partition(" ")
    try:
        with transaction.atomic():
            return User._default_manager.create_user(
                username=username,
                email=invitation.email,
                password=password,
                first_name=first_name[:150],
                last_name=last_name[:150],
            )
    except IntegrityError:
        raise ValidationError({"username": "That username is taken: choose another."}) from None


__all__ = [
    "INVITATION_DAYS",
    "InvitationLinkError",
    "account_for_email",
    "invitation_accept",
    "invitation_create",
    "invitation_from_link",
    "invitation_link_organization_id",
    "invitation_link_url",
    "invitation_list",
    "invitation_resend",
    "invitation_revoke",
    "invitation_token",
    "member_deactivate",
    "member_reactivate",
    "member_role_change",
    "membership_of",
    "team_member_list",
]
