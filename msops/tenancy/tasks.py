"""Celery plumbing for tenant work.

A tenant task takes ``organization_id`` explicitly, loads the organization and
runs inside its scope (through the one activation helper). Queue tenant tasks
with :func:`enqueue_for` so they are sent only once the transaction commits.
"""

import logging

from celery import shared_task
from celery.contrib.django.task import DjangoTask
from django.db import transaction

from .models import Organization
from .scoping import activate_organization
from .services import api_tokens_expire

logger = logging.getLogger(__name__)


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
    """Send ``task`` for ``organization`` once the current transaction commits.

    A broker that is down never fails the request that already saved its
    work: the send is logged and dropped, and the periodic sweeps catch up."""
    organization_id = organization.pk

    def send() -> None:
        try:
            task.apply_async(kwargs={"organization_id": organization_id, **kwargs}, retry=False)
        except Exception:
            logger.warning(
                "broker unavailable: %s for organization %s left to the sweep",
                task.name,
                organization_id,
                exc_info=True,
            )

    transaction.on_commit(send)


@shared_task(base=TenantTask)
def api_tokens_expire_task(organization: Organization) -> int:
    return api_tokens_expire(organization=organization)


@shared_task
def api_tokens_expire_all() -> int:
    """Beat: fan out one expiry task per organization."""
    return fan_out(api_tokens_expire_task)


def fan_out(task, **kwargs) -> int:
    """Beat helper: send ``task`` once per organization, each in its own scope."""
    ids = list(Organization.objects.order_by("pk").values_list("pk", flat=True))
    for organization_id in ids:
        task.apply_async(kwargs={"organization_id": organization_id, **kwargs})
    return len(ids)
