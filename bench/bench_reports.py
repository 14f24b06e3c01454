"""Benchmark the issue-14 pages on scale data, end to end (see bench/README.md).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/msops_bench \\
        .venv/bin/python bench/bench_reports.py --practice practice

Renders, through Django's test client as the practice's admin (the
organization whose slug starts with ``--practice``; the largest one), the
SLA and KPI report for the whole practice and for one contract over a year
(``period=<year>``), and the insights page over the twelve months ending
this month: every request's server time (the median of ``--runs`` after one
warm-up), its queries and their SQL time. Read-only. Exits non-zero when a
page takes longer than the target.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "msops.settings")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")

import django

django.setup()

from django.conf import settings  # noqa: E402

# Plain static storage: the pages render without a collected manifest.
settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402

from clients.models import Contract  # noqa: E402
from msops.calendar import add_months  # noqa: E402
from msops.tenancy.models import Membership, Organization, Role  # noqa: E402
from msops.tenancy.scoping import activate_organization  # noqa: E402
from msops.timezones import organization_today  # noqa: E402
from tickets.models import Ticket  # noqa: E402

TARGET = 1.0  # s: each page for a year of the largest organization


def measure(client: Client, url: str, runs: int) -> dict:
    response = client.get(url)  # warm-up: connections, templates, caches
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")
    times, queries, sql = [], 0, 0.0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
        queries = len(captured.captured_queries)
        sql = sum(float(q["time"]) for q in captured.captured_queries)
    return {"median": statistics.median(times), "max": max(times), "queries": queries, "sql": sql}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--practice", default="practice", help="slug prefix of the organization")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    org = Organization.objects.filter(slug__startswith=args.practice).order_by("slug").first()
    if org is None:
        raise SystemExit(f"No organization's slug starts with {args.practice!r}: seed it.")
    with activate_organization(org):
        admin = (
            Membership.objects.filter(organization=org, role=Role.ADMIN)
            .select_related("user")
            .first()
        )
        contract = (
            Contract.objects.filter(organization=org).order_by("pk").first()
        )  # every contract has about the same share of the tickets
        tickets = Ticket.objects.filter(organization=org).count()
    today = organization_today(org)
    year = f"{today.year}"
    first = add_months(today.replace(day=1), -11)
    client = Client()
    client.force_login(admin.user)
    pages = [
        (
            f"SLA report, whole practice, {year}",
            reverse("tickets:sla_report", kwargs={"org": org.slug}) + f"?period={year}",
        ),
        (
            f"SLA report, one contract, {year}",
            reverse("tickets:sla_report", kwargs={"org": org.slug})
            + f"?client={contract.client_id}&contract={contract.pk}&period={year}",
        ),
        (
            f"insights, {first:%Y-%m} to {today:%Y-%m}",
            reverse("billing:insights", kwargs={"org": org.slug})
            + f"?from={first:%Y-%m}&to={today:%Y-%m}",
        ),
    ]
    print(f"{org.slug}: {tickets} tickets; {args.runs} runs after a warm-up\n")
    print("| page | target | median | max | queries | SQL |")
    print("| --- | --- | --- | --- | --- | --- |")
    missed = 0
    for label, url in pages:
        result = measure(client, url, args.runs)
        missed += result["median"] > TARGET
        print(
            f"| {label} | ≤ {TARGET:.0f} s | **{result['median'] * 1000:.0f} ms** |"
            f" {result['max'] * 1000:.0f} ms | {result['queries']} | {result['sql'] * 1000:.0f} ms |"
        )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
