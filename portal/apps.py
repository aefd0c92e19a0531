from __future__ import annotations

from django.apps import AppConfig


class PortalConfig(AppConfig):
    """Configuration only: registers the deployment checks in portal/checks.py, and wires the
    outbox's reaper to the audit trail (two apps that may not know each other)."""

    name = "portal"
    label = "portal"

    def ready(self) -> None:
        # Imported in ready(), where Django documents registering system checks (and where
        # models may be imported).
        from audit.models import Action
        from audit.services import record
        from outbox.reconcile import work_requeued

        from . import checks  # noqa: F401 - registers the checks

        def _audit_requeue(sender, *, kind: str, deadline_seconds: int, items: list, **kwargs) -> None:
            details = {"kind": kind, "deadline_seconds": deadline_seconds, "items": items}
            record(Action.WORK_REQUEUED, details=details)

        work_requeued.connect(_audit_requeue, weak=False, dispatch_uid="portal.audit_requeue")
