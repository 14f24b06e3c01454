from rest_framework.permissions import SAFE_METHODS, BasePermission

from ..roles import ALL_ROLES


class HasOrganizationRole(BasePermission):
    """The request must carry a membership (from its token). Views declare
    ``read_roles`` and ``write_roles`` (default: every role reads and writes),
    or ``action_roles = {"approve": {...}}`` for custom actions.
    A wrong role is a 403; an object of another organization never gets here
    (querysets are filtered by organization, so it is a 404)."""

    message = "Your role in this organization may not do this."

    def has_permission(self, request, view) -> bool:
        membership = getattr(request._request, "membership", None)
        if membership is None or request.auth is None:
            return False
        action = getattr(view, "action", None)
        action_roles = getattr(view, "action_roles", {}) or {}
        if action in action_roles:
            roles = action_roles[action]
        elif request.method in SAFE_METHODS:
            roles = getattr(view, "read_roles", ALL_ROLES)
        else:
            roles = getattr(view, "write_roles", ALL_ROLES)
        return membership.role in roles
