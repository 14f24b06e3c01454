"""Seed the django-helpdesk peer with as many tickets and follow-ups as msops's bench.

    var/peer-venv/bin/python bench/peer/helpdesk_seed.py --tickets 10000 --followups 10000

Run with the peer's virtualenv (bench/peer/helpdesk_setup.sh makes it). Resets
the helpdesk's data first (tickets, follow-ups, queues and their permissions,
the bench user), then writes a few queues, one staff superuser and the tickets
and follow-ups with bulk_create. Repeatable: the same arguments and --seed give
the same rows with the same ids (sequences restart at 1).
"""

import argparse
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

PROJECT = Path(__file__).resolve().parent / "helpdesk_project"
sys.path.insert(0, str(PROJECT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Permission  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from helpdesk.models import FollowUp, Queue, Ticket  # noqa: E402

USERNAME = "peer-admin"
PASSWORD = "peer-bench-password"  # noqa: S105 - a local benchmark login
QUEUES = ("support", "projects", "billing", "onboarding")
BATCH = 2000


def reset() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE helpdesk_followup, helpdesk_ticket, helpdesk_queue RESTART IDENTITY CASCADE"
        )
    Permission.objects.filter(codename__startswith="queue_access_").delete()
    get_user_model().objects.filter(username=USERNAME).delete()


def seed(*, tickets: int, followups: int, seed_value: int) -> dict:
    rng = random.Random(seed_value)
    now = timezone.now().replace(microsecond=0)
    user = get_user_model().objects.create_superuser(USERNAME, "peer-admin@example.com", PASSWORD)
    queues = [
        Queue.objects.create(title=slug.title(), slug=slug, email_address=f"{slug}@example.com")
        for slug in QUEUES
    ]
    statuses = [s for s, _ in Ticket.STATUS_CHOICES]

    rows = []
    for i in range(tickets):
        created = now - timedelta(days=120) + timedelta(minutes=rng.randrange(120 * 24 * 60))
        rows.append(
            Ticket(
                title=f"Ticket {i + 1}: printer on floor {rng.randrange(1, 9)} is offline",
                queue=queues[i % len(queues)],
                created=created,
                modified=created + timedelta(hours=rng.randrange(1, 72)),
                submitter_email=f"client{rng.randrange(500)}@example.com",
                assigned_to=user if i % 2 == 0 else None,
                status=rng.choice(statuses),
                priority=rng.randrange(1, 6),
                description="The printer shows an error and nobody can print.\n\n" * 3,
            )
        )
    made = Ticket.objects.bulk_create(rows, batch_size=BATCH)

    # Follow-ups spread evenly: with as many follow-ups as tickets, one each.
    rows = []
    for j in range(followups):
        ticket = made[j % len(made)]
        rows.append(
            FollowUp(
                ticket=ticket,
                date=ticket.created + timedelta(hours=1 + j // len(made)),
                title="Comment",
                comment="Checked the cable and restarted the spooler; waiting for the client.",
                public=j % 3 != 0,
                user=user,
                time_spent=timedelta(minutes=rng.choice((15, 30, 45, 60))),
            )
        )
    FollowUp.objects.bulk_create(rows, batch_size=BATCH)
    return {"user": user.username, "queues": len(queues)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--followups", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    if args.tickets < 1:
        parser.error("--tickets must be at least 1")

    started = time.perf_counter()
    with transaction.atomic():
        reset()
        made = seed(tickets=args.tickets, followups=args.followups, seed_value=args.seed)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"seeded {Ticket.objects.count()} tickets, {FollowUp.objects.count()} follow-ups, "
        f"{made['queues']} queues, staff superuser {made['user']!r} "
        f"in {time.perf_counter() - started:.1f} s"
    )


if __name__ == "__main__":
    main()
