"""Celery plumbing for tenant work.

A tenant task takes ``organization_id`` explicitly, loads the organization and
runs inside its scope (through the one activation helper). Queue tenant tasks
with :func:`enqueue_for` so they are sent only once the transaction commits.
"""

from celery import shared_task
from celery.contrib.django.task import DjangoTask
from django.db import transaction

from .models import Organization
from .scoping import activate_organization
from .services import api_tokens_expire


class TenantTask(DjangoTask):
    """Base class: ``task(organization_id=..., **kwargs)`` runs the body as
    ``body(organization, **kwargs)`` inside the organization's scope."""

    abstract = True
    typing = False  # callers pass organization_id; the body receives the organization

    def __call__(self, *args, organization_id: int, **kwargs):
        organization = Organization.objects.get(pk=organization_id)
        with activate_organization(organization):
            return super().__call__(organization, *args, **kwargs)


def enqueue_for(task, organization: Organization, **kwargs) -> None:
    """Send ``task`` for ``organization`` once the current transaction commits."""
    organization_id = organization.pk
    transaction.on_commit(
        lambda: task.apply_async(kwargs={"organization_id": organization_id, **kwargs})
    )


@shared_task(base=TenantTask)
def api_tokens_expire_task(organization: Organization) -> int:
    return api_tokens_expire(organization=organization)


@shared_task
def api_tokens_expire_all() -> int:
    """Beat: fan out one expiry task per organization."""
    ids = list(Organization.objects.values_list("pk", flat=True))
    for organization_id in ids:
        api_tokens_expire_task.apply_async(kwargs={"organization_id": organization_id})
    return len(ids)
