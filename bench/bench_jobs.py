"""Benchmark the jobs on scale data (see bench/README.md).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/msops_bench \\
        .venv/bin/python bench/bench_jobs.py --prefix bench

Measures, over every organization whose slug starts with the prefix:
the full flag sweep (cold: first run creating flags; warm: the re-run), the
weekly review queue build for all organizations, and the per-ticket check.
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "msops.settings")
os.environ.setdefault("DEBUG", "1")

import django

django.setup()

from django.db import connection  # noqa: E402

from billing.flags import flags_check_ticket, flags_sweep  # noqa: E402
from billing.services.review import review_queue_build  # noqa: E402
from msops.tenancy.models import Organization  # noqa: E402
from msops.tenancy.scoping import activate_organization  # noqa: E402
from tickets.models import Ticket  # noqa: E402


def timed(label: str, fn) -> float:
    started = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - started
    print(f"{label:<44} {elapsed:8.2f} s   {result}")
    return elapsed


def sweep_all(orgs) -> str:
    created = 0
    for org in orgs:
        with activate_organization(org):
            created += flags_sweep(organization=org).created
    return f"{created} flags created"


def review_all(orgs) -> str:
    created = 0
    for org in orgs:
        with activate_organization(org):
            created += review_queue_build(organization=org).created
    return f"{created} review items created"


def per_ticket(orgs, samples: int) -> str:
    rng = random.Random(7)
    timings = []
    for _ in range(samples):
        org = rng.choice(orgs)
        with activate_organization(org):
            ticket_id = (
                Ticket.objects.filter(organization=org)
                .order_by("?")
                .values_list("pk", flat=True)[0]
            )
            started = time.perf_counter()
            flags_check_ticket(organization=org, ticket_id=ticket_id)
            timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return (
        f"median {statistics.median(timings):.1f} ms, p95 {timings[int(len(timings) * 0.95)]:.1f} ms"
        f" over {samples} tickets"
    )


def analyze() -> None:
    """Refresh the planner's statistics after a bulk change, as autovacuum
    does on a live system within a minute of it (a bench that runs its
    phases back to back would otherwise plan on counts from before them)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prefix", default="bench")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument(
        "--reset", action="store_true", help="delete flags, moments and queues first"
    )
    args = parser.parse_args()
    orgs = list(Organization.objects.filter(slug__startswith=f"{args.prefix}-").order_by("pk"))
    if not orgs:
        sys.exit(f"no organizations with the prefix {args.prefix}-: run seed_scale first")
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM tickets_ticket")
        tickets = cursor.fetchone()[0]
        cursor.execute("SELECT COUNT(*) FROM tickets_timeentry")
        entries = cursor.fetchone()[0]
        if args.reset:
            for table in ("billing_reviewitem", "billing_reviewqueue", "billing_exceptionflag"):
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - constant table names
            cursor.execute("DELETE FROM tickets_billingmoment WHERE kind IN "
                           "('expected_time_passed', 'approval_threshold')")  # fmt: skip
    print(
        f"{len(orgs)} organizations, {tickets} tickets, {entries} time entries ({connection.vendor})"
    )
    analyze()
    timed("full sweep, all organizations (cold)", lambda: sweep_all(orgs))
    analyze()
    timed("full sweep, all organizations (re-run)", lambda: sweep_all(orgs))
    timed("weekly queues, all organizations (first)", lambda: review_all(orgs))
    analyze()
    timed("weekly queues, all organizations (re-run)", lambda: review_all(orgs))
    timed("per-ticket check", lambda: per_ticket(orgs, args.samples))


if __name__ == "__main__":
    main()
