"""The jobs survive what production does to them, proven against a real Redis
and real worker processes: a worker killed in the middle of a sweep, a
broker that is down while people work, sweeps that overlap.

Each test starts its own ``redis-server`` on a free port and its own
``celery worker`` processes pointed at it and at the test database, so the
shared services are never touched. Every wait is bounded; every process is
stopped in ``finally``.
"""

import contextlib
import datetime
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import kombu.pools
import pytest
import redis
from celery import Celery
from django.db import connection, connections
from django.urls import reverse
from django_scopes import scopes_disabled

from billing.flags import flags_sweep
from billing.models import ExceptionFlag
from billing.services import decision_record
from clients.models import Treatment
from msops.celery import app as msops_app
from msops.tenancy.models import Role
from msops.tenancy.scoping import activate_organization
from tests.factories import (
    ClientFactory,
    ContractFactory,
    ContractRevisionFactory,
    MembershipFactory,
    OrganizationFactory,
    RequestTypeFactory,
    ScopeRuleFactory,
    TicketFactory,
    TimeEntryFactory,
)
from tickets.models import BillingMoment, Ticket, TimeEntry
from tickets.services import organization_today, ticket_open

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
VISIBILITY_TIMEOUT = 6  # seconds before Redis redelivers a dead worker's task
SWEEP = "billing.tasks.flags_sweep_task"


# --- processes --------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def stop(process: subprocess.Popen | None, sig=signal.SIGTERM) -> None:
    """Stop a process and everything it started (it leads its own session)."""
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


class RedisServer:
    """A redis-server of our own on a free port, which can be stopped and
    started again on the same port."""

    def __init__(self, tmp_path: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = tmp_path
        self.process: subprocess.Popen | None = None

    def ping(self) -> bool:
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.exceptions.ConnectionError:
            return False
        finally:
            client.close()

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        wait_for(self.ping, 20, f"redis-server on port {self.port}")

    def stop(self) -> None:
        stop(self.process)
        self.process = None
        assert not self.ping()


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        stop(server.process, signal.SIGKILL)


def database_url() -> str:
    """The test database pytest-django created: the workers use the same."""
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Worker:
    def __init__(self, process: subprocess.Popen, log: Path):
        self.process = process
        self.log = log

    @property
    def pids(self) -> set[int]:
        """The worker and its pool processes."""
        found = {self.process.pid}
        result = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.process.pid)],
            capture_output=True,
            text=True,
            timeout=10,
        )
        found |= {int(p) for p in result.stdout.split()}
        return found

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@pytest.fixture
def workers(tmp_path, redis_server):
    """``start(concurrency=1, **env)`` → a ``celery worker`` process of our
    own on our Redis and the test database, with the slow-sweep hook."""
    started: list[Worker] = []
    sweep_log = tmp_path / "sweeps.log"
    sweep_log.touch()

    def start(concurrency: int = 1, **extra_env: str) -> Worker:
        env = {
            key: value
            for key, value in os.environ.items()
            if key in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")
        }
        env.update(
            DJANGO_SETTINGS_MODULE="msops.settings",
            PYTHONPATH=str(ROOT),
            DEBUG="0",
            SECRET_KEY="reliability-tests-only",
            SECURE_SSL_REDIRECT="0",
            DATABASE_URL=database_url(),
            REDIS_URL=redis_server.url,
            CELERY_BROKER_URL=redis_server.url,
            CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
            MSOPS_VAR_DIR=str(tmp_path / "var"),
            CONN_MAX_AGE="0",
            SLOW_SWEEP_LOG=str(sweep_log),
            **extra_env,
        )
        log = tmp_path / f"worker-{len(started)}.log"
        with open(log, "w") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "msops", "worker", "--loglevel=INFO",
                 f"--concurrency={concurrency}", "--pool=prefork", "-n", f"test-{uuid.uuid4().hex[:8]}@%h",
                 "-I", "tests.billing.slow_tasks", "--without-gossip", "--without-mingle",
                 "--without-heartbeat"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        worker = Worker(process, log)
        started.append(worker)
        wait_for(
            lambda: " ready." in worker.output() or process.poll() is not None,
            90,
            "the worker to be ready",
        )
        assert process.poll() is None, worker.output()
        return worker

    start.sweep_log = sweep_log
    try:
        yield start
    finally:
        for worker in started:
            stop(worker.process, signal.SIGKILL)


def sweep_events(log: Path) -> list[tuple[int, str]]:
    events = []
    for line in log.read_text().splitlines():
        pid, _, what = line.partition(" ")
        events.append((int(pid), what))
    return events


@pytest.fixture
def sender(redis_server):
    """A Celery client of our own Redis, to send tasks by name as beat does."""
    client = Celery("reliability-sender", broker=redis_server.url, set_as_current=False)
    client.conf.update(task_serializer="json", broker_connection_timeout=2)
    try:
        yield client
    finally:
        client.close()


@contextlib.contextmanager
def msops_broker(url: str):
    """Point this process's Celery app (the one the pages enqueue with) at
    ``url``, for real: not eager."""
    saved = (msops_app.conf.broker_url, msops_app.conf.task_always_eager)

    def reset_pools():
        if msops_app._pool is not None:
            msops_app._pool.force_close_all()
        msops_app._pool = None
        msops_app.amqp._producer_pool = None
        # kombu keeps producer pools per broker URL: a closed one must not be
        # handed out again when the URL comes back (even eager sends take one).
        kombu.pools.reset()

    reset_pools()
    msops_app.conf.broker_url = url
    msops_app.conf.task_always_eager = False
    try:
        yield
    finally:
        reset_pools()
        msops_app.conf.broker_url, msops_app.conf.task_always_eager = saved


# --- data ---------------------------------------------------------------------------------
def practice(tickets: int = 6):
    """A practice whose tickets were all worked past their expected time and
    approval threshold, undecided, some of it entered late: written straight
    to the tables, so nothing has checked them yet."""
    with scopes_disabled():
        org = OrganizationFactory(slug=f"rel-{uuid.uuid4().hex[:6]}")
        manager = MembershipFactory(organization=org, role=Role.ACCOUNT_MANAGER)
        developer = MembershipFactory(organization=org, role=Role.DEVELOPER)
        client = ClientFactory(organization=org, account_manager=manager)
        contract = ContractFactory(client=client)
        ContractRevisionFactory(contract=contract)
        rule = ScopeRuleFactory(
            contract=contract,
            request_type=RequestTypeFactory(organization=org, name="Troubleshooting"),
            treatment=Treatment.INCLUDED,
            expected_minutes=60,
            approval_threshold_minutes=120,
        )
        for number in range(1, tickets + 1):
            ticket = TicketFactory(
                organization=org,
                client=client,
                contract=contract,
                request_type=rule.request_type,
                number=number,
                logged_minutes=150,
            )
            TimeEntryFactory(ticket=ticket, person=developer, minutes=100)
            TimeEntryFactory(
                ticket=ticket,
                person=developer,
                minutes=50,
                work_date=organization_today(org) - datetime.timedelta(days=10),
            )
    return org


def flag_rows(org) -> list[tuple[str, str, str]]:
    with scopes_disabled():
        return sorted(
            ExceptionFlag.objects.filter(organization=org).values_list(
                "kind", "subject_key", "period_key"
            )
        )


def moment_rows(org) -> list[tuple[int, str]]:
    with scopes_disabled():
        return sorted(
            BillingMoment.objects.filter(organization=org).values_list("ticket_id", "kind")
        )


def reference_flags(org) -> list[tuple[str, str, str]]:
    """What one undisturbed sweep finds, computed in a transaction rolled back."""
    from django.db import transaction

    with transaction.atomic():
        with activate_organization(org):
            flags_sweep(organization=org)
        rows = flag_rows(org)
        transaction.set_rollback(True)
    return rows


def assert_swept_once(org, expected) -> None:
    rows = flag_rows(org)
    assert rows == expected, "the flags differ from one undisturbed sweep"
    assert len(rows) == len(set(rows))
    moments = moment_rows(org)
    assert len(moments) == len(set(moments)), "a billing moment was opened twice"
    with activate_organization(org):
        assert flags_sweep(organization=org).created == 0, "the sweep had left something out"


# --- (1) a worker killed in the middle of a sweep ------------------------------------------
def test_a_sweep_killed_with_its_worker_is_redelivered_and_finishes_once(workers, sender):
    org = practice(tickets=6)
    expected = reference_flags(org)
    assert len(expected) >= 6 * 3
    first = workers(SLOW_SWEEP_PAUSE="0.5")
    sender.send_task(SWEEP, kwargs={"organization_id": org.pk})
    wait_for(
        lambda: sum(what.startswith("batch") for _, what in sweep_events(workers.sweep_log)) >= 2,
        60,
        "the first worker to be two batches into the sweep",
    )
    wait_for(lambda: flag_rows(org), 10, "the first batch's flags to be committed")
    doomed = first.pids
    os.killpg(first.process.pid, signal.SIGKILL)  # the whole worker, mid-sweep
    first.process.wait(timeout=10)
    partial = flag_rows(org)
    assert 0 < len(partial) < len(expected), "killed in the middle of the sweep"
    assert not any(what.startswith("done") for _, what in sweep_events(workers.sweep_log))

    workers(SLOW_SWEEP_PAUSE="0.1")  # a fresh worker gets the unacknowledged task
    done = wait_for(
        lambda: [pid for pid, what in sweep_events(workers.sweep_log) if what.startswith("done")],
        VISIBILITY_TIMEOUT + 90,
        "the redelivered sweep to finish",
    )
    assert not set(done) & doomed, "finished by a new worker process"
    assert_swept_once(org, expected)


def test_a_sweep_whose_pool_process_dies_is_requeued_at_once(workers, sender):
    """reject_on_worker_lost: the worker sees its pool process die and puts
    the task back without waiting for the visibility timeout."""
    org = practice(tickets=4)
    expected = reference_flags(org)
    worker = workers(SLOW_SWEEP_PAUSE="0.5")
    sender.send_task(SWEEP, kwargs={"organization_id": org.pk})
    (child,) = wait_for(
        lambda: {pid for pid, what in sweep_events(workers.sweep_log) if what == "batch 1"},
        60,
        "the sweep to start",
    )
    os.kill(child, signal.SIGKILL)
    done = wait_for(
        lambda: [pid for pid, what in sweep_events(workers.sweep_log) if what.startswith("done")],
        60,
        "the requeued sweep to finish",
    )
    assert child not in done and worker.process.poll() is None
    assert_swept_once(org, expected)


# --- (2) Redis down while people work --------------------------------------------------------
def test_pages_save_while_redis_is_down_and_the_sweep_catches_up(
    client, redis_server, workers, sender
):
    with scopes_disabled():
        org = OrganizationFactory(slug=f"down-{uuid.uuid4().hex[:6]}")
        manager = MembershipFactory(organization=org, role=Role.ACCOUNT_MANAGER)
        developer = MembershipFactory(organization=org, role=Role.DEVELOPER)
        acme = ClientFactory(organization=org, account_manager=manager)
        contract = ContractFactory(client=acme)
        ContractRevisionFactory(contract=contract)
        rule = ScopeRuleFactory(
            contract=contract,
            expected_minutes=60,
            approval_threshold_minutes=120,
            treatment=Treatment.INCLUDED,
        )
    with activate_organization(org):
        ticket = ticket_open(
            organization=org,
            opened_by=developer,
            client=acme,
            request_type=rule.request_type,
            title="Mail server down",
        )

    redis_server.stop()
    with msops_broker(redis_server.url):
        client.force_login(developer.user)
        started = time.monotonic()
        response = client.post(
            reverse("tickets:ticket_log_time", kwargs={"org": org.slug, "pk": ticket.pk}),
            {
                "work_date": f"{organization_today(org):%Y-%m-%d}",
                "minutes": "2:30",
                "notes": "Restored the mailbox database",
                "idempotency_key": str(uuid.uuid4()),
            },
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        assert time.monotonic() - started < 30
        with activate_organization(org):
            ticket.refresh_from_db()
            decision = decision_record(
                ticket=ticket,
                actor=developer,
                classification="included",
                version=ticket.version,
            )
    with scopes_disabled():
        assert TimeEntry.objects.get(ticket=ticket).minutes == 150
        assert Ticket.objects.get(pk=ticket.pk).classification == "included"
        assert decision.pk
    assert flag_rows(org) == [], "nothing could check the ticket while Redis was down"

    redis_server.start()  # back, on the same port, empty
    workers(SLOW_SWEEP_PAUSE="0")
    sender.send_task("billing.tasks.flags_sweep_all")  # what beat sends every 10 minutes
    caught = wait_for(
        lambda: (
            {kind for kind, _, _ in flag_rows(org)} >= {"over_expected", "over_approval"}
            and flag_rows(org)
        ),
        90,
        "the sweep to flag what was missed",
    )
    assert ("over_expected", f"ticket:{ticket.pk}", "-") in caught
    assert ("no_decision", f"ticket:{ticket.pk}", "-") not in caught  # it was decided


# --- (3) sweeps that overlap -----------------------------------------------------------------
def test_two_sweeps_at_once_in_two_threads_give_the_same_flags():
    org = practice(tickets=8)
    expected = reference_flags(org)
    barrier = threading.Barrier(2)
    created: list[int] = []
    errors: list[BaseException] = []

    def sweep():
        try:
            barrier.wait(timeout=10)
            with activate_organization(org):
                created.append(flags_sweep(organization=org, batch=2).created)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert not errors, errors
    assert sum(created) == len(expected), "each flag was created by exactly one sweep"
    assert_swept_once(org, expected)


def test_two_sweeps_at_once_in_two_worker_processes_give_the_same_flags(workers, sender):
    org = practice(tickets=8)
    expected = reference_flags(org)
    workers(concurrency=2, SLOW_SWEEP_PAUSE="0.3", SLOW_SWEEP_BATCH="2")
    for _ in range(2):
        sender.send_task(SWEEP, kwargs={"organization_id": org.pk})
    done = wait_for(
        lambda: (
            [
                (pid, int(what.split()[1]))
                for pid, what in sweep_events(workers.sweep_log)
                if what.startswith("done")
            ]
            if sum(what.startswith("done") for _, what in sweep_events(workers.sweep_log)) >= 2
            else None
        ),
        90,
        "both sweeps to finish",
    )
    assert len({pid for pid, _ in done}) == 2, "the two sweeps ran in two processes"
    assert sum(n for _, n in done) == len(expected)
    assert_swept_once(org, expected)


def test_a_sweep_run_twice_changes_nothing_the_second_time(workers, sender):
    org = practice(tickets=3)
    expected = reference_flags(org)
    workers(SLOW_SWEEP_PAUSE="0")
    for _ in range(2):
        sender.send_task(SWEEP, kwargs={"organization_id": org.pk})
    done = wait_for(
        lambda: (
            [int(w.split()[1]) for _, w in sweep_events(workers.sweep_log) if w.startswith("done")]
            if sum(w.startswith("done") for _, w in sweep_events(workers.sweep_log)) >= 2
            else None
        ),
        60,
        "both sweeps to finish",
    )
    assert done == [len(expected), 0]
    assert_swept_once(org, expected)
