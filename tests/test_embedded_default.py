"""`make run` on a machine with nothing but Python: no DATABASE_URL, no
REDIS_URL. msops must migrate, seed, serve pages and run Celery tasks on the
embedded defaults (an SQLite file and kombu's filesystem broker under
MSOPS_VAR_DIR).

Only subprocesses are started here; the test database is never touched.
"""

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.test_deployment import clean_environment

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
MANAGE = str(ROOT / "manage.py")
DEMO_PASSWORD = "msops-demo"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, *, timeout: float, what: str, log: Path, interval: float = 0.25):
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}:\n{log.read_text()}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def embedded(tmp_path_factory) -> Iterator[dict]:
    """A fresh var/ directory, migrated and seeded, with an environment as on
    a machine where nothing is configured (DEBUG=1 as `make run` sets it)."""
    var_dir = tmp_path_factory.mktemp("msops-var")
    env = clean_environment()
    env.update(
        {
            "DEBUG": "1",
            "MSOPS_VAR_DIR": str(var_dir),
            "DJANGO_SETTINGS_MODULE": "msops.settings",
            # Subprocesses run in var_dir (kombu's filesystem transport keeps a
            # control/ folder in the working directory): import msops from ROOT.
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
            "PYTHONUNBUFFERED": "1",
        }
    )
    for command, timeout in ((["migrate", "--noinput"], 300), (["seed_demo"], 120)):
        result = subprocess.run(
            [sys.executable, MANAGE, *command],
            cwd=var_dir,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, f"manage.py {command[0]}:\n{result.stdout}\n{result.stderr}"
    assert (var_dir / "msops.sqlite3").is_file()
    yield {"env": env, "var_dir": var_dir, "seeded": result.stdout}


def test_a_seeded_user_logs_in_and_sees_their_organization(embedded):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = embedded["var_dir"] / "runserver.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, MANAGE, "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=embedded["var_dir"],
            env=embedded["env"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:

        def login_page():
            assert server.poll() is None, f"runserver exited:\n{log_path.read_text()}"
            try:
                response = requests.get(f"{base}/accounts/login/", timeout=5)
            except requests.ConnectionError:
                return None
            return response if response.status_code == 200 else None

        wait_for(login_page, timeout=60, what="runserver to answer", log=log_path)

        session = requests.Session()
        page = session.get(f"{base}/accounts/login/", timeout=10)
        assert page.status_code == 200
        csrftoken = session.cookies["csrftoken"]
        response = session.post(
            f"{base}/accounts/login/",
            data={"username": "dev", "password": DEMO_PASSWORD, "csrfmiddlewaretoken": csrftoken},
            headers={"Referer": f"{base}/accounts/login/"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        # dev belongs to one practice, so the landing page goes straight to it.
        assert response.url == f"{base}/o/northwind/"
        assert "Northwind IT Services" in response.text
        assert "Contoso Digital" not in response.text

        # Static files are served without collectstatic in the embedded mode.
        htmx = re.search(r'src="(/static/vendor/htmx[^"]*\.js)"', response.text)
        assert htmx, response.text
        asset = session.get(f"{base}{htmx[1]}", timeout=10)
        assert asset.status_code == 200
        assert "htmx" in asset.text[:2000]
    finally:
        stop(server)


def test_a_real_worker_runs_a_task_sent_with_delay_on_the_filesystem_broker(embedded):
    log_path = embedded["var_dir"] / "worker.log"
    with log_path.open("w") as log:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "msops",
                "worker",
                "--loglevel=INFO",
                "--concurrency=1",
                "--without-gossip",
                "--without-mingle",
                f"--hostname=embedded-test-{os.getpid()}@%h",
            ],
            cwd=embedded["var_dir"],
            env=embedded["env"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:

        def worker_log_text() -> str:
            assert worker.poll() is None, f"worker exited:\n{log_path.read_text()}"
            return log_path.read_text()

        def worker_log(pattern: str):
            return re.search(pattern, worker_log_text())

        wait_for(
            lambda: worker_log(r"\bready\."),
            timeout=60,
            what="the worker to be ready",
            log=log_path,
        )
        assert "filesystem" in log_path.read_text()

        send = subprocess.run(
            [
                sys.executable,
                MANAGE,
                "shell",
                "-c",
                "from msops.tenancy.tasks import api_tokens_expire_all as task;"
                "print('TASK-ID', task.delay().id)",
            ],
            cwd=embedded["var_dir"],
            env=embedded["env"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert send.returncode == 0, send.stderr
        task_id = re.search(r"TASK-ID (\S+)", send.stdout)[1]

        # Two demo practices: the sweep fans out one expiry task per organization.
        done = wait_for(
            lambda: worker_log(
                rf"Task msops\.tenancy\.tasks\.api_tokens_expire_all\[{task_id}\] "
                r"succeeded in [\d.]+s: (\d+)"
            ),
            timeout=60,
            what=f"task {task_id} to succeed",
            log=log_path,
        )
        assert done[1] == "2"

        def fanned_out():
            finished = re.findall(
                r"Task msops\.tenancy\.tasks\.api_tokens_expire_task\[\S+\] succeeded",
                worker_log_text(),
            )
            return len(finished) == 2

        wait_for(fanned_out, timeout=60, what="both per-organization tasks", log=log_path)
    finally:
        stop(worker)


DEMO_SUMMARY = re.compile(
    r"^Northwind IT Services: (\d+) tickets, (\d+) time entries, (\d+) open flags, (\d+) scope"
    r" checks waiting, (\d+) items in this week's review, (\d+) open questions for dev\.$",
    re.MULTILINE,
)


def test_the_demo_month_is_mostly_fine_with_a_handful_to_act_on(embedded):
    """seed_demo says what the demo holds: a month of tickets, most of them
    done in time, and what a person would act on — a handful of flags, two
    scope checks waiting, a short weekly review, a few questions for dev."""
    summary = DEMO_SUMMARY.search(embedded["seeded"])
    assert summary, embedded["seeded"]
    tickets, entries, flags, checks, items, questions = map(int, summary.groups())
    assert 50 <= tickets <= 70
    assert entries > tickets
    assert 5 <= flags <= 10
    assert checks == 2
    assert 3 <= items <= 15
    assert 2 <= questions <= 4


TRANSITIONS_SNAPSHOT = """
import json
from django.utils import timezone
from django_scopes import scopes_disabled
from clients.models import Client
from msops.tenancy.models import Organization
from msops.timezones import organization_today
from tickets.models import Ticket
from transitions.briefs import client_brief_is_stale
from transitions.models import ClientBrief, RecurringTask, Risk

with scopes_disabled():
    org = Organization.objects.get(slug="northwind")
    today = organization_today(org)
    briefs = {b.client.name: b for b in ClientBrief.objects.filter(organization=org)}
    done = Ticket.objects.filter(organization=org, status__in=["resolved", "closed"])
    print("SNAPSHOT", json.dumps({
        "briefs": {
            client.name: None if client.name not in briefs else {
                "stale": client_brief_is_stale(brief=briefs[client.name], today=today),
                "lines": len(briefs[client.name].summary.splitlines()),
                "reviewed_by": briefs[client.name].reviewed_by.user.username,
            }
            for client in Client.objects.filter(organization=org, status="active")
        },
        "tasks": sorted(
            (t.owner.user.username, t.cadence, bool(t.known_exceptions.strip()))
            for t in RecurringTask.objects.filter(organization=org)
        ),
        "risks": sorted(
            (r.owner.user.username, r.severity) for r in Risk.objects.filter(organization=org)
        ),
        "notes": done.exclude(resolution_note="").count(),
        "without_notes": done.filter(resolution_note="").count(),
        "reopened": [
            (t.reopen_count, (timezone.now() - t.last_reopened_at).days)
            for t in Ticket.objects.filter(organization=org, reopen_count__gt=0)
        ],
        "tickets": Ticket.objects.filter(organization=org).count(),
    }))
"""


def _transitions_snapshot(embedded) -> dict:
    import json

    result = subprocess.run(
        [sys.executable, MANAGE, "shell", "-c", TRANSITIONS_SNAPSHOT],
        cwd=embedded["var_dir"],
        env=embedded["env"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(re.search(r"^SNAPSHOT (.*)$", result.stdout, re.M)[1])


def test_the_demo_practice_has_its_transition_layer_and_a_second_seed_adds_nothing(embedded):
    snapshot = _transitions_snapshot(embedded)

    briefs = snapshot["briefs"]
    assert briefs["Acme Logistics"]["stale"] is False
    assert briefs["Brightside Dental"]["stale"] is True  # reviewed 45 days ago
    assert briefs["Cobalt Architects"] is None  # an active client with no brief yet
    assert all(3 <= brief["lines"] <= 6 for brief in briefs.values() if brief)
    assert 3 <= len(snapshot["tasks"]) <= 5
    assert {owner for owner, _, _ in snapshot["tasks"]} == {"dev", "dev2"}
    assert all(has_exceptions for _, _, has_exceptions in snapshot["tasks"])
    assert 3 <= len(snapshot["risks"]) <= 4
    assert {severity for _, severity in snapshot["risks"]} == {"low", "medium", "high"}
    assert {owner for owner, _ in snapshot["risks"]} <= {"dev", "dev2", "am"}
    assert snapshot["notes"] > 10 and snapshot["without_notes"] == 2
    assert snapshot["reopened"] == [[1, 0]]

    result = subprocess.run(
        [sys.executable, MANAGE, "seed_demo"],
        cwd=embedded["var_dir"],
        env=embedded["env"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert _transitions_snapshot(embedded) == snapshot
