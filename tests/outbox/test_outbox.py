from __future__ import annotations

import time

import pytest
from django.db import transaction

from outbox import services
from outbox.models import OutboxMessage
from portal.celery import app
from tests.outbox import tasks_for_tests
from tests.portal.conftest import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_runs():
    tasks_for_tests.RUNS.clear()


def test_task_runs_after_commit_exactly_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            message = services.enqueue("tests.outbox.note", args=["hello"])
            assert tasks_for_tests.RUNS == []  # nothing runs before the change commits
    assert len(callbacks) == 1
    assert tasks_for_tests.RUNS == [(str(message.code), "hello")]
    message.refresh_from_db()
    assert message.sent_at is not None and message.attempts == 1
    # Relaying again publishes nothing more.
    assert services.relay_one(message.pk) is False
    assert services.relay_pending() == 0
    assert len(tasks_for_tests.RUNS) == 1


def test_rolled_back_change_leaves_no_message_and_no_task(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                services.enqueue("tests.outbox.note", args=["never"])
                raise RuntimeError("the change failed")
    assert not OutboxMessage.objects.exists()
    assert tasks_for_tests.RUNS == []


def test_arguments_must_be_json(django_capture_on_commit_callbacks):
    from django.core.exceptions import ValidationError

    with pytest.raises((ValidationError, TypeError)):
        services.enqueue("tests.outbox.note", args=[object()])
    assert not OutboxMessage.objects.exists()


def reset_broker_connections() -> None:
    """Forget pooled broker connections, so the next publish connects to `broker_url` anew."""
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def dead_broker():
    """The app in broker mode, pointed at a port where nothing listens."""
    saved = {"task_always_eager": app.conf.task_always_eager, "broker_url": app.conf.broker_url}
    app.conf.update(task_always_eager=False, broker_url=f"redis://127.0.0.1:{free_port()}/0")
    reset_broker_connections()
    try:
        yield
    finally:
        app.conf.update(saved)
        reset_broker_connections()


def test_dead_broker_keeps_the_message_pending_without_failing_the_request(
    dead_broker, django_capture_on_commit_callbacks
):
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            message = services.enqueue("tests.outbox.note", args=["later"])
    assert time.monotonic() - started < 5
    message.refresh_from_db()
    assert message.sent_at is None
    assert message.attempts == 1
    assert "Error" in message.last_error
    # The beat relay stops at the first failure instead of hammering a dead broker.
    services.enqueue("tests.outbox.note", args=["later too"])
    assert services.relay_pending() == 0
    assert OutboxMessage.objects.filter(sent_at=None).count() == 2


def test_beat_relay_runs_pending_messages_in_order(django_capture_on_commit_callbacks):
    # Written without running the on-commit relay, as if the broker had been down at commit.
    with django_capture_on_commit_callbacks(execute=False):
        first = services.enqueue("tests.outbox.note", args=["one"])
        second = services.enqueue("tests.outbox.note", args=["two"])
    from outbox.tasks import relay

    assert relay.apply().get() == 2
    assert tasks_for_tests.RUNS == [(str(first.code), "one"), (str(second.code), "two")]
    assert relay.apply().get() == 0


def test_sent_messages_are_purged_after_a_week(django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    with django_capture_on_commit_callbacks(execute=True):
        old = services.enqueue("tests.outbox.note", args=["old"])
        fresh = services.enqueue("tests.outbox.note", args=["fresh"])
    OutboxMessage.objects.filter(pk=old.pk).update(sent_at=timezone.now() - timedelta(days=8))
    assert services.purge_sent() == 1
    assert list(OutboxMessage.objects.values_list("pk", flat=True)) == [fresh.pk]
