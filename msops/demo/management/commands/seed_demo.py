"""Create (or refresh) the demo practices. Idempotent: running it twice
changes nothing the second time."""

from django.core.management.base import BaseCommand
from django.db import transaction

from msops.tenancy.models import Organization, Role
from msops.tenancy.scoping import activate_organization
from msops.tenancy.services import membership_create, organization_create, user_create

DEMO_PASSWORD = "msops-demo"  # noqa: S105 - printed demo credential, not a secret

PRACTICES = [
    {
        "name": "Northwind IT Services",
        "slug": "northwind",
        "timezone": "Europe/Amsterdam",
        "currency": "EUR",
        "users": [
            ("dev", Role.DEVELOPER, "Dana Developer"),
            ("am", Role.ACCOUNT_MANAGER, "Alex Account-Manager"),
            ("finance", Role.FINANCE, "Fran Finance"),
            ("admin", Role.ADMIN, "Ada Admin"),
        ],
    },
    {
        "name": "Contoso Digital",
        "slug": "contoso",
        "timezone": "America/New_York",
        "currency": "USD",
        "users": [
            ("contoso-admin", Role.ADMIN, "Casey Contoso"),
            ("admin", Role.DEVELOPER, "Ada Admin"),
        ],
    },
]


class Command(BaseCommand):
    help = "Seed the demo practices with a user for every role (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        rows = []
        for practice in PRACTICES:
            organization = Organization.objects.filter(slug=practice["slug"]).first()
            if organization is None:
                organization = organization_create(
                    name=practice["name"],
                    slug=practice["slug"],
                    timezone=practice["timezone"],
                    currency=practice["currency"],
                )
            with activate_organization(organization):
                for username, role, full_name in practice["users"]:
                    first, _, last = full_name.partition(" ")
                    user = user_create(
                        username=username,
                        password=DEMO_PASSWORD,
                        email=f"{username}@example.com",
                        first_name=first,
                        last_name=last,
                        is_staff=role == Role.ADMIN,
                    )
                    membership_create(organization=organization, user=user, role=role)
                    rows.append((organization.slug, username, role))
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for slug, username, role in rows:
            self.stdout.write(f"  {username:<15} {role:<16} /o/{slug}/")
