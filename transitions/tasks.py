"""Celery tasks of the transitions layer: each takes its organization
explicitly (TenantTask) and calls a service."""

from celery import shared_task

from msops.tenancy.models import Organization
from msops.tenancy.tasks import TenantTask, fan_out

from .services import recurring_tasks_open_due


@shared_task(base=TenantTask)
def recurring_tasks_open_due_task(organization: Organization) -> int:
    return recurring_tasks_open_due(organization=organization)


@shared_task
def recurring_tasks_open_due_all() -> int:
    """Beat: one run per organization; each opens what is due by its own today."""
    return fan_out(recurring_tasks_open_due_task)
