"""Benchmark the month's drafts on scale data (see bench/README.md).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/msops_bench \\
        .venv/bin/python bench/bench_finance.py --prefix bench --practice practice

Measures, for the month with the most time (or ``--month``):
the pricing of the practice's month (the organization whose slug starts with
``--practice``: the 50-person practice), its drafts (priced and saved: the
first computation, then a recomputation that replaces them), the drafts of
every organization whose slug starts with ``--prefix`` (one after the other
in one process, as the draft job runs them), and the memory it took. Exits
non-zero when a target is missed.
"""

import argparse
import cProfile
import datetime
import os
import pstats
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "msops.settings")
os.environ.setdefault("DEBUG", "1")

import django

django.setup()

from django.db import DatabaseError, connection, transaction  # noqa: E402

from billing.pricing import price_month  # noqa: E402
from billing.services.periods import drafts_compute  # noqa: E402
from msops.tenancy.models import Organization  # noqa: E402
from msops.tenancy.scoping import activate_organization  # noqa: E402

PRACTICE_TARGET = 2.0  # s: drafts of a 50-person practice's month (~20k time entries)
ALL_TARGET = 60.0  # s: every organization's month at seed_scale's size


def analyze() -> None:
    """Refresh the planner's statistics after a bulk change, as autovacuum
    does on a live system within a minute of it (see bench_jobs.py)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def busiest_month(orgs) -> datetime.date:
    """The month with the most time entries of ``orgs``."""
    ids = [o.pk for o in orgs]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT date_trunc('month', work_date)::date, COUNT(*) FROM tickets_timeentry"
            " WHERE organization_id = ANY(%s) GROUP BY 1 ORDER BY 2 DESC, 1 DESC LIMIT 1",
            [ids],
        )
        row = cursor.fetchone()
    if row is None:
        sys.exit("no time entries: run seed_scale first")
    return row[0]


def entries_in(orgs, month: datetime.date) -> int:
    end = (month + datetime.timedelta(days=32)).replace(day=1)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM tickets_timeentry"
            " WHERE organization_id = ANY(%s) AND work_date >= %s AND work_date < %s",
            [[o.pk for o in orgs], month, end],
        )
        return cursor.fetchone()[0]


MONTH_PERIODS = (
    "SELECT id FROM billing_billingperiod WHERE organization_id = ANY(%s) AND month = %s"
)


def saved(orgs, month: datetime.date) -> tuple[int, int]:
    """How many drafts and lines the month has (SQL: no tenant scope here)."""
    params = [[o.pk for o in orgs], month]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM billing_invoicedraft WHERE period_id IN ({MONTH_PERIODS})",  # noqa: S608
            params,
        )
        drafts = cursor.fetchone()[0]
        cursor.execute(
            f"SELECT COUNT(*) FROM billing_invoiceline WHERE period_id IN ({MONTH_PERIODS})",  # noqa: S608
            params,
        )
        return drafts, cursor.fetchone()[0]


def reset(orgs, month: datetime.date) -> None:
    """Delete the month's lines, drafts and (when nothing else refers to them)
    its open periods, so the first computation is repeatable."""
    params = [[o.pk for o in orgs], month]
    with connection.cursor() as cursor:
        for table in ("billing_invoiceline", "billing_invoicedraft"):
            cursor.execute(f"DELETE FROM {table} WHERE period_id IN ({MONTH_PERIODS})", params)  # noqa: S608
        try:
            with transaction.atomic():
                cursor.execute(
                    "DELETE FROM billing_billingperiod WHERE organization_id = ANY(%s)"
                    " AND month = %s AND status = 'open'",
                    params,
                )
        except DatabaseError:  # referred to by events or adjustments
            print("(the month's periods have history: kept, only their drafts were deleted)")


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Report:
    def __init__(self):
        self.rows: list[tuple[str, str, float, str]] = []
        self.missed: list[str] = []

    def timed(self, label: str, fn, target: float | None = None) -> float:
        """Wall time (what the target is about) and this process's CPU time
        (the rest is the database, or waiting for a core)."""
        started, cpu = time.perf_counter(), time.process_time()
        note = fn()
        elapsed = time.perf_counter() - started
        note = f"{note}; Python CPU {time.process_time() - cpu:.2f} s"
        shown = f"≤ {target:g} s" if target else "—"
        print(f"{label:<48} {elapsed:8.2f} s  {shown:>8}   {note}", flush=True)
        self.rows.append((label, shown, elapsed, note))
        if target is not None and elapsed > target:
            self.missed.append(f"{label}: {elapsed:.2f} s > {target:g} s")
        return elapsed


def practice_phase(report: Report, org: Organization, month: datetime.date, profile) -> None:
    with activate_organization(org):
        reset([org], month)
        analyze()

        def price() -> str:
            charges = price_month(organization=org, month=month)
            lines = sum(len(c.lines) for c in charges.values())
            return f"{len(charges)} clients, {lines} lines"

        def drafts() -> str:
            drafts_compute(organization=org, month=month)
            d, n = saved([org], month)
            return f"{d} drafts, {n} lines saved"

        report.timed("practice: price_month", price)
        report.timed("practice: drafts_compute (first)", drafts, PRACTICE_TARGET)
        analyze()
        report.timed("practice: drafts_compute (recompute)", drafts, PRACTICE_TARGET)
        # Python's peak allocations, in a run of its own (tracemalloc slows it down).
        tracemalloc.start()
        drafts_compute(organization=org, month=month)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        print(f"{'practice: drafts_compute, Python peak':<48} {peak:8.1f} MB", flush=True)
        report.rows.append(("practice: drafts_compute, Python peak", "—", peak, "MB (tracemalloc)"))
        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
            drafts_compute(organization=org, month=month)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)


def all_phase(report: Report, orgs, month: datetime.date) -> None:
    reset(orgs, month)
    analyze()
    slowest = [0.0, ""]

    def run() -> str:
        for org in orgs:
            started = time.perf_counter()
            with activate_organization(org):
                drafts_compute(organization=org, month=month)
            took = time.perf_counter() - started
            if took > slowest[0]:
                slowest[:] = [took, org.slug]
        d, n = saved(orgs, month)
        return f"{d} drafts, {n} lines; slowest {slowest[1]} {slowest[0]:.2f} s"

    report.timed("all organizations: drafts_compute (first)", run, ALL_TARGET)
    analyze()
    slowest[:] = [0.0, ""]
    report.timed("all organizations: drafts_compute (recompute)", run, ALL_TARGET)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prefix", default="bench", help="slug prefix of the scale organizations")
    parser.add_argument("--practice", default="practice", help="slug prefix of the 50-person one")
    parser.add_argument("--month", type=datetime.date.fromisoformat, help="default: the busiest")
    parser.add_argument("--skip-all", action="store_true", help="only the practice")
    parser.add_argument("--profile", action="store_true", help="cProfile the practice's drafts")
    args = parser.parse_args()
    practice = Organization.objects.filter(slug__startswith=f"{args.practice}-").order_by("pk")
    practice = practice.first()
    orgs = list(Organization.objects.filter(slug__startswith=f"{args.prefix}-").order_by("pk"))
    if args.skip_all:
        orgs = []
    if practice is None and not orgs:
        sys.exit(
            f"no organizations with the prefix {args.practice}- or {args.prefix}-:"
            " run seed_scale first"
        )
    report = Report()
    if practice is not None:
        month = args.month or busiest_month([practice])
        print(
            f"practice {practice.slug}: {entries_in([practice], month)} time entries in"
            f" {month:%Y-%m} ({connection.vendor})"
        )
        practice_phase(report, practice, month, args.profile)
        print(f"{'max RSS so far':<48} {max_rss_mb():8.1f} MB")
    if orgs:
        month = args.month or busiest_month(orgs)
        print(f"{len(orgs)} organizations: {entries_in(orgs, month)} time entries in {month:%Y-%m}")
        all_phase(report, orgs, month)
        print(f"{'max RSS':<48} {max_rss_mb():8.1f} MB")
    if report.missed:
        print("missed: " + "; ".join(report.missed))
        sys.exit(1)


if __name__ == "__main__":
    main()
