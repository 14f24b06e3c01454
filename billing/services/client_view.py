"""The client view link: a signed, expiring, revocable link for one client
contact to read the client's figures without an account. Every view is
logged (time, network address, browser). The token names the organization,
the link and its nonce; the link row says whether it still works."""

import datetime
import secrets

from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from clients.models import Client
from msops.tenancy.models import Membership, Role

from ..models import ClientViewEvent, ClientViewLink
from ._common import require_role

CLIENT_VIEW_SALT = "msops.billing.client-view"
CLIENT_VIEW_DAYS = 30  # the default life of a link
CLIENT_VIEW_MAX_DAYS = 90
USER_AGENT_MAX = ClientViewEvent._meta.get_field("user_agent").max_length
# The column's length: addresses of up to 320 characters pass validate_email.
CONTACT_EMAIL_MAX = ClientViewLink._meta.get_field("contact_email").max_length
# Who manages a client's links: admins, and the client's own account manager.
LINK_MANAGERS = frozenset({Role.ACCOUNT_MANAGER, Role.ADMIN})

VIEW_INVALID = "This link is not valid."
VIEW_EXPIRED = "This link has expired. Ask your account manager for a new one."
VIEW_REVOKED = "This link is no longer valid. Ask your account manager for a new one."


class ClientViewError(Exception):
    """The link is invalid, expired or revoked. The message is safe to show:
    it names no client and no organization. ``reason`` is ``invalid`` (never
    a link of ours, or another nonce), ``expired`` or ``revoked``."""

    INVALID = "invalid"
    EXPIRED = "expired"
    REVOKED = "revoked"

    def __init__(self, message: str = VIEW_INVALID, reason: str = INVALID):
        super().__init__(message)
        self.reason = reason


def can_manage_client_view(*, membership: Membership | None, client: Client) -> bool:
    """Admins manage every client's links; an account manager their own clients'."""
    if membership is None or membership.organization_id != client.organization_id:
        return False
    if membership.role == Role.ADMIN:
        return True
    return membership.role == Role.ACCOUNT_MANAGER and client.account_manager_id == membership.pk


def _require_manager(actor: Membership, client: Client) -> None:
    require_role(actor, LINK_MANAGERS, client.organization_id)
    if not can_manage_client_view(membership=actor, client=client):
        raise PermissionDenied("Only the client's account manager or an admin can do this.")


def client_view_token(*, link: ClientViewLink) -> str:
    """The signed token of the link (valid while the link is)."""
    return signing.dumps(
        {"o": link.organization_id, "l": link.pk, "n": link.nonce},
        salt=CLIENT_VIEW_SALT,
        compress=True,
    )


@transaction.atomic
def client_view_link_create(
    *,
    client: Client,
    actor: Membership,
    contact_name: str,
    contact_email: str,
    days: int | None = None,
) -> ClientViewLink:
    """A new link for one client contact, expiring after ``days`` (default
    30, at most 90)."""
    _require_manager(actor, client)
    if client.status == Client.Status.ENDED:
        raise ValidationError(
            {"client": "This client has ended: its contacts can no longer get a client view."}
        )
    errors = {}
    contact_name = (contact_name or "").strip()
    if not contact_name:
        errors["contact_name"] = "Name the client contact the link is for."
    elif len(contact_name) > 200:
        errors["contact_name"] = "At most 200 characters."
    contact_email = (contact_email or "").strip()
    if len(contact_email) > CONTACT_EMAIL_MAX:
        errors["contact_email"] = f"At most {CONTACT_EMAIL_MAX} characters."
    else:
        try:
            validate_email(contact_email)
        except ValidationError:
            errors["contact_email"] = "Enter the client contact's email address."
    days = CLIENT_VIEW_DAYS if days is None else days
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= CLIENT_VIEW_MAX_DAYS:
        errors["days"] = f"Choose between 1 and {CLIENT_VIEW_MAX_DAYS} days."
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    return ClientViewLink.objects.create(
        organization_id=client.organization_id,
        client=client,
        contact_name=contact_name,
        contact_email=contact_email,
        nonce=secrets.token_hex(16),
        expires_at=now + datetime.timedelta(days=days),
        created_by=actor,
        created_at=now,
    )


@transaction.atomic
def client_view_link_revoke(*, link: ClientViewLink, actor: Membership) -> ClientViewLink:
    """End the link for good (revoking a revoked link changes nothing)."""
    _require_manager(actor, link.client)
    current = ClientViewLink.objects.select_for_update().get(
        organization=link.organization_id, pk=link.pk
    )
    if current.revoked_at is None:
        current.revoked_at = timezone.now()
        current.revoked_by = actor
        current.save(update_fields=["revoked_at", "revoked_by"])
    return current


def client_view_organization_id(token: str) -> int:
    """The organization a client view link belongs to (signature checked)."""
    return int(_payload(token)["o"])


def client_view_link_works(*, link: ClientViewLink, now=None) -> bool:
    """Neither revoked nor expired, and the client has not ended."""
    return link.is_active(now) and link.client.status != Client.Status.ENDED


def client_view_from_token(*, token: str) -> ClientViewLink:
    """Resolve a client view token. Raises :class:`ClientViewError`. Must run
    inside the scope of the organization named in the token (see the view).
    A link of a client that has ended is refused as not valid (it names
    nothing, as for a link that never was)."""
    payload = _payload(token)
    link = (
        ClientViewLink.objects.select_related("client", "organization")
        .filter(organization=payload["o"], pk=payload["l"])
        .first()
    )
    if link is None or not secrets.compare_digest(link.nonce, payload["n"]):
        raise ClientViewError(VIEW_INVALID, ClientViewError.INVALID)
    if link.client.status == Client.Status.ENDED:
        raise ClientViewError(VIEW_INVALID, ClientViewError.INVALID)
    if link.revoked_at is not None:
        raise ClientViewError(VIEW_REVOKED, ClientViewError.REVOKED)
    if link.expires_at <= timezone.now():
        raise ClientViewError(VIEW_EXPIRED, ClientViewError.EXPIRED)
    return link


@transaction.atomic
def client_view_log(
    *, link: ClientViewLink, ip: str | None, user_agent: str | None
) -> ClientViewEvent:
    """Record one view of the link and when it was last viewed."""
    now = timezone.now()
    event = ClientViewEvent.objects.create(
        organization_id=link.organization_id,
        link=link,
        viewed_at=now,
        ip=ip or None,
        user_agent=(user_agent or "")[:USER_AGENT_MAX],
    )
    ClientViewLink.objects.filter(organization=link.organization_id, pk=link.pk).update(
        last_viewed_at=now
    )
    link.last_viewed_at = now
    return event


def _payload(token: str) -> dict:
    try:
        payload = signing.loads(
            token,
            salt=CLIENT_VIEW_SALT,
            max_age=datetime.timedelta(days=CLIENT_VIEW_MAX_DAYS + 1),
        )
    except signing.SignatureExpired:
        raise ClientViewError(VIEW_EXPIRED, ClientViewError.EXPIRED) from None
    except signing.BadSignature:
        raise ClientViewError(VIEW_INVALID, ClientViewError.INVALID) from None
    if not isinstance(payload, dict) or not {"o", "l", "n"} <= set(payload):
        raise ClientViewError(VIEW_INVALID, ClientViewError.INVALID)
    try:
        payload["o"], payload["l"] = int(payload["o"]), int(payload["l"])
    except (TypeError, ValueError):
        raise ClientViewError(VIEW_INVALID, ClientViewError.INVALID) from None
    if not isinstance(payload["n"], str):
        raise ClientViewError(VIEW_INVALID, ClientViewError.INVALID)
    return payload
