"""Celery tasks of the billing layer: each calls a service."""

from celery import shared_task

from .notifications import send_email


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_email_task(*, to: list[str], subject: str, body: str) -> None:
    send_email(to=to, subject=subject, body=body)
