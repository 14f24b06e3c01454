"""Celery tasks of the transitions layer: each takes its organization
explicitly (TenantTask) and calls a service."""

from celery import shared_task

from msops.tenancy.models import Organization
from msops.tenancy.tasks import TenantTask, fan_out

from .overdue import recurring_overdue_flags
from .review_pack import review_packs_prepare
from .services import recurring_tasks_open_due


@shared_task(base=TenantTask)
def recurring_tasks_open_due_task(organization: Organization) -> int:
    """Open the tickets of the occurrences due by today, then flag the
    occurrences whose due date passed with their ticket still open (after
    opening, so an occurrence this run caught up on late is flagged at once).
    Returns how many tickets were opened."""
    opened = recurring_tasks_open_due(organization=organization)
    recurring_overdue_flags(organization=organization)
    return opened


@shared_task
def recurring_tasks_open_due_all() -> int:
    """Beat: one run per organization; each opens what is due by its own today."""
    return fan_out(recurring_tasks_open_due_task)


@shared_task(base=TenantTask)
def review_packs_prepare_task(organization: Organization) -> int:
    """Prepare the review packs due within a week that are not prepared yet
    (transitions/review_pack.py). Returns how many it prepared."""
    return review_packs_prepare(organization=organization)


@shared_task
def review_packs_prepare_all() -> int:
    """Beat (daily): one run per organization, each against its own today."""
    return fan_out(review_packs_prepare_task)
