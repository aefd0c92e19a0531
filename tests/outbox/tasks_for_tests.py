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
