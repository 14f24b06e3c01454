"""Data for the tenant isolation test (tests/test_tenant_isolation.py).

Every named URL pattern and every API route must be classified here; the test
fails for any route that is not. A new model or route is covered by adding
data: a world builder that creates the app's objects for an organization, and
a ``ROUTES`` entry naming which world object fills each URL argument.
"""

from collections.abc import Callable

from django_scopes import scopes_disabled

from msops.tenancy.models import Organization, Role
from msops.tenancy.services import api_token_create
from msops.tenancy.team import invitation_create
from tests.billing import isolation as billing_isolation
from tests.clients import isolation as clients_isolation
from tests.factories import MembershipFactory
from tests.isolation_types import Route, collection, exempt, obj
from tests.tickets import isolation as tickets_isolation
from tests.transitions import isolation as transitions_isolation

# Text that appears in the second organization's rows: it must never appear
# in any answer given to the first organization.
CANARY = "CANARY-b7f3a9"


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
    "tenancy:auth_event_list": collection(),
    "api:organization-detail": collection(),
    "api:membership-list": collection(),
    "api:membership-detail": obj(pk="membership"),
    "api:auth-event-list": collection(),
    # msops.tenancy: team management (msops/tenancy/team_views.py, msops/tenancy/api/team.py)
    "tenancy:team": collection(),
    "tenancy:team_member_role": obj(pk="membership"),
    "tenancy:team_member_deactivate": obj(pk="membership"),
    "tenancy:team_member_reactivate": obj(pk="membership"),
    "tenancy:team_invitation_resend": obj(pk="invitation"),
    "tenancy:team_invitation_revoke": obj(pk="invitation"),
    "invitation_accept": exempt(
        "the invitee's signed, single-use link: no login, no organization URL; the"
        " organization comes from the signed token (tests/tenancy/test_team.py)"
    ),
    "api:invitation-list": collection(),
    "api:invitation-detail": obj(pk="invitation"),
    "api:invitation-resend": obj(pk="invitation"),
    "api:invitation-revoke": obj(pk="invitation"),
    "api:membership-role": obj(pk="membership"),
    "api:membership-deactivate": obj(pk="membership"),
    "api:membership-reactivate": obj(pk="membership"),
    **clients_isolation.ROUTES,
    **tickets_isolation.ROUTES,
    **billing_isolation.ROUTES,
    **transitions_isolation.ROUTES,
    # billing: a ticket's own billing moments (billing/api/decisions.py)
    "api:ticket-moment-out-of-scope": obj(pk="ticket"),
    "api:ticket-moment-change-request": obj(pk="ticket"),
}

# Whole namespaces exempt from the walk, with the reason.
EXEMPT_NAMESPACES = {
    "admin": "Django admin: staff only, rows limited by TenantAdmin (tests/*/test_admin.py)",
}


def _tenancy_world(organization: Organization, tag: str, world: dict) -> dict:
    member = MembershipFactory(
        organization=organization, role=Role.ADMIN, user__username=f"owner-{tag}"
    )
    token = api_token_create(membership=member, name=f"{tag} token").token
    return {"membership": member, "token": token}


def _team_world(organization: Organization, tag: str, world: dict) -> dict:
    invitation = invitation_create(
        organization=organization,
        email=f"invitee-{tag}@example.com",
        name=f"{tag} invitee",
        role=Role.FINANCE,
        invited_by=world["membership"],
        link_url=lambda token: f"http://testserver/invitations/{token}/",
    )
    return {"invitation": invitation}


# Each builder gets (organization, tag, world so far) and returns {world key:
# object}. The tag is the canary for the second organization, so its rows carry it.
WORLD_BUILDERS: list[Callable[[Organization, str, dict], dict]] = [
    _tenancy_world,
    _team_world,
    clients_isolation.build,
    tickets_isolation.build,
    billing_isolation.build,
    transitions_isolation.build,
]


def build_world(organization: Organization, tag: str) -> dict:
    world: dict = {}
    with scopes_disabled():
        for builder in WORLD_BUILDERS:
            world.update(builder(organization, tag, world))
    return world
