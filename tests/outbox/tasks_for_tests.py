"""Tasks for the outbox and fault tests: each run is logged, each effect happens once per task id."""

from __future__ import annotations

import os
import time
from pathlib import Path

from celery import shared_task

RUNS: list[tuple[str, str]] = []


def _effect(task_id: str, value: str, directory: str | None) -> None:
    RUNS.append((task_id, value))
    if not directory:
        return
    # One file per task id, created exclusively: a redelivery finds it and changes nothing.
    path = Path(directory) / f"{task_id}.run"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as fh:
        fh.write(value)


@shared_task(name="tests.outbox.note", bind=True, acks_late=True)
def note(self, value: str, directory: str | None = None) -> None:
    _effect(self.request.id, value, directory)


@shared_task(name="tests.outbox.slow_note", bind=True, acks_late=True, reject_on_worker_lost=True)
def slow_note(self, value: str, directory: str, seconds: float = 3.0) -> None:
    """Logs each start with the worker process id, then dawdles before the effect, so a test
    can kill the worker in the middle."""
    with (Path(directory) / "starts.log").open("a") as fh:
        fh.write(f"{self.request.id} {os.getpid()}\n")
    time.sleep(seconds)
    _effect(self.request.id, value, directory)


def _stall_once(sender=None, task_id=None, **kwargs) -> None:
    """Fault tests: the first run of the task named in ACCORD_TEST_STALL_TASK writes its task id
    and process id to ACCORD_TEST_STALL_FILE, then hangs, so the test can kill the whole worker
    in the middle of it. Later runs (another worker, the file already there) go straight on."""
    if getattr(sender, "name", None) != os.environ.get("ACCORD_TEST_STALL_TASK"):
        return
    marker = Path(os.environ["ACCORD_TEST_STALL_FILE"])
    try:
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as fh:
        fh.write(f"{task_id} {os.getpid()}\n")
    time.sleep(600)


if os.environ.get("ACCORD_TEST_STALL_TASK"):
    from celery.signals import task_prerun

    task_prerun.connect(_stall_once, weak=False)
