from __future__ import annotations

from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "sharing"
    verbose_name = "Documents and sharing"

    def ready(self) -> None:
        from vault.registry import register_attachment_model

        # The vault seals, scans and shreds the files; the rows that describe them are ours.
        register_attachment_model(self.get_model("Attachment"))
        # Celery's autodiscovery loads only `tasks` modules; the policy's tasks live apart.
        from . import housekeeping_tasks  # noqa: F401
