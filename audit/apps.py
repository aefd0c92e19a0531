from __future__ import annotations

import threading

from celery.signals import task_postrun, task_prerun
from django.apps import AppConfig

from . import context

_task_scopes = threading.local()


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        task_prerun.connect(_task_started, weak=False, dispatch_uid="audit.task_started")
        task_postrun.connect(_task_finished, weak=False, dispatch_uid="audit.task_finished")


# Every Celery task runs in its own audit scope: its events carry the task id as request id, and
# a denial it records inside a transaction that rolls back is written when the task ends.
def _task_started(task_id=None, task=None, **kwargs) -> None:
    ctx = context.AuditContext(request_id=str(task_id or "")[:64], user_agent=f"task:{getattr(task, 'name', '')}"[:300])
    scopes = _task_scopes.__dict__.setdefault("by_id", {})
    scopes[task_id] = (ctx, context.activate(ctx))


def _task_finished(task_id=None, task=None, **kwargs) -> None:
    scope = _task_scopes.__dict__.setdefault("by_id", {}).pop(task_id, None)
    if scope is None:
        return
    ctx, token = scope
    leftover = context.close(ctx)
    try:
        context.deactivate(token)
    except ValueError:
        # Reset from another context than the one that set it: leave the variable cleared.
        context._current.set(None)
    if leftover:
        context.current().pending_denials.extend(leftover)
