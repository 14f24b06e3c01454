"""The Celery app. Tasks are enqueued on commit, acknowledged late and
redelivered if a worker dies; the beat schedule lives here, in code."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "msops.settings")

app = Celery("msops", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    timezone="UTC",
    enable_utc=True,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    task_time_limit=30 * 60,
    task_soft_time_limit=25 * 60,
    broker_connection_retry_on_startup=True,
    task_serializer="json",
    accept_content=["json"],
    broker_connection_timeout=2,
    beat_schedule={
        "api-tokens-expire": {
            "task": "msops.tenancy.tasks.api_tokens_expire_all",
            "schedule": 15 * 60,
        },
        # The safety net behind the on-commit ticket checks.
        "flags-sweep": {"task": "billing.tasks.flags_sweep_all", "schedule": 10 * 60},
        # Hourly, so each organization's queue is built within the hour its week starts.
        "review-queues": {"task": "billing.tasks.review_queues_build_due", "schedule": 60 * 60},
        "digests": {"task": "billing.tasks.digests_send_all", "schedule": 60 * 60},
        # Hourly, so each organization's occurrences open soon after its own midnight.
        "recurring-tasks": {
            "task": "transitions.tasks.recurring_tasks_open_due_all",
            "schedule": 60 * 60,
        },
        # Daily: packs are prepared up to a week ahead of each review, so the hour
        # does not matter; a run that finds a pack prepared leaves it alone.
        "review-packs": {
            "task": "transitions.tasks.review_packs_prepare_all",
            "schedule": 24 * 60 * 60,
        },
    },
)
app.autodiscover_tasks()
app.autodiscover_tasks(["msops.tenancy"])
