"""The one place where an organization becomes the active tenant.

The middleware, the API, Celery tasks and management commands all call
:func:`activate_organization`. It enters both walls: the django-scopes scope
(every tenant manager filters by the organization, and raises outside one)
and PostgreSQL row-level security (the organization is set in each
transaction, ``SET LOCAL``, see :mod:`msops.tenancy.rls`).
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django_scopes import scope

from . import rls
from .models import Organization


@contextmanager
def activate_organization(organization: Organization) -> Iterator[Organization]:
    if organization is None or organization.pk is None:
        # Passing None to django-scopes would disable filtering: fail instead.
        raise ValueError("activate_organization needs a saved organization")
    with scope(organization=organization), rls.tenant_transactions(organization.pk):
        yield organization
