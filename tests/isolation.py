"""Data for the tenant isolation test (tests/test_tenant_isolation.py).

Every named URL pattern and every API route must be classified here; the test
fails for any route that is not. A new model or route is covered by adding
data: a world builder that creates the app's objects for an organization, and
a ``ROUTES`` entry naming which world object fills each URL argument.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django_scopes import scopes_disabled

from msops.tenancy.models import Organization, Role
from msops.tenancy.services import api_token_create
from tests.factories import MembershipFactory

# Text that appears in the second organization's rows: it must never appear
# in any answer given to the first organization.
CANARY = "CANARY-b7f3a9"


@dataclass(frozen=True)
class Route:
    kind: str  # "object", "collection" or "exempt"
    objects: dict[str, str] = field(default_factory=dict)  # URL kwarg → world key
    reason: str = ""


def obj(**objects: str) -> Route:
    """A route that addresses one tenant object (e.g. ``pk="token"``)."""
    return Route("object", objects)


def collection() -> Route:
    """A tenant route with no object in its URL: lists, create forms, home pages."""
    return Route("collection")


def exempt(reason: str) -> Route:
    return Route("exempt", reason=reason)


ROUTES: dict[str, Route] = {
    # Outside any organization.
    "home": exempt("lists only the signed-in user's own memberships"),
    "login": exempt("authentication, no tenant data"),
    "logout": exempt("authentication, no tenant data"),
    "api_schema": exempt("OpenAPI schema: structure only, no rows"),
    "api_docs": exempt("Swagger UI shell: static, no rows"),
    # msops.tenancy
    "tenancy:organization_home": collection(),
    "tenancy:api_token_list": collection(),
    "tenancy:api_token_revoke": obj(pk="token"),
    "api:organization-detail": collection(),
    "api:membership-list": collection(),
    "api:membership-detail": obj(pk="membership"),
}

# Whole namespaces exempt from the walk, with the reason.
EXEMPT_NAMESPACES = {
    "admin": "Django admin: staff only, rows limited by TenantAdmin (tests/test_admin.py)",
}


def _tenancy_world(organization: Organization, tag: str) -> dict:
    member = MembershipFactory(
        organization=organization, role=Role.ADMIN, user__username=f"owner-{tag}"
    )
    token = api_token_create(membership=member, name=f"{tag} token").token
    return {"membership": member, "token": token}


# Each builder gets (organization, tag) and returns {world key: object}. The
# tag is the canary for the second organization, so its rows carry it.
WORLD_BUILDERS: list[Callable[[Organization, str], dict]] = [
    _tenancy_world,
]


def build_world(organization: Organization, tag: str) -> dict:
    world: dict = {}
    with scopes_disabled():
        for builder in WORLD_BUILDERS:
            world.update(builder(organization, tag))
    return world
