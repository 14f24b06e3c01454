"""The audit log of sessions and API tokens (:class:`AuthEvent`): its one
writer, its one reader, the signal receivers that feed it, and the client
address every part of msops records.

Sign-ins, failed sign-ins, lockouts and sign-outs come from Django's auth
signals and django-axes' ``user_locked_out`` (connected in
:meth:`msops.tenancy.apps.TenancyConfig.ready`); token events are recorded by
the token services. A session event belongs to no organization; a token event
to the token's.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django_scopes import scopes_disabled

from . import rls
from .models import AuthEvent, Membership, Organization
from .scoping import activate_organization

USER_AGENT_LENGTH = AuthEvent._meta.get_field("user_agent").max_length
USERNAME_LENGTH = AuthEvent._meta.get_field("username").max_length


def client_ip_address(request: HttpRequest) -> str | None:
    """The client's address: behind ``TRUSTED_PROXY_HOPS`` proxies, the entry
    of X-Forwarded-For the nearest trusted proxy saw (entries further left are
    what the client claims, and are not trusted); without proxies, the
    connection's. django-axes counts failures per this address too."""
    hops = settings.TRUSTED_PROXY_HOPS
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [a for a in forwarded if a]
    address = (
        forwarded[-hops] if hops and len(forwarded) >= hops else request.META.get("REMOTE_ADDR")
    )
    try:
        return str(ipaddress.ip_address(address)) if address else None
    except ValueError:
        return None


def auth_event_record(
    *,
    kind: str,
    request: HttpRequest | None = None,
    user: AbstractBaseUser | None = None,
    username: str = "",
    organization: Organization | None = None,
    detail: dict[str, Any] | None = None,
) -> AuthEvent:
    """Append one event. An organization's event is written as that
    organization (row-level security sees it as the tenant's); a session
    event belongs to no organization and is written through the documented
    bypass, since no tenant owns it."""
    if kind not in AuthEvent.Kind.values:
        raise ValueError(f"“{kind}” is not an audit event kind.")
    if user is not None and not getattr(user, "pk", None):
        user = None  # AnonymousUser, or a user not saved
    event = AuthEvent(
        organization=organization,
        user=user,
        username=(username or (user.get_username() if user else ""))[:USERNAME_LENGTH],
        kind=kind,
        ip_address=client_ip_address(request) if request is not None else None,
        user_agent=(request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_LENGTH] if request else ""),
        detail=detail or {},
    )
    if organization is not None:
        with activate_organization(organization):
            event.save()
    else:
        with rls.bypass():
            event.save()
    return event


def auth_event_list(*, organization: Organization) -> QuerySet[AuthEvent]:
    """What the organization's admins read, newest first: its own token
    events, and the session events of the people who are its members (a
    sign-in belongs to no organization, so it shows to each of theirs).

    Session rows have no organization: row-level security shows an
    organization those of its own members (the audit log's own policy)."""
    with scopes_disabled():
        members = Membership.objects.filter(organization=organization).values("user_id")
        return (
            AuthEvent.objects.filter(
                Q(organization=organization) | Q(organization__isnull=True, user__in=members)
            )
            .select_related("user", "organization")
            .order_by("-at", "-pk")
        )


# --- signal receivers: each calls the one writer ---------------------------------------
def _user_for(username: str) -> AbstractBaseUser | None:
    """The account a failed sign-in tried, so its organizations' admins see it."""
    if not username:
        return None
    User = get_user_model()
    return User._default_manager.filter(**{User.USERNAME_FIELD: username}).first()


def on_user_logged_in(sender, request: HttpRequest | None = None, user=None, **kwargs) -> None:
    auth_event_record(kind=AuthEvent.Kind.SIGNED_IN, request=request, user=user)


def on_user_logged_out(sender, request: HttpRequest | None = None, user=None, **kwargs) -> None:
    if user is None or not user.is_authenticated:
        return  # signing out without a session records nothing
    auth_event_record(kind=AuthEvent.Kind.SIGNED_OUT, request=request, user=user)


def on_user_login_failed(
    sender, credentials: dict | None = None, request: HttpRequest | None = None, **kwargs
) -> None:
    """A wrong password. A try that django-axes refused (a locked-out pair),
    or the one that reached the limit, is recorded once, as the lockout: axes'
    own receiver runs first (connected when :mod:`axes.signals` is imported,
    which this module does) and marks the request."""
    if request is not None and getattr(request, "axes_locked_out", False):
        return
    username = str((credentials or {}).get(get_user_model().USERNAME_FIELD, "") or "")
    auth_event_record(
        kind=AuthEvent.Kind.SIGN_IN_FAILED,
        request=request,
        user=_user_for(username),
        username=username,
    )


def on_user_locked_out(
    sender, request: HttpRequest | None = None, username: str | None = None, **kwargs
) -> None:
    username = str(username or "")
    auth_event_record(
        kind=AuthEvent.Kind.LOCKED_OUT,
        request=request,
        user=_user_for(username),
        username=username,
        detail={
            "failure_limit": settings.AXES_FAILURE_LIMIT,
            "cool_off_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
        },
    )


def connect_receivers() -> None:
    from axes.signals import user_locked_out  # connects axes' receivers first

    user_logged_in.connect(on_user_logged_in, dispatch_uid="msops_audit_logged_in")
    user_logged_out.connect(on_user_logged_out, dispatch_uid="msops_audit_logged_out")
    user_login_failed.connect(on_user_login_failed, dispatch_uid="msops_audit_login_failed")
    user_locked_out.connect(on_user_locked_out, dispatch_uid="msops_audit_locked_out")
