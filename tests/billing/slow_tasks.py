"""Loaded only by the worker processes the reliability tests start
(``celery worker -I tests.billing.slow_tasks``), never by the app.

With ``SLOW_SWEEP_LOG`` set, the real ``billing.tasks.flags_sweep_task``
sweeps in batches of ``SLOW_SWEEP_BATCH`` tickets, pauses
``SLOW_SWEEP_PAUSE`` seconds after each batch, and writes what it does to the
log file (``<pid> start|batch N|done N``), so a test can kill the worker in
the middle of a sweep and see who finished it. Production code has no hook
for this: the module wraps the functions the task calls.
"""

import os
import time

from billing import flags, tasks

LOG = os.environ.get("SLOW_SWEEP_LOG")
PAUSE = float(os.environ.get("SLOW_SWEEP_PAUSE", "0.5"))
BATCH = int(os.environ.get("SLOW_SWEEP_BATCH", "1"))


def _write(line: str) -> None:
    with open(LOG, "a") as log:
        log.write(f"{os.getpid()} {line}\n")


if LOG:
    _ticket_batch = flags._ticket_batch
    _flags_sweep = tasks.flags_sweep
    _batches = {"n": 0}

    def slow_ticket_batch(*args, **kwargs):
        created = _ticket_batch(*args, **kwargs)  # committed when the batch's transaction ends
        _batches["n"] += 1
        _write(f"batch {_batches['n']}")
        time.sleep(PAUSE)
        return created

    def logged_sweep(*, organization, **kwargs):
        _batches["n"] = 0
        _write("start")
        result = _flags_sweep(organization=organization, batch=BATCH)
        _write(f"done {result.created}")
        return result

    flags._ticket_batch = slow_ticket_batch
    tasks.flags_sweep = logged_sweep
