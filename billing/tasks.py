"""Celery tasks of the billing layer: each takes its organization explicitly
(TenantTask) and calls a service."""

from celery import shared_task

from msops.tenancy.models import Organization
from msops.tenancy.tasks import TenantTask, fan_out

from .digests import digests_send
from .flags import flags_check_ticket, flags_sweep
from .notifications import send_email
from .review import review_queue_build, review_queue_due


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_email_task(*, to: list[str], subject: str, body: str) -> None:
    send_email(to=to, subject=subject, body=body)


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
