"""Celery tasks of the billing layer: each takes its organization explicitly
(TenantTask) and calls a service or selector. Nothing below the faces
imports this module: billing.services queues ``flags_check_ticket_task``
through a lazy import (see the import-linter contracts in pyproject.toml)."""

from celery import shared_task

from msops.mail import send_email_task
from msops.tenancy.models import Organization
from msops.tenancy.tasks import TenantTask, fan_out

from .flags import flags_check_ticket, flags_sweep
from .selectors.review import review_queue_due
from .services.digests import digests_send
from .services.periods import draft_run_execute
from .services.review import review_queue_build

__all__ = [
    "digests_send_all",
    "digests_send_task",
    "draft_run_task",
    "flags_check_ticket_task",
    "flags_sweep_all",
    "flags_sweep_task",
    "review_queue_build_if_due_task",
    "review_queue_build_task",
    "review_queues_build_due",
    "send_email_task",  # defined in msops/mail.py, registered under this module's name
]


@shared_task(base=TenantTask)
def flags_check_ticket_task(organization: Organization, ticket_id: int) -> int:
    return flags_check_ticket(organization=organization, ticket_id=ticket_id)


@shared_task(base=TenantTask)
def flags_sweep_task(organization: Organization) -> int:
    return flags_sweep(organization=organization).created


@shared_task
def flags_sweep_all() -> int:
    """Beat: one sweep per organization (catches what on-commit checks missed)."""
    return fan_out(flags_sweep_task)


@shared_task(base=TenantTask)
def review_queue_build_task(organization: Organization) -> int:
    return review_queue_build(organization=organization).created


@shared_task(base=TenantTask)
def review_queue_build_if_due_task(organization: Organization) -> bool:
    """Build the queue once the organization's own week has started."""
    if review_queue_due(organization=organization):
        review_queue_build(organization=organization)
        return True
    return False


@shared_task
def review_queues_build_due() -> int:
    """Beat, hourly: each organization gets its queue at the first tick of its week."""
    return fan_out(review_queue_build_if_due_task)


@shared_task(base=TenantTask)
def digests_send_task(organization: Organization) -> int:
    return digests_send(organization=organization)


@shared_task
def digests_send_all() -> int:
    return fan_out(digests_send_task)


@shared_task(base=TenantTask)
def draft_run_task(organization: Organization, run_id: int) -> int:
    """Compute every client's draft for a month (progress on the DraftRun)."""
    return draft_run_execute(organization=organization, run_id=run_id).done
