"""Data for the API fuzz test (tests/test_api_fuzz.py).

Two organizations, each with one row of every tenant model (the isolation
test's world builders, tests/isolation.py) and an admin's API token. The
fuzzer cannot guess ids, so this module also answers "which real id fills
this path parameter" (from the isolation test's route classification, so a
new route classified there is covered here too) and "which real ids fill
this body or query field".
"""

import re
from dataclasses import dataclass

from django.db.models import Model
from django.urls import resolve
from django_scopes import scopes_disabled

from billing.models import BillingPeriod, ExceptionFlag, InvoiceDraft, ReviewQueue
from clients.models import Client, Contract, RequestType
from msops.tenancy.models import Membership, Organization
from tests.factories import OrganizationFactory, token_for
from tests.isolation import CANARY, ROUTES, build_world
from tickets.models import Ticket

# Text in each organization's rows (names, notes, usernames): the other
# organization must never be shown it.
CANARY_A = "CANARYA-5e1d0c"
CANARY_B = CANARY

# Body and query fields that take the id of one of the caller's rows, and the
# model whose ids fill them. A field missing here is fuzzed with made-up
# numbers only, which the server refuses before reaching its real work.
ID_FIELDS: dict[str, type[Model]] = {
    "client": Client,
    "contract": Contract,
    "request_type": RequestType,
    "ticket": Ticket,
    "account_manager": Membership,
    "assignee": Membership,
    "person": Membership,
    "owner": Membership,
    "new_owner": Membership,
    "decided_by": Membership,
    "flag": ExceptionFlag,
    "queue": ReviewQueue,
    "draft": InvoiceDraft,
    "period": BillingPeriod,
    "corrects": BillingPeriod,
}

_PATH_PARAMETER = re.compile(r"\{([^}]+)\}")


@dataclass(frozen=True)
class FuzzOrganization:
    organization: Organization
    world: dict
    membership: Membership  # an admin: every operation is open to them
    token: str  # raw API token of ``membership``
    canary: str

    @property
    def authorization(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def ids(self, model: type[Model]) -> list[int]:
        with scopes_disabled():
            return sorted(
                model.objects.filter(organization=self.organization).values_list("pk", flat=True)
            )

    def path_parameters(self, path: str) -> dict[str, int] | None:
        """Real ids of this organization for the parameters of an API path
        such as ``/api/v1/tickets/{id}/``; ``None`` when the route is not
        classified (tests/isolation.py) or names no world object."""
        names = _PATH_PARAMETER.findall(path)
        if not names:
            return {}
        route = ROUTES.get(resolve(_PATH_PARAMETER.sub("1", path)).view_name)
        if route is None or route.kind != "object":
            return None
        values = {}
        for name in names:
            # The schema calls the router's ``pk`` kwarg ``id``.
            world_key = route.objects.get("pk" if name == "id" else name)
            if world_key is None or self.world.get(world_key) is None:
                return None
            values[name] = self.world[world_key].pk
        return values


def seed_two_organizations() -> tuple[FuzzOrganization, FuzzOrganization]:
    """Organization A (the caller) and B (the stranger), each with every kind of row."""
    seeded = []
    for name, slug, canary in (
        ("Alpha Practice", "alpha", CANARY_A),
        ("Beta Practice", "beta", CANARY_B),
    ):
        organization = OrganizationFactory(name=f"{name} {canary}", slug=slug)
        world = build_world(organization, canary)
        membership = world["membership"]
        seeded.append(
            FuzzOrganization(
                organization=organization,
                world=world,
                membership=membership,
                token=token_for(membership, name="fuzz"),
                canary=canary,
            )
        )
    return seeded[0], seeded[1]
