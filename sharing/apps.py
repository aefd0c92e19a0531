from __future__ import annotations

from datetime import timedelta

from django.apps import AppConfig

from audit.reasons import Reason
from audit.registry import TargetKind, register_target
from vault.registry import register_attachment_model


class SharingConfig(AppConfig):
    name = "sharing"
    verbose_name = "Documents and sharing"

    def ready(self) -> None:
        # The vault seals, scans and shreds the files; the rows that describe them are ours.
        register_attachment_model(self.get_model("Attachment"))
        # Modules that use models are importable only once the app registry is ready.
        # Celery's autodiscovery loads only `tasks` modules; the policy's tasks live apart.
        # The kept visibility decides by an organisation's country and by tier ranks: both are
        # edited outside the sharing services (the admin), so a change recomputes what it touches.
        from django.db.models.signals import post_save

        from accounts.compartments import register_compartment_source
        from accounts.models import Organisation, Tier
        from outbox.reconcile import track_messages

        from . import housekeeping_tasks
        from .selectors import (
            originated_attachments,
            originated_documents,
            originated_releases,
            readable_attachment_codes,
            readable_document_codes,
            readable_release_codes,
            released_compartment_ids,
        )
        from .visibility import keep, keep_released_to

        post_save.connect(
            lambda instance, created, **kw: None if created else keep_released_to([instance.pk]),
            sender=Organisation,
            weak=False,
            dispatch_uid="sharing.visibility.organisation",
        )
        from .menus import bump_generation

        # A document's text and status feed the cached filter menu (sharing/menus.py).
        post_save.connect(
            lambda **kw: bump_generation(),
            sender=self.get_model("Document"),
            weak=False,
            dispatch_uid="sharing.menus.document",
        )
        post_save.connect(
            lambda created, **kw: None if created else keep(None),
            sender=Tier,
            weak=False,
            dispatch_uid="sharing.visibility.tier",
        )

        # An organisation sees the compartments of the documents released to it.
        register_compartment_source(released_compartment_ids)

        # Events about these carry a document's title, banner or a file name from it: audit
        # shows them as audit/visibility.py decides, from these answers (audit/registry.py).
        for kind in (
            TargetKind(
                "sharing.document", "document", Reason.NO_SUCH_DOCUMENT, readable_document_codes, originated_documents
            ),
            TargetKind(
                "sharing.release", "release", Reason.NO_SUCH_RELEASE, readable_release_codes, originated_releases
            ),
            TargetKind(
                "sharing.attachment",
                "attachment",
                Reason.NO_SUCH_ATTACHMENT,
                readable_attachment_codes,
                originated_attachments,
            ),
        ):
            register_target(kind)

        # A notice's only trace is its outbox message: the reaper follows those to their end.
        track_messages(
            "notice",
            tasks=[
                housekeeping_tasks.send_release_notice.name,
                housekeeping_tasks.send_release_suspended_notice.name,
                housekeeping_tasks.send_release_update_notice.name,
                housekeeping_tasks.send_agreement_expiry_notice.name,
            ],
            default_deadline=timedelta(minutes=15),
        )
