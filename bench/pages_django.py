"""The in-process half of ``bench/bench_pages.py``, which runs it as a
subprocess (Django is set up once per process, on one ``DATABASE_URL``):

    DATABASE_URL=<owner url> .venv/bin/python bench/pages_django.py prepare --org page-000
    DATABASE_URL=<app url> .venv/bin/python bench/pages_django.py measure --plan plan.json

``prepare`` (as the tables' owner) signs each role's member of the
organization in (a session stored as ``django.contrib.auth.login`` stores
it), issues the admin an API token (the previous run's bench sessions and
tokens are deleted first), picks the ticket, client, month and billing
period to measure (computing the month's drafts if it has none) and prints
the plan as JSON. ``measure`` (as the application's role, like the server)
sends each planned request through Django's test client: a warm-up, then
the request's queries and SQL time (``CaptureQueriesContext``), the median
in-process time, and with ``--profile`` the top frames of a profile.
"""

import argparse
import json
import os
import statistics
import sys
import time
from importlib import import_module
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "msops.settings")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count, Max  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils.crypto import get_random_string  # noqa: E402

SESSION_PREFIX = "benchpages"  # session keys of this bench: deleted on the next run
TOKEN_NAME = "bench_pages"  # noqa: S105 (a name, not a secret)
TICKET_ENTRIES = 5  # the ticket page shows a ticket with this many time entries
BACKEND = "django.contrib.auth.backends.ModelBackend"
ROLES = ("developer", "account_manager", "finance", "admin")


def _session_for(user) -> str:
    """A signed-in session for ``user``, as ``django.contrib.auth.login`` stores it."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = user._meta.pk.value_to_string(user)
    store[BACKEND_SESSION_KEY] = BACKEND
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store._session_key = SESSION_PREFIX + get_random_string(
        24, "abcdefghijklmnopqrstuvwxyz0123456789"
    )
    store.save(must_create=True)
    return store.session_key


def _previous_month(today):
    from msops.calendar import add_months

    return add_months(today.replace(day=1), -1)


def prepare(args) -> dict:
    from django.contrib.sessions.models import Session

    from billing.models import BillingPeriod, InvoiceDraft, InvoiceLine
    from billing.services.periods import drafts_compute
    from clients.models import Client as PracticeClient
    from msops.calendar import parse_month
    from msops.tenancy.models import ApiToken, Membership, Organization
    from msops.tenancy.scoping import activate_organization
    from msops.tenancy.services import api_token_create
    from msops.timezones import organization_today
    from tickets.models import Ticket, TimeEntry

    org = Organization.objects.filter(slug=args.org).first()
    if org is None:
        sys.exit(f"No organization {args.org!r} in this database: seed it (bench/bench_pages.py).")
    notes = []
    if settings.SESSION_ENGINE.endswith(".db") or settings.SESSION_ENGINE.endswith("cached_db"):
        Session.objects.filter(session_key__startswith=SESSION_PREFIX).delete()
    with activate_organization(org):
        members = {}
        for role in ROLES:
            membership = (
                Membership.objects.filter(
                    organization=org, role=role, deactivated_at__isnull=True, user__is_active=True
                )
                .select_related("user")
                .order_by("pk")
                .first()
            )
            if membership is None:
                sys.exit(f"{org.slug} has no active {role}: seed_scale gives every role one.")
            members[role] = membership
        sessions = {role: _session_for(m.user) for role, m in members.items()}
        ApiToken.objects.filter(organization=org, name=TOKEN_NAME).delete()
        token = api_token_create(membership=members["admin"], name=TOKEN_NAME).raw

        if args.ticket:
            ticket = Ticket.objects.filter(organization=org, number=args.ticket).first()
            if ticket is None:
                sys.exit(f"{org.slug} has no ticket {args.ticket}.")
        else:  # the newest ticket with TICKET_ENTRIES entries: the same shape in every database
            last = (
                TimeEntry.objects.filter(organization=org)
                .order_by()
                .values("ticket_id")
                .annotate(n=Count("pk"))
                .filter(n=TICKET_ENTRIES)
                .aggregate(m=Max("ticket_id"))["m"]
            )
            if last is None:
                sys.exit(f"{org.slug} has no ticket with {TICKET_ENTRIES} time entries: seed it.")
            ticket = Ticket.objects.get(organization=org, pk=last)
        ticket_entries = TimeEntry.objects.filter(organization=org, ticket=ticket).count()

        if args.client:
            client = PracticeClient.objects.filter(organization=org, pk=args.client).first()
            if client is None:
                sys.exit(f"{org.slug} has no client {args.client}.")
        else:  # the client with the most tickets
            client = (
                PracticeClient.objects.filter(organization=org)
                .annotate(n=Count("tickets"))
                .order_by("-n", "pk")
                .first()
            )
        month = parse_month(args.month) if args.month else _previous_month(organization_today(org))
        if month is None:
            sys.exit(f"--month {args.month!r}: give YYYY-MM.")
        if not InvoiceDraft.objects.filter(organization=org, period__month=month).exists():
            started = time.perf_counter()
            drafts_compute(organization=org, month=month)
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
            notes.append(
                f"computed the drafts of {month:%Y-%m} ({time.perf_counter() - started:.1f} s)"
            )
        period = BillingPeriod.objects.filter(organization=org, month=month, client=client).first()
        if period is None:  # the client billed nothing that month: the period with most lines
            busiest = (
                InvoiceLine.objects.filter(organization=org, period__month=month)
                .values("period_id")
                .annotate(n=Count("id"))
                .order_by("-n", "period_id")
                .first()
            )
            period = BillingPeriod.objects.get(pk=busiest["period_id"]) if busiest else None
        period_lines = (
            InvoiceLine.objects.filter(organization=org, period=period).count() if period else 0
        )
        entries = TimeEntry.objects.filter(organization=org).count()
        tickets = Ticket.objects.filter(organization=org).count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM tickets_timeentry")
        all_entries = cursor.fetchone()[0]

    base = f"/o/{org.slug}"
    requests = [
        {
            "name": "api_tickets_25",
            "url": "/api/v1/tickets/?page_size=25",
            "token": True,
            "page": 25,
        },
        {
            "name": "api_tickets_50",
            "url": "/api/v1/tickets/?page_size=50",
            "token": True,
            "page": 50,
        },
        {"name": "ticket_page", "url": f"{base}/tickets/{ticket.number}/", "role": "admin"},
        {"name": "ticket_list_page", "url": f"{base}/tickets/", "role": "admin"},
    ]
    requests += [{"name": f"home_{role}", "url": f"{base}/", "role": role} for role in ROLES]
    requests.append({"name": "client_page", "url": f"{base}/clients/{client.pk}/", "role": "admin"})
    requests.append(
        {
            "name": "preinvoice_review",
            "url": f"{base}/billing/finance/{month:%Y-%m}/",
            "role": "finance",
        }
    )
    if period is not None:
        requests.append(
            {
                "name": "billing_period",
                "url": f"{base}/billing/finance/periods/{period.pk}/",
                "role": "finance",
            }
        )
    return {
        "org": org.slug,
        "cookie_name": settings.SESSION_COOKIE_NAME,
        "sessions": sessions,
        "token": token,
        "requests": requests,
        "data": {
            "org_tickets": tickets,
            "org_entries": entries,
            "all_entries": all_entries,
            "ticket": ticket.number,
            "ticket_entries": ticket_entries,
            "client": client.pk,
            "month": f"{month:%Y-%m}",
            "period": period.pk if period else None,
            "period_lines": period_lines,
        },
        "notes": notes,
    }


TRANSACTION = ("begin", "commit", "rollback", "savepoint", "release savepoint")
TENANCY = ('"tenancy_apitoken"', '"tenancy_membership"', '"tenancy_organization"')


def _kind(sql: str) -> str:
    """Which part of the request a statement belongs to, for the breakdown:
    by the table it reads (its first FROM) or writes."""
    text = sql.strip().lower()
    if text.startswith(TRANSACTION):
        return "transaction"
    if "set_config" in text or text.startswith("set "):
        return "rls"
    head = text.split(" from ", 1)[1] if text.startswith("select") and " from " in text else text
    table = head.split()[0] if text.startswith("select") else " ".join(text.split()[:3])
    if '"django_session"' in table:
        return "session"
    if '"auth_user"' in table:
        return "user"
    if any(name in table for name in TENANCY):
        return "tenancy"
    return "view"


def _client(plan: dict, request: dict) -> tuple[Client, dict]:
    client = Client()
    headers = {}
    if request.get("token"):
        headers["authorization"] = f"Bearer {plan['token']}"
    else:
        client.cookies[plan["cookie_name"]] = plan["sessions"][request["role"]]
    return client, headers


WRAPPERS = ("django/test/", "django/core/handlers/", "middleware", "deprecation.py", "pages_django")


def _pyinstrument_top(session, runs: int, top: int) -> dict:
    own, cumulative = {}, {}

    def key(frame) -> str:
        return f"{frame.function} ({frame.file_path_short}:{frame.line_no})"

    def walk(frame, ancestors: frozenset) -> None:
        children = [c for c in frame.children if not c.is_synthetic]
        self_time = frame.time - sum(c.time for c in children)
        name = key(frame)
        own[name] = own.get(name, 0.0) + self_time
        if name not in ancestors:  # recursion counted once
            cumulative[name] = cumulative.get(name, 0.0) + frame.time
        for child in children:
            walk(child, ancestors | {name})

    root = session.root_frame()
    if root is not None:
        walk(root, frozenset())
    scale = 1000 / runs  # ms per request
    # The request's outer chain (test client, handler, middleware) is in every
    # sample: the cumulative list starts below it.
    outer = 0.8 * root.time if root is not None else 0.0
    cumulative = {
        name: t
        for name, t in cumulative.items()
        if t < outer and not any(skip in name for skip in WRAPPERS)
    }

    def best(table: dict) -> list:
        rows = sorted(table.items(), key=lambda kv: -kv[1])[:top]
        return [{"frame": name, "ms": round(t * scale, 3)} for name, t in rows]

    return {
        "tool": "pyinstrument",
        "runs": runs,
        "profiled_ms": round((root.time if root else 0.0) * scale, 3),
        "own": best(own),
        "cumulative": best(cumulative),
    }


def _cprofile_top(profile, runs: int, top: int) -> dict:
    import pstats

    stats = pstats.Stats(profile).stats
    scale = 1000 / runs

    def name(k) -> str:
        path, line, function = k
        return f"{function} ({'/'.join(Path(path).parts[-3:])}:{line})"

    def best(index: int) -> list:
        rows = sorted(stats.items(), key=lambda kv: -kv[1][index])[:top]
        return [{"frame": name(k), "ms": round(v[index] * scale, 3)} for k, v in rows]

    return {"tool": "cProfile", "runs": runs, "own": best(2), "cumulative": best(3)}


def profile_request(client: Client, url: str, headers: dict, runs: int, top: int) -> dict:
    try:
        from pyinstrument import Profiler
    except ImportError:
        Profiler = None
    if Profiler is not None:
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(runs):
            client.get(url, headers=headers)
        profiler.stop()
        return _pyinstrument_top(profiler.last_session, runs, top)
    import cProfile

    profile = cProfile.Profile()
    profile.enable()
    for _ in range(runs):
        client.get(url, headers=headers)
    profile.disable()
    return _cprofile_top(profile, runs, top)


def measure(args) -> dict:
    plan = json.loads(Path(args.plan).read_text())
    only = set(args.only or [])
    results = {}
    for request in plan["requests"]:
        if only and request["name"] not in only:
            continue
        client, headers = _client(plan, request)
        url = request["url"]
        print(f"  in-process: {request['name']}", file=sys.stderr, flush=True)
        response = client.get(url, headers=headers)  # warm-up: connection, templates, caches
        if response.status_code != 200:
            sys.exit(f"{request['name']}: {url} answered {response.status_code} in-process")
        timings = []  # per statement, to the microsecond (the log rounds to ms)

        def timer(execute, sql, params, many, context, timings=timings):
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                timings.append(time.perf_counter() - started)

        with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(timer):
            response = client.get(url, headers=headers)
        queries = captured.captured_queries
        statements = [q for q in queries if _kind(q["sql"]) != "transaction"]
        if len(statements) == len(timings):
            for query, seconds in zip(statements, timings, strict=True):
                query["time"] = f"{seconds:.6f}"
        breakdown = {}
        for query in queries:
            kind = _kind(query["sql"])
            breakdown[kind] = breakdown.get(kind, 0) + 1
        times = []  # --runs, or fewer once --seconds have passed (at least 3)
        while len(times) < args.runs and (len(times) < 3 or sum(times) < args.seconds):
            started = time.perf_counter()
            client.get(url, headers=headers)
            times.append(time.perf_counter() - started)
        result = {
            "queries": len(statements),
            "queries_total": len(queries),
            "queries_breakdown": breakdown,
            "sql_ms": round(sum(float(q["time"]) for q in queries) * 1000, 3),
            "inproc_ms": round(statistics.median(times) * 1000, 3),
            "inproc_runs": len(times),
            "sql": [f"{float(q['time']) * 1000:.3f} ms  {q['sql'][:300]}" for q in queries],
        }
        if args.profile:  # about --profile-seconds of requests, at least 3
            runs = max(3, min(200, int(args.profile_seconds / statistics.median(times))))
            result["profile"] = profile_request(client, url, headers, runs, args.top)
        results[request["name"]] = result
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="step", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--org", default="page-000")
    p.add_argument("--ticket", type=int)
    p.add_argument("--client", type=int)
    p.add_argument("--month", help="YYYY-MM of the pre-invoice review (default: last month)")
    m = sub.add_parser("measure")
    m.add_argument("--plan", required=True)
    m.add_argument("--only", action="append")
    m.add_argument("--runs", type=int, default=20, help="in-process timings per request")
    m.add_argument("--seconds", type=float, default=2.0, help="at most (after 3 runs)")
    m.add_argument("--profile", action="store_true")
    m.add_argument("--profile-seconds", type=float, default=1.5)
    m.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    result = prepare(args) if args.step == "prepare" else measure(args)
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
