from __future__ import annotations

from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "sharing"
    verbose_name = "Documents and sharing"

    def ready(self) -> None:
        # Celery's autodiscovery loads only `tasks` modules; the policy's tasks live apart.
        from . import housekeeping_tasks  # noqa: F401
