"""Email notifications, sent after the transaction commits.

Sending goes through Celery so a slow mail server never holds a request; if
the broker is down the mail is sent in-process instead, so nothing decided in
the browser depends on the broker being up.

The task lives here, beside what it sends, so services can notify without
importing an app's tasks module. It keeps the name it was registered under
(``billing.tasks.send_email_task``) so mail queued before a deploy is still
delivered.

Every notification ends with links to the pages it is about, made with
:func:`absolute_url` from ``settings.SITE_URL`` (mail has no request to take a
host from)."""

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

logger = logging.getLogger(__name__)


def absolute_url(path: str) -> str:
    """A path from ``reverse()`` as a link a mail reader can open: joined with
    ``settings.SITE_URL``, the address people reach msops at."""
    return f"{settings.SITE_URL.rstrip('/')}/{path.lstrip('/')}"


def notify(*, to: list[str], subject: str, body: str) -> None:
    recipients = [address for address in to if address]
    if not recipients:
        return
    transaction.on_commit(lambda: _send(to=recipients, subject=subject, body=body))


def _send(*, to: list[str], subject: str, body: str) -> None:
    try:
        send_email_task.apply_async(
            kwargs={"to": to, "subject": subject, "body": body}, retry=False
        )
    except Exception:  # broker unreachable: send now rather than lose the mail
        logger.warning("broker unavailable; sending “%s” in-process", subject, exc_info=True)
        send_email(to=to, subject=subject, body=body)


def send_email(*, to: list[str], subject: str, body: str) -> None:
    send_mail(subject=subject[:250], message=body, from_email=None, recipient_list=to)


@shared_task(
    name="billing.tasks.send_email_task",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def send_email_task(*, to: list[str], subject: str, body: str) -> None:
    send_email(to=to, subject=subject, body=body)
