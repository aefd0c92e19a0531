"""Reconcile from state: background work that is overdue is queued again, through the outbox.

A message can be lost after the outbox handed it over (a whole worker killed mid-task, a broker
that restarted without its queue). The database still says what is unfinished — a scan pending,
an eval log waiting to be read, data keys under a retired key, a notice not yet sent — so the
reaper (a beat task) asks each kind of work for what has waited longer than its deadline and
queues it again. Every task it queues is idempotent, so a message that was only slow, not lost,
costs a second run that changes nothing.

Apps register their kinds in `AppConfig.ready()`; the outbox knows none of them, nor the
audit trail: it announces what it queued again with `work_requeued`, and the wiring (portal)
records that in the trail, in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Min, QuerySet
from django.dispatch import Signal
from django.utils import timezone

from .models import OutboxMessage
from .services import enqueue

logger = logging.getLogger("accord.outbox")


@dataclass(frozen=True)
class Work:
    """One kind of background work whose outcome shows in the database."""

    kind: str
    task: str
    # Rows of unfinished work (a queryset the reaper may lock), each due since `since`.
    pending: Callable[[], QuerySet]
    since: str
    # The task's arguments for one row (JSON), and a short reference for the audit trail.
    args: Callable[[Any], list]
    default_deadline: timedelta

    @property
    def deadline(self) -> timedelta:
        seconds = settings.ACCORD_WORK_DEADLINES.get(self.kind)
        return timedelta(seconds=seconds) if seconds else self.default_deadline


KINDS: dict[str, Work] = {}
# Sent inside the reaper's transaction, once per kind with anything queued again:
# kind (str), deadline_seconds (int), items ([{"task", "args", "since"}]).
work_requeued = Signal()


def register(work: Work) -> None:
    KINDS[work.kind] = work


TRACKED_TASKS: set[str] = set()


def track_messages(kind: str, *, tasks: Iterable[str], default_deadline: timedelta) -> None:
    """Work whose only trace in the database is its outbox message (a notice to mail): the
    message is pending until its task ends, successfully or for good (see `mark_done`)."""
    names = sorted(tasks)
    TRACKED_TASKS.update(names)
    register(
        Work(
            kind=kind,
            task="",  # each message is queued again under its own task
            pending=lambda: OutboxMessage.objects.filter(task__in=names, done_at=None),
            since="created_at",
            args=lambda message: message.args,
            default_deadline=default_deadline,
        )
    )


def backlog(now: datetime | None = None) -> dict[str, dict[str, Any]]:
    """For each kind: how many wait, how long the oldest has waited, and its deadline."""
    now = now or timezone.now()
    report = {}
    for work in KINDS.values():
        rows = work.pending()
        oldest = rows.aggregate(oldest=Min(work.since))["oldest"]
        report[work.kind] = {
            "pending": rows.count(),
            "oldest_seconds": round((now - oldest).total_seconds()) if oldest else None,
            "deadline_seconds": round(work.deadline.total_seconds()),
        }
    return report


def reap(*, now: datetime | None = None, limit: int = 200) -> dict[str, int]:
    """Queue again, through the outbox, every piece of work older than its deadline; audited.

    Idempotent: an item queued (by anyone) within its deadline is left alone, and rows are
    locked with SKIP LOCKED, so two reapers at once never queue the same item twice.
    """
    now = now or timezone.now()
    requeued: dict[str, int] = {}
    for work in KINDS.values():
        cutoff = now - work.deadline
        with transaction.atomic():
            rows = (
                work.pending()
                .filter(**{f"{work.since}__lt": cutoff})
                .order_by(work.since)
                .select_for_update(skip_locked=True, of=("self",))[:limit]
            )
            refs = []
            for row in rows:
                if isinstance(row, OutboxMessage) and row.sent_at is None:
                    continue  # never handed over: the relay's to send, and sending it twice would mail twice
                task = row.task if isinstance(row, OutboxMessage) else work.task
                args = work.args(row)
                if _queued_since(task, args, cutoff, exclude=row if isinstance(row, OutboxMessage) else None):
                    continue
                message = enqueue(task, args=args)
                if isinstance(row, OutboxMessage):
                    # Superseded by the new message: the reaper follows that one from now on.
                    row.done_at = now
                    row.last_error = f"overdue; queued again as {message.code}"
                    row.save(update_fields=["done_at", "last_error"])
                refs.append({"task": task, "args": args, "since": getattr(row, work.since).isoformat()})
            if refs:
                work_requeued.send(
                    sender=Work, kind=work.kind, deadline_seconds=round(work.deadline.total_seconds()), items=refs
                )
                logger.warning("overdue work queued again", extra={"kind": work.kind, "count": len(refs)})
        requeued[work.kind] = len(refs)
    return requeued


def _queued_since(task: str, args: list, cutoff: datetime, *, exclude: OutboxMessage | None) -> bool:
    recent = OutboxMessage.objects.filter(task=task, created_at__gte=cutoff)
    if exclude is not None:
        recent = recent.exclude(pk=exclude.pk)
    return any(message.args == args for message in recent.only("args"))


def mark_done(*, task: str, task_id: str | None, state: str | None) -> None:
    """A tracked task ended: its message is done (a retry is not an end; a failure for good is,
    since queuing it again would fail again — its error is in the worker's log)."""
    if task in TRACKED_TASKS and task_id and state in {"SUCCESS", "FAILURE"}:
        OutboxMessage.objects.filter(code=task_id, done_at=None).update(done_at=timezone.now())
