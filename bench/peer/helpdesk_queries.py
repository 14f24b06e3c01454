"""Count the queries and SQL time of one request each, in-process (peer venv).

    var/peer-venv/bin/python bench/peer/helpdesk_queries.py '[["/tickets/5000/", 5]]'
    var/peer-venv/bin/python bench/peer/helpdesk_queries.py --info

bench_helpdesk.py runs this. The argument is a JSON list of [url, times]:
each URL is requested that many times through Django's test client, logged in
as the seeded staff user, inside CaptureQueriesContext (its log made long
enough for the API's ~10,000 queries). SQL time is the sum of each query's
execute time, timed with perf_counter by a connection execute wrapper (the
captured "time" strings are rounded to the millisecond); with several runs the
median run is kept. One untimed request to the first URL goes first so that
per-process caches (content types, the Site) are warm, as in a long-running
worker. Prints one JSON object: {url: {status, queries, sql_ms, wall_ms}}.
With --info it prints the seeded counts and the ticket the bench measures.
"""

import json
import os
import sys
import time
from collections import deque
from pathlib import Path

PROJECT = Path(__file__).resolve().parent / "helpdesk_project"
sys.path.insert(0, str(PROJECT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from helpdesk_seed import USERNAME  # noqa: E402

TRANSACTION = ("begin", "commit", "rollback", "savepoint", "release savepoint")


class SqlTimer:
    """Execute wrapper summing the time spent in the database driver."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started


def measure(client: Client, url: str) -> dict:
    timer = SqlTimer()
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(timer):
        response = client.get(url)
    wall = time.perf_counter() - started
    statements = captured.captured_queries
    return {
        "status": response.status_code,
        # As msops's bench/pages_django.py: SQL statements, not transaction control.
        "queries": sum(1 for q in statements if not q["sql"].lower().startswith(TRANSACTION)),
        "queries_total": len(statements),
        "sql_ms": round(timer.seconds * 1000, 2),
        # msops's way: the captured times, each rounded to the millisecond.
        "sql_ms_captured": round(sum(float(q["time"]) for q in statements) * 1000, 2),
        "wall_ms": round(wall * 1000, 2),
    }


def info() -> dict:
    from helpdesk.models import FollowUp, Ticket

    ids = list(Ticket.objects.order_by("id").values_list("id", flat=True))
    return {
        "tickets": len(ids),
        "followups": FollowUp.objects.count(),
        "ticket_id": ids[len(ids) // 2] if ids else None,
        "username": USERNAME,
    }


def main() -> None:
    if sys.argv[1:] == ["--info"]:
        print(json.dumps(info()))
        return
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    plan = json.loads(sys.argv[1])
    connection.queries_limit = 1_000_000
    connection.queries_log = deque(maxlen=connection.queries_limit)
    client = Client()
    client.force_login(get_user_model().objects.get(username=USERNAME))
    client.get(plan[0][0])  # warm per-process caches; not measured
    result = {}
    for url, times in plan:
        runs = sorted((measure(client, url) for _ in range(times)), key=lambda r: r["wall_ms"])
        result[url] = runs[len(runs) // 2]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
