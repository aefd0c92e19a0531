from __future__ import annotations

from celery.signals import task_postrun
from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "outbox"
    verbose_name = "Task outbox"

    def ready(self) -> None:
        # Modules that use models are importable only once the app registry is ready.
        from . import reconcile

        def _ended(sender=None, task_id=None, state=None, **kwargs) -> None:
            reconcile.mark_done(task=getattr(sender, "name", ""), task_id=task_id, state=state)

        task_postrun.connect(_ended, weak=False, dispatch_uid="outbox.mark_done")
