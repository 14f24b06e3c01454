"""The one place where an organization becomes the active tenant.

The middleware, the API, Celery tasks and management commands all call
:func:`activate_organization`. A second wall (PostgreSQL row-level security
keyed on the same organization) hooks in here and nowhere else.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django_scopes import scope

from .models import Organization


@contextmanager
def activate_organization(organization: Organization) -> Iterator[Organization]:
    if organization is None or organization.pk is None:
        # Passing None to django-scopes would disable filtering: fail instead.
        raise ValueError("activate_organization needs a saved organization")
    with scope(organization=organization):
        yield organization
