"""Measure django-helpdesk 2.6.1 the way msops's page benchmark measures msops.

    bench/peer/helpdesk_setup.sh
    var/peer-venv/bin/python bench/peer/helpdesk_seed.py --tickets 10000 --followups 10000
    .venv/bin/python bench/peer/bench_helpdesk.py --out var/peer-helpdesk.json

Standard library only; runs with any Python 3.10+. The peer itself runs from
var/peer-venv (see README.md). Steps:

1. In-process, through the peer venv (helpdesk_queries.py): queries and SQL
   time of each request, logged in as the seeded staff user (the ticket page
   five times, median; the list API once, it runs ~10,000 queries).
2. gunicorn, 2 sync workers pinned to CPU 0 (taskset -c 0), port 8766.
3. A real login (GET /login/, POST the form with its CSRF token) gives a
   session cookie; both requests send it (DRF's SessionAuthentication accepts
   it for GET, the API's permission is IsAdminUser, i.e. is_staff).
4. Per request: a 2 s wrk warm-up (discarded), then
   `taskset -c 1 wrk -t1 -c4 -d10s --latency --timeout 60s` (rps, p50, p99)
   and `wrk -t1 -c1 -d5s` (its p50 is the single-request time; the workers'
   CPU time over it, per request, is "server CPU ms"). A request
   slower than that (the list API: seconds) gets runs stretched to ~4 and
   ~2.5 request times (at most 120 s) and no separate warm-up. Between runs
   the bench waits until gunicorn has answered every request wrk abandoned
   at the end of the previous run.
5. Writes JSON to --out and prints a markdown table. gunicorn is always stopped.
"""

import argparse
import http.cookiejar
import json
import math
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PROJECT = HERE / "helpdesk_project"
PASSWORD = "peer-bench-password"  # noqa: S105 - the seeded local benchmark login
WRK = "/usr/bin/wrk"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def peer(venv: Path, *args: str, timeout: float = 600) -> str:
    """Run a script of this folder with the peer's python; return its stdout."""
    done = subprocess.run(
        [str(venv / "bin" / "python"), *args],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed:\n{done.stderr[-3000:]}")
    return done.stdout


# -- gunicorn ---------------------------------------------------------------


def start_gunicorn(venv: Path, port: int, workers: int, log_path: Path) -> subprocess.Popen:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as out:
        process = subprocess.Popen(
            [
                "taskset", "-c", "0",
                str(venv / "bin" / "gunicorn"),
                "--chdir", str(PROJECT),
                "--workers", str(workers),
                "--worker-class", "sync",
                "--bind", f"127.0.0.1:{port}",
                # The list API takes seconds per request; the default 30 s
                # worker timeout would kill workers mid-request under load.
                "--timeout", "300",
                "--log-level", "warning",
                "wsgi:application",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as one
        )  # fmt: skip
    return process


def stop_gunicorn(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def cpu_ms(master: int) -> float:
    """CPU time (user + system) of gunicorn's workers so far, in ms.

    As msops's bench/bench_pages.py: per request, the server's own work, which
    waiting for a shared core does not inflate.
    """
    total = 0
    for children in Path(f"/proc/{master}/task").glob("*/children"):
        for pid in children.read_text().split():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total * TICK_MS


# Server-side TCP states of a request still being served: received, or
# accepted and unanswered after wrk hung up (ESTABLISHED, SYN_RECV, CLOSE_WAIT).
BUSY_STATES = {"01", "03", "08"}


def open_requests(port: int) -> int:
    busy = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for row in rows:
            fields = row.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] in BUSY_STATES:
                busy += 1
    return busy


def wait_idle(port: int, limit: float = 300) -> float:
    """Wait until gunicorn has answered every request wrk left in flight.

    wrk hangs up on requests still running when a run ends; gunicorn's sync
    workers serve them anyway (the list API's take seconds each), and a run
    started before they finish would measure a busy server.
    """
    started = time.monotonic()
    quiet = 0
    while time.monotonic() - started < limit and quiet < 2:
        quiet = quiet + 1 if open_requests(port) == 0 else 0
        time.sleep(0.25)
    return time.monotonic() - started


def wait_ready(base: str, process: subprocess.Popen, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited; see its log")
        try:
            with urllib.request.urlopen(f"{base}/login/", timeout=5) as response:  # noqa: S310 - http://127.0.0.1
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"gunicorn not answering on {base} after {limit:.0f} s")


# -- login ------------------------------------------------------------------


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def login(base: str, username: str) -> str:
    """Log in through the helpdesk's login form; return the session cookie value."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    with opener.open(f"{base}/login/", timeout=30) as response:
        page = response.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if not token:
        raise RuntimeError("no CSRF token on /login/")
    form = urllib.parse.urlencode(
        {
            "csrfmiddlewaretoken": token.group(1),
            "username": username,
            "password": PASSWORD,
            "next": "/",
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1
        f"{base}/login/", data=form, headers={"Referer": f"{base}/login/"}
    )
    try:
        opener.open(request, timeout=30)
    except urllib.error.HTTPError as redirect:  # 302 on success, unfollowed
        if redirect.code != 302:
            raise
    session = next((c.value for c in jar if c.name == "sessionid"), None)
    if not session:
        raise RuntimeError("login failed: no session cookie (run helpdesk_seed.py?)")
    return session


def fetch(base: str, url: str, headers: dict) -> tuple[int, bytes, float]:
    opener = urllib.request.build_opener(NoRedirect)
    started = time.perf_counter()
    try:
        request = urllib.request.Request(base + url, headers=headers)  # noqa: S310 - http://127.0.0.1
        with opener.open(request, timeout=300) as response:
            body = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        body, status = error.read(), error.code
    return status, body, (time.perf_counter() - started) * 1000


# -- wrk --------------------------------------------------------------------

UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def to_ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * UNITS_MS[unit]


def wrk(url: str, headers: dict, *, connections: int, seconds: int, timeout: int) -> dict:
    command = [
        "taskset",
        "-c",
        "1",
        WRK,
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        f"{timeout}s",
    ]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    done = subprocess.run(
        [*command, url], capture_output=True, text=True, timeout=seconds + 60, check=True
    )
    out = done.stdout
    percentiles = {
        int(p): to_ms(v) for p, v in re.findall(r"^\s+(\d+)%\s+(\S+)\s*$", out, re.MULTILINE)
    }
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    completed = int(re.search(r"(\d+) requests in", out).group(1))
    timeouts = int(errors.group(4)) if errors else 0
    # wrk keeps no latency for a response slower than --timeout (it counts it
    # as completed and as a timeout) and prints zeros when it kept none.
    return {
        "seconds": seconds,
        "requests": completed,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": percentiles.get(50) or None,
        "p99_ms": percentiles.get(99) or None,
        "timeouts": timeouts,
        "errors": sum(int(n) for n in errors.groups()[:3]) if errors else 0,
        "non_2xx_3xx": int(non_2xx.group(1)) if non_2xx else 0,
        "command": shlex.join(re.sub(r"sessionid=\S+", "sessionid=…", c) for c in [*command, url]),
        "raw": out,
    }


# -- main -------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "peer-helpdesk.json")
    parser.add_argument("--venv", type=Path, default=ROOT / "var" / "peer-venv")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--page-size", type=int, default=50)
    parser.add_argument(
        "--ticket", type=int, help="ticket id for the ticket page (default: the middle one)"
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds of the 4-connection run")
    parser.add_argument(
        "--single-duration", type=int, default=5, help="seconds of the 1-connection run"
    )
    parser.add_argument(
        "--warmup", type=int, default=2, help="seconds of the discarded warm-up run"
    )
    parser.add_argument(
        "--wrk-timeout", type=int, default=60, help="wrk --timeout, seconds (as bench_pages.py)"
    )
    args = parser.parse_args()

    data = json.loads(peer(args.venv, "helpdesk_queries.py", "--info"))
    if not data["tickets"]:
        sys.exit("no tickets: run bench/peer/helpdesk_seed.py first")
    ticket = args.ticket or data["ticket_id"]
    requests = [
        ("ticket list API", f"/api/tickets/?page_size={args.page_size}", 1),
        ("ticket page", f"/tickets/{ticket}/", 5),
    ]
    log(
        f"peer data: {data['tickets']} tickets, {data['followups']} follow-ups; measuring ticket {ticket}"
    )

    log("counting queries in-process (the list API takes a while) ...")
    plan = [[url, times] for _, url, times in requests]
    counted = json.loads(peer(args.venv, "helpdesk_queries.py", json.dumps(plan), timeout=900))
    for url, result in counted.items():
        if result["status"] != 200:
            sys.exit(f"{url} answered {result['status']} in-process; nothing measured")

    base = f"http://127.0.0.1:{args.port}"
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", args.port)) == 0:
            sys.exit(f"port {args.port} is taken: stop what listens there or pass --port")
    # A SIGTERM (or Ctrl-C) still stops gunicorn through the finally below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))
    gunicorn = start_gunicorn(
        args.venv, args.port, args.workers, ROOT / "var" / "peer-helpdesk-gunicorn.log"
    )
    results = []
    try:
        wait_ready(base, gunicorn)
        session = login(base, data["username"])
        headers = {"Cookie": f"sessionid={session}", "Accept": "application/json, text/html"}

        def run(url: str, *, connections: int, seconds: int) -> dict:
            return wrk(
                base + url,
                headers,
                connections=connections,
                seconds=seconds,
                timeout=args.wrk_timeout,
            )

        for name, url, _ in requests:
            status, body, direct_ms = fetch(base, url, headers)
            if status != 200:
                raise RuntimeError(f"{url} answered {status} to the logged-in user")
            row = {
                "request": name,
                "url": url,
                "status": status,
                "bytes": len(body),
                "first_request_ms": round(direct_ms, 1),
            }
            if url.startswith("/api/"):
                page = json.loads(body)
                paginated = isinstance(page, dict) and "results" in page
                row["paginated"] = paginated
                row["rows"] = len(page["results"]) if paginated else len(page)
                row["count"] = page.get("count") if paginated else len(page)
            # A request slower than the runs would complete nothing in them:
            # stretch the runs to a few requests' time (recorded in the JSON).
            first_s = direct_ms / 1000
            c4_seconds = min(120, max(args.duration, math.ceil(4 * first_s)))
            c1_seconds = min(120, max(args.single_duration, math.ceil(2.5 * first_s)))
            wait_idle(args.port)
            if first_s < args.warmup:
                log(f"{name}: warm-up {args.warmup} s")
                run(url, connections=4, seconds=args.warmup)
                wait_idle(args.port)
            # else: the checked request above already warmed the workers up.
            log(f"{name}: wrk -c4 -d{c4_seconds}s")
            load = run(url, connections=4, seconds=c4_seconds)
            wait_idle(args.port)
            log(f"{name}: wrk -c1 -d{c1_seconds}s")
            before = cpu_ms(gunicorn.pid)  # taskset execs gunicorn: the master
            single = run(url, connections=1, seconds=c1_seconds)
            abandoned = min(1, open_requests(args.port))  # served after wrk hung up
            idle_wait = wait_idle(args.port)
            served = single["requests"] + abandoned
            cpu = (cpu_ms(gunicorn.pid) - before) / served if served else None
            if single["p50_ms"] is None:
                # Nothing timed in the single-connection run: time one request alone.
                _, _, single_ms = fetch(base, url, headers)
                single_source = "one request timed alone (wrk -c1 timed none)"
            else:
                single_ms = single["p50_ms"]
                single_source = "wrk -c1 p50"
            row.update(
                {
                    "rps": load["rps"],
                    "p50_ms": load["p50_ms"],
                    "p99_ms": load["p99_ms"],
                    "single_ms": single_ms,
                    "single_source": single_source,
                    "single_cpu_ms": round(cpu, 1) if cpu is not None else None,
                    "queries": counted[url]["queries"],
                    "sql_ms": counted[url]["sql_ms"],
                    "sql_ms_captured": counted[url]["sql_ms_captured"],
                    "queries_total": counted[url]["queries_total"],
                    "inprocess_ms": counted[url]["wall_ms"],
                    "wrk_c4": {k: v for k, v in load.items() if k != "raw"},
                    "wrk_c1": {k: v for k, v in single.items() if k != "raw"},
                    "idle_wait_s": round(idle_wait, 1),
                }
            )
            results.append(row)
    finally:
        stop_gunicorn(gunicorn)

    report = {
        "peer": "django-helpdesk 2.6.1",
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "tickets": data["tickets"],
        "followups": data["followups"],
        "auth": "session cookie from a form login of the staff superuser, sent to both requests",
        "server": f"gunicorn, {args.workers} sync workers, taskset -c 0, 127.0.0.1:{args.port}",
        "load": f"taskset -c 1 wrk -t1 -c4 -d{args.duration}s --latency --timeout {args.wrk_timeout}s; "
        f"single: -c1 -d{args.single_duration}s; warm-up {args.warmup} s discarded; "
        "runs stretched to ~4 (c4) / ~2.5 (c1) request times for requests slower than that",
        "loadavg_at_end": Path("/proc/loadavg").read_text().split()[:3],
        "requests": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))
    log(f"wrote {args.out}")


def fmt(value, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def table(report: dict) -> str:
    lines = [
        f"django-helpdesk 2.6.1, {report['tickets']:,} tickets, {report['followups']:,} follow-ups "
        f"({report['measured_at']}, load {' '.join(report['loadavg_at_end'])})",
        "",
        "| request | URL | rps | p50 ms | p99 ms | single request ms | server CPU ms | queries | SQL ms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    notes = []
    for row in report["requests"]:
        lines.append(
            f"| {row['request']} | `{row['url']}` | {fmt(row['rps'], 2)} | {fmt(row['p50_ms'])} "
            f"| {fmt(row['p99_ms'])} | {fmt(row['single_ms'])} | {fmt(row.get('single_cpu_ms'))} "
            f"| {row['queries']:,} | {fmt(row['sql_ms'])} |"
        )
        c4, c1 = row["wrk_c4"], row["wrk_c1"]
        notes.append(
            f"- {row['request']}: -c4 {c4['seconds']} s, {c4['requests']} completed, "
            f"{c4['timeouts']} timeouts; -c1 {c1['seconds']} s, {c1['requests']} completed; "
            f"single from {row['single_source']}"
            + (f"; {row['rows']} rows of {row['count']:,}" if "rows" in row else "")
        )
    return "\n".join([*lines, "", *notes])


if __name__ == "__main__":
    main()
