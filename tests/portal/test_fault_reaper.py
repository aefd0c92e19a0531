"""Work a lost message would strand is done anyway, exactly once, within its deadline.

Real processes on this test's PostgreSQL database: Celery workers (each in a process group of
its own, so a test can SIGKILL it whole, main process and pool together, as the OOM killer or a
lost node does) and beat, with short deadlines. The broker is the Redis database the services
suite was given (ACCORD_TEST_REDIS_URL); the tests empty that database only (FLUSHDB), never the
server, which other suites may be using.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import redis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Tier
from audit.models import Action, AuditEvent
from evals.models import EvalRun
from outbox.models import OutboxMessage
from portal.celery import app
from sharing.models import Attachment, Document
from tests.portal.conftest import stop
from tests.portal.services_fixtures import start_beat, start_worker, worker_env
from tests.portal.test_fault_tasks import _reset_broker_connections, _seeded, wait_until  # noqa: F401

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

REDIS_URL = os.environ.get("ACCORD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
DEADLINE = 6  # seconds, every kind
REAPER = 2  # seconds between reaper ticks
# A fresh worker takes a few seconds to start on a loaded machine; the work itself, a moment.
SLACK = 25
FIXTURES = Path(__file__).resolve().parent.parent / "evals" / "fixtures"
SCAN, PARSE = "sharing.tasks.scan_attachment", "evals.tasks.parse_eval_log"


@pytest.fixture
def broker():
    """The suite's Redis database as this test's broker, empty before and after."""
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    saved = {"task_always_eager": app.conf.task_always_eager, "broker_url": app.conf.broker_url}
    app.conf.update(task_always_eager=False, broker_url=REDIS_URL)
    _reset_broker_connections()
    try:
        yield client
    finally:
        app.conf.update(saved)
        _reset_broker_connections()
        client.flushdb()


class Services:
    """Workers and beat for one test, all stopped at its end."""

    def __init__(self, tmp_path: Path, **extra: str):
        self.tmp = tmp_path
        self.env = worker_env(
            REDIS_URL,
            tmp_path,
            ACCORD_OUTBOX_RELAY_SECONDS="1",
            ACCORD_REAPER_SECONDS=str(REAPER),
            ACCORD_DEADLINE_SCAN_SECONDS=str(DEADLINE),
            ACCORD_DEADLINE_PARSE_SECONDS=str(DEADLINE),
            ACCORD_DEADLINE_REWRAP_SECONDS=str(DEADLINE),
            ACCORD_DEADLINE_NOTICE_SECONDS=str(DEADLINE),
            **extra,
        )
        self.procs = []
        self.logs = []

    def worker(self):
        log = self.tmp / f"worker{len(self.logs)}.log"
        self.logs.append(log)
        proc = start_worker(self.env, log)
        self.procs.append(proc)
        return proc

    def beat(self):
        log = self.tmp / f"beat{len(self.logs)}.log"
        self.logs.append(log)
        proc = start_beat(self.env, log, self.tmp / "beat-schedule")
        self.procs.append(proc)
        return proc

    def close(self):
        for proc in self.procs:
            stop(proc)


@pytest.fixture
def services(tmp_path):
    made = []

    def _make(**extra):
        made.append(Services(tmp_path, **extra))
        return made[-1]

    yield _make
    for s in made:
        s.close()


def kill_whole(proc) -> None:
    """SIGKILL the worker's process group: its main process and every pool process at once."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def upload(client, document, name: str, data: bytes, content_type: str) -> Attachment:
    response = client.post(
        reverse("sharing:attachment_upload", args=[document.code]),
        {"file": SimpleUploadedFile(name, data, content_type=content_type)},
    )
    assert response.status_code == 201, response.content
    return Attachment.objects.get(code=response.json()["code"])


@pytest.fixture
def document(alice, ukasi):
    return Document.objects.create(
        title="Uplift evaluation", originator=ukasi, author=alice, tier=Tier.objects.get(code="official")
    )


def verdicts(attachment) -> int:
    return AuditEvent.objects.filter(
        target_id=str(attachment.code), action__in=[Action.ATTACHMENT_SCANNED, Action.ATTACHMENT_REJECTED]
    ).count()


def scanned(attachment) -> bool:
    return Attachment.objects.get(pk=attachment.pk).scan_status != Attachment.ScanStatus.PENDING


def stalling(services, tmp_path: Path, task: str):
    """A worker whose first run of `task` hangs (tests/outbox/tasks_for_tests.py), and beat."""
    stall = tmp_path / "stalled"
    run = services(ACCORD_TEST_STALL_TASK=task, ACCORD_TEST_STALL_FILE=str(stall))
    first = run.worker()
    run.beat()
    return run, first, stall


def within_deadline(started: float) -> float:
    took = time.monotonic() - started
    assert took <= DEADLINE + 2 * REAPER + SLACK, took
    return took


def test_whole_worker_killed_mid_scan_the_reaper_rescans_once(
    broker, services, tmp_path, verified_client, alice, document
):
    run, first, stall = stalling(services, tmp_path, SCAN)
    started = time.monotonic()
    attachment = upload(verified_client(alice), document, "results.csv", b"model,score\nm1,0.4\n" * 100, "text/csv")
    wait_until(stall.exists, timeout=60, what="the scan to start", logs=run.logs)
    kill_whole(first)  # mid-scan: nobody acknowledges or rejects its message now
    run.worker()
    wait_until(lambda: scanned(attachment), timeout=90, what="the reaper's rescan", logs=run.logs)
    within_deadline(started)
    attachment.refresh_from_db()
    assert attachment.scan_status == Attachment.ScanStatus.CLEAN
    assert verdicts(attachment) == 1
    requeued = AuditEvent.objects.filter(action=Action.WORK_REQUEUED, details__kind="scan")
    assert requeued.exists()


def test_whole_worker_killed_mid_parse_the_reaper_parses_once(
    broker, services, tmp_path, verified_client, alice, document
):
    run, first, stall = stalling(services, tmp_path, PARSE)
    data = (FIXTURES / "success.json").read_bytes()
    attachment = upload(verified_client(alice), document, "success.json", data, "application/json")
    wait_until(stall.exists, timeout=60, what="the parse to start", logs=run.logs)
    started = time.monotonic()  # the parse is due from the clean scan, a moment ago
    kill_whole(first)
    run.worker()

    def parsed() -> bool:
        found = EvalRun.objects.filter(attachment_code=attachment.code).first()
        return found is not None and found.parse_status != EvalRun.ParseStatus.PENDING

    wait_until(parsed, timeout=90, what="the reaper's parse", logs=run.logs)
    within_deadline(started)
    assert EvalRun.objects.get(attachment_code=attachment.code).parse_status == EvalRun.ParseStatus.PARSED
    assert AuditEvent.objects.filter(action=Action.EVAL_LOG_PARSED).count() == 1
    assert verdicts(attachment) == 1
    assert AuditEvent.objects.filter(action=Action.WORK_REQUEUED, details__kind="parse").exists()


def test_redis_flushed_after_the_outbox_sent_the_reaper_queues_again(
    broker, services, tmp_path, verified_client, alice, document
):
    started = time.monotonic()
    attachment = upload(verified_client(alice), document, "results.csv", b"model,score\n", "text/csv")
    message = OutboxMessage.objects.get(task=SCAN, args=[str(attachment.code)])
    assert message.sent_at is not None  # handed to Redis ...
    assert broker.llen("celery") == 1
    broker.flushdb()  # ... which then lost it (a restart without persistence, a failover)
    run = services()
    run.worker()
    run.beat()
    wait_until(lambda: scanned(attachment), timeout=90, what="the reaper's scan", logs=run.logs)
    within_deadline(started)
    assert verdicts(attachment) == 1
    time.sleep(2 * REAPER)  # and nothing more comes of it
    assert verdicts(attachment) == 1
    assert OutboxMessage.objects.filter(task=SCAN).count() == 2


def test_beat_restarted_relays_what_waited_and_reaps_what_was_lost(
    broker, services, tmp_path, verified_client, alice, document
):
    run = services()
    worker = run.worker()
    beat = run.beat()
    wait_until(lambda: "Sending due task" in run.logs[-1].read_text(), timeout=60, what="beat to run", logs=run.logs)
    os.kill(beat.pid, signal.SIGKILL)
    beat.wait(timeout=10)
    stop(worker)
    client = verified_client(alice)
    started = time.monotonic()
    # One upload while the broker cannot be reached at commit: its message waits in the outbox.
    app.conf.update(broker_url="redis://127.0.0.1:1/0")
    _reset_broker_connections()
    waiting = upload(client, document, "waiting.csv", b"model,score\n", "text/csv")
    app.conf.update(broker_url=REDIS_URL)
    _reset_broker_connections()
    assert OutboxMessage.objects.get(args=[str(waiting.code)]).sent_at is None
    # One handed over and then lost with the queue.
    lost = upload(client, document, "lost.csv", b"model,score\n", "text/csv")
    broker.flushdb()

    run.worker()
    run.beat()  # the same schedule file: a restart, not a first start
    wait_until(lambda: scanned(waiting) and scanned(lost), timeout=90, what="both scans", logs=run.logs)
    within_deadline(started)
    assert verdicts(waiting) == 1 and verdicts(lost) == 1
    assert not OutboxMessage.objects.filter(sent_at=None).exists()
