"""Writes of the tenancy core: organizations, memberships, API tokens."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_scopes import scopes_disabled

from .audit import auth_event_record
from .models import ApiToken, AuthEvent, Membership, Organization, Role

TOKEN_PREFIX = "msops_"  # noqa: S105 - a public marker, not a secret


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def organization_create(*, name: str, slug: str, **fields) -> Organization:
    organization = Organization(name=name, slug=slug, **fields)
    organization.full_clean()
    organization.save()
    return organization


@transaction.atomic
def membership_create(
    *, organization: Organization, user, role: str = Role.DEVELOPER
) -> Membership:
    if role not in Role.values:
        raise ValidationError({"role": f"“{role}” is not a role."})
    membership, created = Membership.objects.get_or_create(
        organization=organization, user=user, defaults={"role": role}
    )
    if not created and membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    raw: str  # shown once, never stored


@transaction.atomic
def api_token_create(
    *,
    membership: Membership,
    name: str,
    expires_at: datetime | None = None,
    request: HttpRequest | None = None,
) -> IssuedToken:
    """``request``, when a person asked, gives the audit log its address."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the token a name so you can recognise it later."})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    prefix = secrets.token_hex(4)
    raw = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        organization_id=membership.organization_id,
        membership=membership,
        name=name[:100],
        prefix=prefix,
        token_hash=_hash_token(raw),
        expires_at=expires_at,
    )
    _token_event(token, AuthEvent.Kind.TOKEN_CREATED, request=request)
    return IssuedToken(token=token, raw=raw)


@transaction.atomic
def api_token_revoke(*, token: ApiToken, request: HttpRequest | None = None) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        _token_event(token, AuthEvent.Kind.TOKEN_REVOKED, request=request)
    return token


def _token_event(token: ApiToken, kind: str, *, request: HttpRequest | None) -> None:
    auth_event_record(
        kind=kind,
        request=request,
        user=token.membership.user,
        organization=token.membership.organization,
        detail={"token": token.name, "prefix": token.prefix},
    )


def api_token_authenticate(*, raw: str, request: HttpRequest | None = None) -> ApiToken | None:
    """The token for a raw credential, if it is live. Looked up across
    organizations: the token is what tells us the organization. Its first
    use is recorded in the audit log once (``request`` gives the address).
    A deactivated member's token is refused, even if revoking it was missed."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    now = timezone.now()
    with scopes_disabled():
        token = (
            ApiToken.objects.select_related(
                "membership", "membership__user", "membership__organization"
            )
            .filter(token_hash=_hash_token(raw), revoked_at__isnull=True)
            .first()
        )
        if token is None or (token.expires_at and token.expires_at <= now):
            return None
        if not token.membership.user.is_active or token.membership.deactivated_at is not None:
            return None
        if token.last_used_at is None:
            # Exactly once, even when two first requests race: only one update finds it unused.
            if ApiToken.objects.filter(pk=token.pk, last_used_at__isnull=True).update(
                last_used_at=now
            ):
                _token_event(token, AuthEvent.Kind.TOKEN_FIRST_USED, request=request)
        elif (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


@transaction.atomic
def api_tokens_expire(*, organization: Organization) -> int:
    """Revoke every token of the organization whose expiry has passed."""
    now = timezone.now()
    return ApiToken.objects.filter(
        organization=organization, revoked_at__isnull=True, expires_at__lte=now
    ).update(revoked_at=now)


def user_create(*, username: str, password: str, email: str = "", **fields):
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=username, defaults={"email": email, **fields}
    )
    if created:
        user.set_password(password)
        user.save()
    return user


__all__ = [
    "IssuedToken",
    "api_token_authenticate",
    "api_token_create",
    "api_token_revoke",
    "api_tokens_expire",
    "membership_create",
    "organization_create",
    "user_create",
]
