"""The client's signed link: a scope check the client approves or declines
without an account. The link is signed, expires and works once."""

import datetime

from django.core import signing
from django.utils import timezone

from ..models import ScopeCheck

CLIENT_LINK_SALT = "msops.billing.scope-check.client-link"
CLIENT_LINK_DAYS = 7


def scope_check_client_link(*, check: ScopeCheck) -> str:
    """The signed token of the check's client link (valid while the nonce is)."""
    return signing.dumps(
        {"o": check.organization_id, "c": check.pk, "n": check.client_link_nonce},
        salt=CLIENT_LINK_SALT,
        compress=True,
    )


class ClientLinkError(Exception):
    """The client link is invalid, expired or already used. The message is
    safe to show: it names no ticket or organization. ``reason`` is one of
    ``invalid`` (never a link of ours), ``expired`` or ``used`` (answered,
    withdrawn or replaced by a newer link)."""

    INVALID = "invalid"
    EXPIRED = "expired"
    USED = "used"

    def __init__(self, message: str, reason: str = INVALID):
        super().__init__(message)
        self.reason = reason


LINK_USED = "This link has already been used or is no longer valid."
LINK_EXPIRED = "This link has expired. Ask your account manager for a new one."
LINK_INVALID = "This link is not valid."


def scope_check_from_link(*, token: str) -> ScopeCheck:
    """Resolve a client link. Raises :class:`ClientLinkError`. Must run inside
    the scope of the organization named in the token (see the view)."""
    payload = _link_payload(token)
    check = (
        ScopeCheck.objects.select_related(
            "ticket__client", "ticket__organization", "decided_by__user"
        )
        .filter(organization=payload["o"], pk=payload["c"])
        .first()
    )
    if check is None:
        raise ClientLinkError(LINK_INVALID, ClientLinkError.INVALID)
    if (
        not check.client_link_nonce
        or check.client_link_nonce != payload["n"]
        or check.status != ScopeCheck.Status.AWAITING_CLIENT
    ):
        raise ClientLinkError(LINK_USED, ClientLinkError.USED)
    if check.client_link_expires_at and check.client_link_expires_at < timezone.now():
        raise ClientLinkError(LINK_EXPIRED, ClientLinkError.EXPIRED)
    return check


def link_organization_id(token: str) -> int:
    """The organization a client link belongs to (signature checked)."""
    return int(_link_payload(token)["o"])


def _link_payload(token: str) -> dict:
    try:
        payload = signing.loads(
            token, salt=CLIENT_LINK_SALT, max_age=datetime.timedelta(days=CLIENT_LINK_DAYS)
        )
    except signing.SignatureExpired:
        raise ClientLinkError(LINK_EXPIRED, ClientLinkError.EXPIRED) from None
    except signing.BadSignature:
        raise ClientLinkError(LINK_INVALID, ClientLinkError.INVALID) from None
    if not isinstance(payload, dict) or not {"o", "c", "n"} <= set(payload):
        raise ClientLinkError(LINK_INVALID, ClientLinkError.INVALID)
    try:
        payload["o"], payload["c"] = int(payload["o"]), int(payload["c"])
    except (TypeError, ValueError):
        raise ClientLinkError(LINK_INVALID, ClientLinkError.INVALID) from None
    return payload
