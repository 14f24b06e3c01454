"""Role checks: one helper for views, used by the DRF permission class too."""

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from .models import Membership, Role

ALL_ROLES = frozenset(Role.values)
MANAGERS = frozenset({Role.ACCOUNT_MANAGER, Role.ADMIN})
ADMINS = frozenset({Role.ADMIN})
# Money: finance and admins act on every client's; an account manager reads
# the money of the clients they manage (billing.selectors.finance_pages.money_reach).
FINANCE = frozenset({Role.FINANCE, Role.ADMIN})
MONEY_READERS = FINANCE | {Role.ACCOUNT_MANAGER}


def membership_has_role(membership: Membership | None, roles: Iterable[str]) -> bool:
    return membership is not None and membership.role in set(roles)


def require_role(request: HttpRequest, *roles: str) -> Membership:
    """Return the request's membership, or fail: no organization is a 404
    (never reveal a tenant), the wrong role in one's own organization a 403."""
    membership = getattr(request, "membership", None)
    if membership is None:
        raise Http404
    if roles and membership.role not in roles:
        raise PermissionDenied("Your role in this organization may not do this.")
    return membership
