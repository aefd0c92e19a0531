"""Background work survives a killed worker and a stopped broker: nothing lost, nothing doubled.

Real processes: our own redis-server on a free port (never the shared one), a Celery worker
(`-P prefork --concurrency 1`) and beat, on this test's PostgreSQL database.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import transaction

from audit.models import Action
from audit.services import record
from outbox.models import OutboxMessage
from outbox.services import enqueue
from portal.celery import app
from tests.portal.conftest import stop
from tests.portal.services_fixtures import FakeClamd, RedisServer, start_beat, start_worker, worker_env
from tests.portal.services_fixtures import children as pool_processes

# Committed data, so the worker processes see it. A transactional test ends with a flush, which
# also removes the rows the data migrations seeded; the autouse fixture below puts them back.
pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _seeded(reseeded):
    """Every test here runs on committed, reseeded data (tests/conftest.py `reseeded`)."""


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str, logs: list[Path] = ()) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    tails = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in logs if p.exists())
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{tails}")


def _reset_broker_connections() -> None:
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker(tmp_path):
    redis = RedisServer(tmp_path)
    redis.start()
    saved = {"task_always_eager": app.conf.task_always_eager, "broker_url": app.conf.broker_url}
    app.conf.update(task_always_eager=False, broker_url=redis.url)
    _reset_broker_connections()
    try:
        yield redis
    finally:
        app.conf.update(saved)
        _reset_broker_connections()
        redis.stop()


@pytest.fixture
def runs(tmp_path) -> Path:
    directory = tmp_path / "runs"
    directory.mkdir()
    return directory


def test_worker_killed_mid_task_is_redelivered_and_takes_effect_once(broker, runs, tmp_path):
    log = tmp_path / "worker.log"
    worker = start_worker(worker_env(broker.url, tmp_path), log)
    try:
        with transaction.atomic():
            message = enqueue("tests.outbox.slow_note", kwargs={"value": "v1", "directory": str(runs), "seconds": 4})
        starts = runs / "starts.log"
        wait_until(
            lambda: starts.exists() and starts.read_text().strip(), timeout=60, what="the task to start", logs=[log]
        )
        task_id, pid = starts.read_text().split()
        assert task_id == str(message.code)
        os.kill(int(pid), signal.SIGKILL)  # the pool process running it, mid-task

        effect = runs / f"{message.code}.run"
        wait_until(effect.exists, timeout=60, what="the redelivered task to finish", logs=[log])
    finally:
        stop(worker)
    lines = starts.read_text().split("\n")
    started = [line.split() for line in lines if line]
    assert len(started) == 2, started  # delivered again after the kill ...
    assert {t for t, _ in started} == {str(message.code)}
    assert started[0][1] != started[1][1]  # ... to a fresh pool process
    assert [p.name for p in runs.glob("*.run")] == [effect.name]  # ... and took effect once
    assert effect.read_text() == "v1"


def test_redis_down_web_keeps_working_and_queued_tasks_run_when_it_returns(
    broker, runs, tmp_path, verified_client, alice
):
    logs = [tmp_path / "worker.log", tmp_path / "beat.log"]
    env = worker_env(broker.url, tmp_path, ACCORD_OUTBOX_RELAY_SECONDS="1")
    worker = start_worker(env, logs[0])
    beat = start_beat(env, logs[1], tmp_path / "beat-schedule")
    try:
        broker.stop()
        # Reads and writes go on: sign-in, pages, and changes that queue follow-up tasks.
        client = verified_client(alice)
        assert client.get("/").status_code == 200
        codes = []
        for n in range(3):
            started = time.monotonic()
            with transaction.atomic():
                record(Action.DOCUMENT_UPDATED, actor=alice, details={"n": n})
                codes.append(enqueue("tests.outbox.note", args=[f"v{n}"], kwargs={"directory": str(runs)}).code)
            assert time.monotonic() - started < 5
        assert OutboxMessage.objects.filter(sent_at=None).count() == 3
        assert not list(runs.glob("*.run"))

        broker.start()  # the same port: worker and beat reconnect by themselves
        wait_until(lambda: len(list(runs.glob("*.run"))) == 3, timeout=90, what="the queued tasks to run", logs=logs)
        wait_until(
            lambda: not OutboxMessage.objects.filter(sent_at=None).exists(), timeout=30, what="the outbox to drain"
        )
    finally:
        stop(beat)
        stop(worker)
    assert sorted((runs / f"{code}.run").read_text() for code in codes) == ["v0", "v1", "v2"]


class StallingClamd(FakeClamd):
    """The first scan hangs (so the worker can be killed in the middle of it), every later one
    answers `stream: OK`."""

    def __init__(self):
        self.first_scan_started = threading.Event()
        super().__init__()

    def answer(self, conn, number: int) -> None:
        if number == 1:
            self.first_scan_started.set()
            conn.recv(1)  # hang until the worker dies and its socket closes
            return
        super().answer(conn, number)


def test_worker_killed_mid_scan_rescans_and_records_one_verdict(broker, tmp_path, verified_client, alice, ukasi):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from accounts.models import Tier
    from audit.models import AuditEvent
    from sharing.models import Attachment, Document

    clamd = StallingClamd()
    log = tmp_path / "worker.log"
    env = worker_env(broker.url, tmp_path, ACCORD_CLAMD_HOST="127.0.0.1", ACCORD_CLAMD_PORT=str(clamd.port))
    worker = start_worker(env, log)
    try:
        document = Document.objects.create(
            title="Uplift evaluation", originator=ukasi, author=alice, tier=Tier.objects.get(code="official")
        )
        response = verified_client(alice).post(
            reverse("sharing:attachment_upload", args=[document.code]),
            {"file": SimpleUploadedFile("results.csv", b"model,score\nm1,0.4\n" * 1000, content_type="text/csv")},
        )
        assert response.status_code == 201, response.content
        attachment = Attachment.objects.get(code=response.json()["code"])
        assert clamd.first_scan_started.wait(60), log.read_text()[-3000:]
        children = pool_processes(worker.pid)
        assert len(children) == 1, children  # --concurrency 1: the pool process doing the scan
        os.kill(children[0], signal.SIGKILL)

        wait_until(
            lambda: Attachment.objects.get(pk=attachment.pk).scan_status != Attachment.ScanStatus.PENDING,
            timeout=90,
            what="the redelivered scan to decide",
            logs=[log],
        )
    finally:
        stop(worker)
        clamd.close()
    attachment.refresh_from_db()
    assert attachment.scan_status == Attachment.ScanStatus.CLEAN
    assert clamd.connections == 2  # scanned again after the kill ...
    verdicts = AuditEvent.objects.filter(
        target_id=str(attachment.code), action__in=["attachment.scanned", "attachment.rejected"]
    )
    assert verdicts.count() == 1  # ... and decided once
