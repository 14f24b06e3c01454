"""Benchmark msops's hot pages and API through gunicorn (issue 15; see bench/README.md).

    .venv/bin/python bench/bench_pages.py \\
        --small postgres://postgres@127.0.0.1:5432/msops_page_small \\
        --large postgres://postgres@127.0.0.1:5432/msops_page_large \\
        --org page-000 --out /tmp/bench_pages.json [--profile]

The data: one ``seed_scale`` practice measured alone (10k tickets, 10k time
entries) and the same practice among 100 others (about 1.1M entries):

    for db in msops_page_small msops_page_large; do createdb -h 127.0.0.1 -U postgres $db; done
    export SECRET_KEY=x DEBUG=0 S=postgres://postgres@127.0.0.1:5432/msops_page_small
    export L=postgres://postgres@127.0.0.1:5432/msops_page_large
    DATABASE_URL=$S .venv/bin/python manage.py migrate -v0
    DATABASE_URL=$S .venv/bin/python manage.py seed_scale --organizations 1 \
        --tickets 10000 --entries 10000 --prefix page --seed 15
    DATABASE_URL=$L .venv/bin/python manage.py migrate -v0
    DATABASE_URL=$L .venv/bin/python manage.py seed_scale --organizations 1 \
        --tickets 10000 --entries 100000 --prefix page --seed 15
    DATABASE_URL=$L .venv/bin/python manage.py seed_scale --organizations 100 \
        --tickets 200000 --entries 1000000 --prefix bench

The URLs are the tables' owner's (``--database URL`` may be repeated
instead; each is labelled by its database name). For each database, one
after the other:

1. ``bench/pages_django.py prepare`` (as the owner, in a subprocess) signs in
   one member of each role of ``--org`` (stored Django sessions), issues the
   admin an API token (a previous run's are deleted), and picks the ticket
   (the newest with 5 time entries, the same shape in every database), the
   client (most tickets), the month of the pre-invoice review (last month;
   its drafts are computed if it has none) and that client's billing period.
2. gunicorn serves msops as the application's role (``manage.py
   app_database_url``; row-level security binds it): 2 sync workers pinned
   to core 0, ``DEBUG=0``, port 8765, throttling out of reach, static files
   collected once into /tmp/msops_bench_pages_static.
3. Each request is checked (200 and a sane body), warmed up with wrk for 2 s,
   loaded with ``taskset -c 1 wrk -t1 -c4 -d<duration>s`` (rps, p50, p99) and
   sent one at a time with ``wrk -c1 -d5s`` (p50: "single request ms"); then
   2 s of requests one after the other give the workers' CPU time per
   request ("server CPU ms", /proc), which waiting for a busy core does not
   inflate: the figure to trust when the machine is shared.
4. gunicorn stops; ``bench/pages_django.py measure`` (as the application's
   role, in-process through Django's test client) counts each request's
   queries and SQL time, times it in-process and, with ``--profile``,
   profiles it (pyinstrument, else cProfile) and keeps the top frames.

Writes the JSON (``--out``), prints a markdown table per database and the
large/small ratios, and exits 1 when a target of issue 15 is missed: list
API at 50 per page ≤ 5 ms single and ≤ 3 queries; ticket page ≤ 10 ms and
≤ 10 queries; ticket list page and every role's home ≤ 10 ms; each of those
with p50 on the large database ≤ 1.1 × on the small. "queries" counts SQL
statements (the middleware's session, user, membership and token reads
included), not BEGIN/COMMIT/SAVEPOINT; the JSON also has the total and a
breakdown by what each statement reads.
"""

import argparse
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
STATIC_ROOT = Path(tempfile.gettempdir()) / "msops_bench_pages_static"
GUNICORN_LOG = Path(tempfile.gettempdir()) / "msops_bench_pages_gunicorn.log"
HOST = "127.0.0.1"

SINGLE_TARGET_MS = {  # single-request server time (issue 15)
    "api_tickets_50": 5.0,
    "ticket_page": 10.0,
    "ticket_list_page": 10.0,
    "home_developer": 10.0,
    "home_account_manager": 10.0,
    "home_finance": 10.0,
    "home_admin": 10.0,
}
QUERY_TARGET = {"api_tickets_50": 3, "ticket_page": 10}
FLAT = 1.1  # p50 at 1M entries ≤ 1.1 × p50 at 10k
FLAT_REQUESTS = {"api_tickets_25", *SINGLE_TARGET_MS}


def base_env(url: str) -> dict:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="msops.settings",
        DATABASE_URL=url,
        DEBUG="0",
        SECRET_KEY="bench",  # noqa: S106 (sessions are signed with it: the same everywhere)
        SECURE_SSL_REDIRECT="0",
        ALLOWED_HOSTS=f"{HOST},localhost,testserver",
        REDIS_URL="redis://127.0.0.1:6379/7",
        API_THROTTLE_USER="100000000/second",
        API_THROTTLE_ANON="100000000/second",
        STATIC_ROOT=str(STATIC_ROOT),
        LOG_LEVEL="WARNING",
    )
    return env


def run_json(args: list[str], env: dict) -> dict:
    done = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True)
    sys.stderr.write(done.stderr)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args[:3])} failed ({done.returncode})")
    return json.loads(done.stdout)


def collect_static(owner_url: str) -> None:
    """DEBUG=0 serves the hashed, compressed files of the manifest: collect them
    once (about 2 minutes), again only when static/ changed."""
    manifest = STATIC_ROOT / "staticfiles.json"
    newest = max(
        (p.stat().st_mtime for p in (ROOT / "static").rglob("*") if p.is_file()), default=0
    )
    if manifest.exists() and manifest.stat().st_mtime >= newest:
        return
    print(f"collecting static files into {STATIC_ROOT} (once; ~2 min)", file=sys.stderr, flush=True)
    subprocess.run(
        [PYTHON, "manage.py", "collectstatic", "--noinput", "-v0"],
        env=base_env(owner_url),
        cwd=ROOT,
        check=True,
    )


def app_url(owner_url: str) -> str:
    done = subprocess.run(
        [PYTHON, "manage.py", "app_database_url", owner_url],
        env=base_env(owner_url),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def cpu_ms(master: int) -> float:
    """CPU time (user + system) of the gunicorn master's workers so far, in ms:
    per request, the server's own work, which waiting for a shared core does
    not inflate (PostgreSQL's share is in the SQL column)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:  # ppid
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total * TICK_MS


def server_cpu(master: int, url: str, headers: dict, seconds: float = 2.0) -> tuple[float, float]:
    """The workers' CPU ms per request, over requests sent one after the other
    (none in flight when it is read): at least 3, about ``seconds`` of them;
    and the median wall ms of those requests."""
    before, deadline = cpu_ms(master), time.monotonic() + 120
    while time.monotonic() < deadline:  # the previous load's last requests finish
        time.sleep(0.3)
        idle, before = before, cpu_ms(master)
        if before == idle:
            break
    before, started, walls = cpu_ms(master), time.monotonic(), []
    while len(walls) < 3 or (time.monotonic() - started < seconds and len(walls) < 500):
        begun = time.perf_counter()
        fetch(url, headers)
        walls.append((time.perf_counter() - begun) * 1000)
    return (cpu_ms(master) - before) / len(walls), sorted(walls)[len(walls) // 2]


@contextlib.contextmanager
def gunicorn(url: str, port: int):
    """gunicorn on core 0, stopped on the way out whatever happens."""
    with socket.socket() as probe:
        if probe.connect_ex((HOST, port)) == 0:
            raise SystemExit(f"port {port} is taken: stop what listens there or pass --port")
    log = GUNICORN_LOG.open("a")
    process = subprocess.Popen(
        [
            "taskset",
            "-c",
            "0",
            GUNICORN,
            "msops.wsgi",
            "--workers",
            "2",
            "--worker-class",
            "sync",
            "--bind",
            f"{HOST}:{port}",
            "--log-level",
            "warning",
        ],
        # As the compose file's web runs: a psycopg pool in each worker.
        env={**base_env(url), "DATABASE_POOL": "1"},
        cwd=ROOT,
        stdout=log,
        stderr=log,
        start_new_session=True,  # its own process group: stopped as one
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"gunicorn exited ({process.returncode}): see {GUNICORN_LOG}")
            try:
                status, _ = fetch(f"http://{HOST}:{port}/accounts/login/", {})
                if status:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not answer within 60 s: see {GUNICORN_LOG}")
            time.sleep(0.3)
        yield process.pid  # taskset execs gunicorn: the master's pid
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def fetch(url: str, headers: dict) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (our http://)
    try:
        with OPENER.open(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def headers_for(plan: dict, request: dict) -> dict:
    if request.get("token"):
        return {"Authorization": f"Bearer {plan['token']}"}
    return {"Cookie": f"{plan['cookie_name']}={plan['sessions'][request['role']]}"}


def check(base: str, plan: dict, request: dict) -> str:
    """Fail loudly unless the request answers 200 with the body it should."""
    status, body = fetch(base + request["url"], headers_for(plan, request))
    name = request["name"]
    if status != 200:
        raise SystemExit(f"{name}: {request['url']} answered {status}: {body[:300]!r}")
    if request.get("token"):
        data = json.loads(body)
        if len(data.get("results", [])) != request["page"]:
            raise SystemExit(f"{name}: expected {request['page']} results, got {str(data)[:300]}")
        return f"{len(body)} bytes, {data.get('count')} tickets"
    if b"</html>" not in body or b'name="password"' in body:
        raise SystemExit(f"{name}: {request['url']} is not the page: {body[:300]!r}")
    return f"{len(body)} bytes"


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def wrk(url: str, headers: dict, connections: int, seconds: float) -> dict:
    args = [
        "taskset",
        "-c",
        "1",
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "60s",
        "--latency",
    ]
    for key, value in headers.items():
        args += ["-H", f"{key}: {value}"]
    done = subprocess.run([*args, url], capture_output=True, text=True, check=True)
    out = done.stdout

    def latency(percent: str) -> float | None:
        match = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
        # wrk records no latency past --timeout and then prints zeros
        return round(float(match[1]) * UNITS[match[2]], 3) if match and float(match[1]) else None

    requests = re.search(r"(\d+) requests in", out)
    done_requests = int(requests[1]) if requests else 0
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {
        "rps": float(rps[1]) if rps else 0.0,
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "requests": done_requests,
        "non_2xx": int(bad[1]) if bad else 0,
        "socket_errors": errors[0] if errors else None,
    }


def bench_database(label: str, owner_url: str, args) -> dict:
    print(f"\n## {label}", file=sys.stderr, flush=True)
    started = time.monotonic()
    prepare = [PYTHON, "bench/pages_django.py", "prepare", "--org", args.org]
    for option in ("ticket", "client", "month"):
        if getattr(args, option):
            prepare += [f"--{option}", str(getattr(args, option))]
    plan = run_json(prepare, base_env(owner_url))
    for note in plan["notes"]:
        print(f"  {note}", file=sys.stderr)
    requests = [r for r in plan["requests"] if not args.only or r["name"] in args.only]
    if not requests:
        raise SystemExit(
            f"--only {args.only}: no such request; names: "
            + ", ".join(r["name"] for r in plan["requests"])
        )
    url = app_url(owner_url)
    base = f"http://{HOST}:{args.port}"
    results = {
        r["name"]: {"url": r["url"], "as": "API token (admin)" if r.get("token") else r["role"]}
        for r in requests
    }
    load_before = os.getloadavg()
    with gunicorn(url, args.port) as master:
        for request in list(requests):
            try:
                results[request["name"]]["body"] = check(base, plan, request)
            except SystemExit as failed:
                if not args.keep_going:
                    raise
                print(f"  FAILED {failed}", file=sys.stderr, flush=True)
                results[request["name"]].update(status="failed", error=str(failed))
                requests.remove(request)
        for request in requests:
            name, target = request["name"], base + request["url"]
            headers = headers_for(plan, request)
            wrk(target, headers, 4, args.warmup)  # discarded
            load = wrk(target, headers, 4, args.duration)
            single = wrk(target, headers, 1, args.single)
            cpu, wall = server_cpu(master, target, headers)
            if single["requests"] < 3:  # slower than wrk's window: one after the other
                single["p50_ms"], single["p99_ms"] = round(wall, 3), None
            status = 200 if not (load["non_2xx"] or single["non_2xx"]) else "non-2xx"
            results[name].update(
                rps=load["rps"],
                p50_ms=load["p50_ms"],
                p99_ms=load["p99_ms"],
                single_ms=single["p50_ms"],
                single_p99_ms=single["p99_ms"],
                single_rps=single["rps"],
                single_cpu_ms=cpu,
                status=status,
                non_2xx=load["non_2xx"] + single["non_2xx"],
                socket_errors=load["socket_errors"] or single["socket_errors"],
            )
            print(
                f"  {name}: {load['rps']:.1f} rps, p50 {load['p50_ms']} ms,"
                f" single {single['p50_ms']} ms",
                file=sys.stderr,
                flush=True,
            )
    plan["requests"] = requests  # the in-process part measures what answered
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(plan, handle)
    try:
        measure = [PYTHON, "bench/pages_django.py", "measure", "--plan", handle.name]
        for name in args.only or []:
            measure += ["--only", name]
        if args.profile:
            measure.append("--profile")
        inproc = run_json(measure, base_env(url))
    except SystemExit as failed:  # keep what wrk measured
        print(f"  in-process part FAILED: {failed}", file=sys.stderr, flush=True)
        inproc = {}
        for name in results:
            results[name].setdefault("error", f"in-process: {failed}")
    finally:
        os.unlink(handle.name)
    for name, extra in inproc.items():
        results[name].update(extra)
    return {
        "database": label,
        "org": plan["org"],
        "data": plan["data"],
        "seconds": round(time.monotonic() - started, 1),
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "requests": results,
    }


def fmt(value, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def table(run: dict) -> str:
    d = run["data"]
    lines = [
        f"### {run['database']}: {run['org']}, {d['org_tickets']} tickets, {d['org_entries']}"
        f" entries ({d['all_entries']} in the database); ticket {d['ticket']}"
        f" ({d['ticket_entries']} entries), client {d['client']}, month {d['month']}"
        f" (period {d['period']}, {d['period_lines']} lines); load average"
        f" {run['load_average']['before'][0]:.1f} → {run['load_average']['after'][0]:.1f}",
        "",
        "| request | target | rps (4 conn.) | p50 ms | p99 ms | single request ms"
        " | server CPU ms | queries | SQL ms | in-process ms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in run["requests"].items():
        target = []
        if name in SINGLE_TARGET_MS:
            target.append(f"≤ {SINGLE_TARGET_MS[name]:g} ms")
        if name in QUERY_TARGET:
            target.append(f"≤ {QUERY_TARGET[name]} q")
        breakdown = ", ".join(f"{k} {v}" for k, v in sorted(r.get("queries_breakdown", {}).items()))
        lines.append(
            f"| {name} | {', '.join(target) or '—'} | {fmt(r.get('rps'))} | {fmt(r.get('p50_ms'), 2)}"
            f" | {fmt(r.get('p99_ms'), 2)} | **{fmt(r.get('single_ms'), 2)}**"
            f" | {fmt(r.get('single_cpu_ms'), 1)} | {r.get('queries', '—')}"
            f" ({breakdown}) | {fmt(r.get('sql_ms'), 1)} | {fmt(r.get('inproc_ms'), 1)} |"
        )
    return "\n".join(lines)


def ratio_table(small: dict, large: dict) -> str:
    lines = [
        f"### {large['database']} / {small['database']}",
        "",
        "| request | p50 ratio | single ratio | target |",
        "| --- | --- | --- | --- |",
    ]
    for name, s in small["requests"].items():
        lg = large["requests"].get(name)
        if not lg:
            continue
        p50 = lg["p50_ms"] / s["p50_ms"] if s.get("p50_ms") and lg.get("p50_ms") else None
        single = (
            lg["single_ms"] / s["single_ms"] if s.get("single_ms") and lg.get("single_ms") else None
        )
        lines.append(
            f"| {name} | {fmt(p50, 2)} | {fmt(single, 2)} |"
            f" {f'≤ {FLAT}' if name in FLAT_REQUESTS else '—'} |"
        )
    return "\n".join(lines)


def profile_text(run: dict) -> str:
    lines = []
    for name, r in run["requests"].items():
        profile = r.get("profile")
        if not profile:
            continue
        lines.append(
            f"\n#### {run['database']}: {name} ({profile['tool']}, {profile['runs']} requests,"
            f" {fmt(profile.get('profiled_ms'), 1)} ms each under the profiler; ms per request)"
        )
        lines.append("\n| own time | ms | cumulative | ms |\n| --- | --- | --- | --- |")
        for own, cum in zip(profile["own"], profile["cumulative"], strict=False):
            lines.append(
                f"| `{own['frame']}` | {own['ms']:.2f} | `{cum['frame']}` | {cum['ms']:.2f} |"
            )
    return "\n".join(lines)


def misses(runs: list[dict]) -> list[str]:
    missed = []
    for run in runs:
        for name, r in run["requests"].items():
            limit = SINGLE_TARGET_MS.get(name)
            if limit is not None and (r.get("single_ms") is None or r["single_ms"] > limit):
                missed.append(
                    f"{run['database']} {name}: single {r.get('single_ms')} ms > {limit:g} ms"
                )
            limit = QUERY_TARGET.get(name)
            if limit is not None and r.get("queries", 0) > limit:
                missed.append(f"{run['database']} {name}: {r['queries']} queries > {limit}")
            if r.get("status") != 200 or r.get("error"):
                missed.append(
                    f"{run['database']} {name}: status {r.get('status')} {r.get('error') or ''}"
                )
    if len(runs) >= 2:
        small, large = runs[0], runs[-1]
        for name in FLAT_REQUESTS:
            s, lg = small["requests"].get(name), large["requests"].get(name)
            if (
                s
                and lg
                and s.get("p50_ms")
                and lg.get("p50_ms")
                and lg["p50_ms"] > FLAT * s["p50_ms"]
            ):
                missed.append(
                    f"{name}: p50 {lg['p50_ms']} ms on {large['database']}"
                    f" > {FLAT} × {s['p50_ms']} ms on {small['database']}"
                )
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", action="append", default=[], help="owner URL (repeatable)")
    parser.add_argument("--small", help="owner URL of the 10k-entry database")
    parser.add_argument("--large", help="owner URL of the 1M-entry database")
    parser.add_argument("--org", default="page-000")
    parser.add_argument("--out", default="bench_pages.json")
    parser.add_argument("--duration", type=float, default=10, help="s of load per request")
    parser.add_argument("--single", type=float, default=5, help="s of one-at-a-time requests")
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--only", action="append", help="one request by name (repeatable)")
    parser.add_argument("--profile", action="store_true", help="pyinstrument (else cProfile)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--keep-going", action="store_true", help="record a request that fails its check, go on"
    )
    parser.add_argument(
        "--ticket", type=int, help="ticket number (default: the newest with 5 time entries)"
    )
    parser.add_argument("--client", type=int, help="client id (default: most tickets)")
    parser.add_argument("--month", help="YYYY-MM of the pre-invoice review (default: last month)")
    args = parser.parse_args()
    databases = [u for u in (args.small, *args.database, args.large) if u]
    if not databases:
        parser.error("give --small/--large or --database")
    started = time.monotonic()
    collect_static(databases[0])
    runs = []
    try:
        for owner_url in databases:
            label = urlsplit(owner_url).path.lstrip("/")
            runs.append(bench_database(label, owner_url, args))
    except (KeyboardInterrupt, SystemExit) as stopped:
        print(f"stopped ({stopped!r}): writing what was measured", file=sys.stderr)
    missed = misses(runs)
    report = {
        "command": " ".join(sys.argv),
        "when": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "load_average": os.getloadavg(),
        "seconds": round(time.monotonic() - started, 1),
        "runs": runs,
        "missed": missed,
    }
    Path(args.out).write_text(json.dumps(report, indent=2))
    for run in runs:
        print(table(run) + "\n")
    if len(runs) >= 2:
        print(ratio_table(runs[0], runs[-1]) + "\n")
    if args.profile:
        for run in runs:
            print(profile_text(run))
    print(
        f"\n{report['when']}, load average {' '.join(f'{x:.1f}' for x in report['load_average'])},"
        f" {report['seconds']:.0f} s; JSON in {args.out}"
    )
    if missed:
        print("\nMissed targets:\n" + "\n".join(f"- {m}" for m in missed))
    return 1 if missed or len(runs) < len(databases) else 0


if __name__ == "__main__":
    sys.exit(main())
