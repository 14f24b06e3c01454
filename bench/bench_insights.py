"""Benchmark the insights page's figures on scale data (see bench/README.md).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/msops_bench \\
        .venv/bin/python bench/bench_insights.py

Measures ``billing.selectors.insights.insights`` for the organization with
the most time entries (or ``--org <slug>``) over the year (twelve months)
ending with the month of its latest work, as finance sees it (every client)
and as its busiest account manager sees it (their clients), each series on
its own too, so a slow one is named. Read-only: it writes nothing. Exits
non-zero when the whole page's figures take longer than the target.
"""

import argparse
import datetime
import os
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

from billing.selectors import insights as selectors  # noqa: E402
from msops.calendar import add_months  # noqa: E402
from msops.tenancy.models import Membership, Organization, Role  # noqa: E402
from msops.tenancy.scoping import activate_organization  # noqa: E402

TARGET = 1.0  # s: every series of a year of the largest organization
RUNS = 5


def largest(slug: str | None) -> Organization:
    if slug:
        return Organization.objects.get(slug=slug)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT organization_id FROM tickets_timeentry GROUP BY 1 ORDER BY COUNT(*) DESC"
            " LIMIT 1"
        )
        row = cursor.fetchone()
    if row is None:
        sys.exit("no time entries: run seed_scale first")
    return Organization.objects.get(pk=row[0])


def year_of(org: Organization) -> tuple[datetime.date, datetime.date, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT MAX(work_date) FROM tickets_timeentry WHERE organization_id = %s", [org.pk]
        )
        last = cursor.fetchone()[0].replace(day=1)
        start, end = add_months(last, -11), add_months(last, 1)
        cursor.execute(
            "SELECT COUNT(*) FROM tickets_timeentry WHERE organization_id = %s"
            " AND work_date >= %s AND work_date < %s",
            [org.pk, start, end],
        )
        return start, end, cursor.fetchone()[0]


def analyze() -> None:
    """Fresh planner statistics, as autovacuum keeps them on a live system
    (see bench_jobs.py): stale ones after a bulk load mislead the planner
    into nested loops over every ticket."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def timed(fn) -> tuple[float, float]:
    """(best, median) wall time of ``RUNS`` runs, after one warm-up."""
    fn()
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--org", help="an organization's slug (default: the most entries)")
    args = parser.parse_args()
    analyze()
    org = largest(args.org)
    start, end, entries = year_of(org)
    print(f"{org.slug}: {entries} time entries from {start:%Y-%m} to {end:%Y-%m} (exclusive)")
    missed = []
    with activate_organization(org):
        finance = Membership.objects.filter(
            organization=org, role__in=(Role.FINANCE, Role.ADMIN)
        ).first()
        manager = (
            Membership.objects.filter(organization=org, role=Role.ACCOUNT_MANAGER)
            .order_by("pk")
            .first()
        )
        viewers = [("finance", finance), ("account manager", manager)]
        for label, viewer in viewers:
            if viewer is None:
                print(f"(no {label} in {org.slug})")
                continue
            reach = selectors.money_reach(membership=viewer)
            args_ = {"organization": org, "start": start, "end": end, "reach": reach}
            best, median = timed(
                lambda v=viewer: selectors.insights(
                    organization=org, start=start, end=end, viewer=v
                )
            )
            mark = "ok" if median <= TARGET else "MISSED"
            print(f"  {label:<16} insights()   best {best:6.3f} s  median {median:6.3f} s"
                  f"  (≤ {TARGET:g} s: {mark})")  # fmt: skip
            if median > TARGET:
                missed.append(f"{label}: {median:.3f} s > {TARGET:g} s")
            for name, fn in (
                ("leakage", selectors.leakage_series),
                ("allowance", selectors.allowance_series),
                ("questions", selectors.questions_series),
                ("catch_all", selectors.catch_all_series),
                ("late_entries", selectors.late_entries_series),
                ("concentration", selectors.concentration_series),
            ):
                best, median = timed(lambda fn=fn, a=args_: fn(**a))
                print(f"    {name:<14} best {best:6.3f} s  median {median:6.3f} s")
    if missed:
        sys.exit("target missed: " + "; ".join(missed))


if __name__ == "__main__":
    main()
