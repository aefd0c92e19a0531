from __future__ import annotations

from datetime import timedelta

from django.apps import AppConfig

from audit.registry import withhold_labels
from vault.registry import register_attachment_model


class SharingConfig(AppConfig):
    name = "sharing"
    verbose_name = "Documents and sharing"

    def ready(self) -> None:
        # The vault seals, scans and shreds the files; the rows that describe them are ours.
        register_attachment_model(self.get_model("Attachment"))
        # Modules that use models are importable only once the app registry is ready.
        # Celery's autodiscovery loads only `tasks` modules; the policy's tasks live apart.
        from accounts.compartments import register_compartment_source
        from outbox.reconcile import track_messages

        from . import housekeeping_tasks
        from .selectors import (
            readable_attachment_codes,
            readable_document_codes,
            readable_release_codes,
            released_compartment_ids,
        )

        # An organisation sees the compartments of the documents released to it.
        register_compartment_source(released_compartment_ids)

        # Labels that carry a document's title or a file name from it (see audit/registry.py).
        withhold_labels("sharing.document", readable_document_codes)
        withhold_labels("sharing.release", readable_release_codes)
        withhold_labels("sharing.attachment", readable_attachment_codes)

        # A notice's only trace is its outbox message: the reaper follows those to their end.
        track_messages(
            "notice",
            tasks=[housekeeping_tasks.send_release_notice.name, housekeeping_tasks.send_agreement_expiry_notice.name],
            default_deadline=timedelta(minutes=15),
        )
