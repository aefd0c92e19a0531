"""Queue tasks through the outbox, and relay the outbox to the broker.

`enqueue` replaces `transaction.on_commit(lambda: task.delay(...))`: the latter loses the task
when the broker is down at commit time (the change is saved, its follow-up never runs). The
outbox row commits or rolls back with the change; the relay publishes it right after commit
and, failing that, on every beat tick until the broker answers. Delivery is at least once, so
every task sent through here must be idempotent — which Accord's tasks are by rule.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from celery import current_app
from django.db import transaction
from django.utils import timezone

from .models import OutboxMessage

logger = logging.getLogger("accord.outbox")


def enqueue(task: str, *, args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None) -> OutboxMessage:
    """Record `task` to run once the caller's transaction commits (JSON arguments only)."""
    message = OutboxMessage(task=task, args=list(args), kwargs=dict(kwargs or {}))
    message.full_clean()
    with transaction.atomic():
        message.save()
    # With a broker, robust: a broker failure after commit must not turn the committed request
    # into an error; the message stays pending and the beat relay picks it up. In-process (the
    # embedded default and the tests), a failing task propagates as `task.delay()` would.
    transaction.on_commit(lambda: relay_one(message.pk), robust=not current_app.conf.task_always_eager)
    return message


def relay_one(message_id: int) -> bool:
    """Publish one pending message; True when it was handed to the broker (or run in-process)."""
    if current_app.conf.task_always_eager:
        return _run_in_process(message_id)
    with transaction.atomic():
        # SKIP LOCKED: the request's own on_commit relay and the beat relay never publish the
        # same message at the same moment.
        message = OutboxMessage.objects.select_for_update(skip_locked=True).filter(pk=message_id, sent_at=None).first()
        if message is None:
            return False
        try:
            # No publish retries here: a request must not stall on a dead broker; beat retries.
            current_app.send_task(
                message.task, args=message.args, kwargs=message.kwargs, task_id=str(message.code), retry=False
            )
        except Exception as exc:  # any broker failure leaves the message pending
            message.attempts += 1
            message.last_error = f"{type(exc).__name__}: {exc}"[:300]
            message.save(update_fields=["attempts", "last_error"])
            logger.warning("outbox publish failed", extra={"task": message.task, "attempts": message.attempts})
            return False
        message.sent_at = timezone.now()
        message.attempts += 1
        message.save(update_fields=["sent_at", "attempts"])
    return True


def _run_in_process(message_id: int) -> bool:
    """The embedded default has no broker: mark the message sent, then run the task here."""
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().filter(pk=message_id, sent_at=None).first()
        if message is None:
            return False
        message.sent_at = timezone.now()
        message.attempts += 1
        message.save(update_fields=["sent_at", "attempts"])
    # apply(), not apply_async(): no producer, no broker connection, just the task, here. Its
    # exceptions propagate when CELERY_TASK_EAGER_PROPAGATES says so, as with `delay()`.
    current_app.tasks[message.task].apply(args=message.args, kwargs=message.kwargs, task_id=str(message.code))
    return True


def relay_pending(*, limit: int = 500) -> int:
    """Publish every pending message, oldest first; returns how many were published."""
    sent = 0
    pending = list(
        OutboxMessage.objects.filter(sent_at=None).order_by("created_at", "id").values_list("pk", flat=True)[:limit]
    )
    for message_id in pending:
        if relay_one(message_id):
            sent += 1
        elif OutboxMessage.objects.filter(pk=message_id, sent_at=None).exists():
            break  # the broker is still away: stop, the next tick tries again
    return sent


def purge_sent(*, older_than_days: int = 7) -> int:
    """Delete messages sent long ago (the outbox is a queue, not a record; the audit trail is)."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    deleted, _ = OutboxMessage.objects.filter(sent_at__lt=cutoff).delete()
    return deleted
