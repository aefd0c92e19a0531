"""Attachment services: record a sealed blob as a document's attachment, and queue its scan.

The blob itself (sealing, storage, reading, crypto-shredding) is the vault's; these services
tie it to a document and its audit trail.
"""

from __future__ import annotations

from typing import BinaryIO, NoReturn

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.models import Action
from audit.reasons import Reason
from audit.services import record, record_denial, refuse
from outbox.services import enqueue
from vault.attachments import (
    AttachmentTooLarge,
    BlobWriter,
    SealedBlob,
    clean_content_type,
    max_bytes,
    safe_filename,
)
from vault.tasks import scan_attachment

from .models import Attachment, Document
from .services.revisions import write_revision

STREAM_READ_SIZE = 1024 * 1024
FROZEN = "This document has been withdrawn; it takes no new attachments."


class DocumentFrozen(ValidationError):
    """A withdrawn document takes no new attachment. Pages and the API answer it 409 Conflict;
    a caller that knows only ValidationError still refuses it."""


class _WithdrawnMeanwhile(Exception):
    """The document was withdrawn between the gate and the lock."""


def require_open_for_attachments(*, actor, document: Document) -> None:
    """Withdrawn means frozen: refuse (audited) a new attachment to a withdrawn document.

    Called before a byte of an upload is read, so nobody makes us encrypt a file that cannot be
    kept, and again by `attachment_create` under the document's row lock, so a withdrawal that
    lands while the file streams in still wins.
    """
    if document.status == Document.Status.WITHDRAWN:
        _refuse_frozen(actor, document)


def _refuse_frozen(actor, document: Document) -> NoReturn:
    error = DocumentFrozen(FROZEN, code=Reason.WITHDRAWN.value)
    refuse(
        actor,
        Action.ATTACHMENT_REJECTED,
        document,
        Reason.WITHDRAWN,
        error=error,
        organisation_id=document.originator_id,
    )


def record_sealed_blob(
    *, actor, sealed: SealedBlob, document: Document | None, details: dict, revision: int = 1
) -> Attachment:
    """Write the attachment row for a sealed blob and its audit event (the caller's transaction)."""
    attachment = Attachment(
        added_in_revision=revision,
        code=sealed.code,
        document=document,
        organisation_id=sealed.org_id,
        filename=safe_filename(sealed.filename),
        declared_type=clean_content_type(sealed.content_type),
        size=sealed.size,
        sha256=sealed.sha256,
        uploaded_by=actor,
        blob_name=sealed.blob_name,
        segment_size=sealed.segment_size,
        kek_version=sealed.kek_version,
        wrapped_dek=sealed.wrapped_dek,
    )
    attachment.full_clean()
    attachment.save(force_insert=True)
    record(Action.ATTACHMENT_UPLOADED, actor=actor, target=attachment, details=details)
    return attachment


def attachment_create(*, actor, document: Document, sealed: SealedBlob) -> Attachment:
    """Record a sealed blob as an attachment of `document` and queue its scan.

    The blob is deleted if the row cannot be written, so a failure leaves nothing behind. A
    withdrawn document refuses it (DocumentFrozen, audited).
    """
    if sealed.org_id != document.originator_id:
        sealed.discard()
        raise ValueError("the blob was sealed under another organisation's key")
    try:
        require_open_for_attachments(actor=actor, document=document)
        with transaction.atomic():
            # The row lock orders this upload against a withdrawal (whichever commits first wins)
            # and against edits (each file belongs to exactly one revision).
            locked = Document.objects.select_for_update().get(pk=document.pk)
            if locked.status == Document.Status.WITHDRAWN:
                raise _WithdrawnMeanwhile
            if locked.status == Document.Status.PUBLISHED:
                _next_revision(actor, locked, sealed.filename)
            attachment = record_sealed_blob(
                actor=actor,
                sealed=sealed,
                document=document,
                details={
                    "document": str(document.code),
                    "size": sealed.size,
                    "sha256": sealed.sha256,
                    "revision": locked.revision,
                },
                revision=locked.revision,
            )
            # Through the outbox, in this transaction: a broker that is down at commit delays
            # the scan, never loses it.
            enqueue(scan_attachment.name, args=[str(attachment.code)])
        # The caller's instance moves on with the revision, so its next edit is not "stale".
        document.revision, document.updated_at = locked.revision, locked.updated_at
    except _WithdrawnMeanwhile:
        sealed.discard()
        _refuse_frozen(actor, document)
    except BaseException:
        sealed.discard()
        raise
    return attachment


def _next_revision(actor, locked: Document, filename: str) -> None:
    """A file attached to a published document is a change like an edit: it belongs to a new
    revision, which partners read only once the originator's release officer approves the
    update (their release pins the revision before it). A draft has no partner yet; its files
    join the revision it is at."""
    locked.revision += 1
    locked.updated_at = timezone.now()
    locked.save(update_fields=["revision", "updated_at"])
    write_revision(locked, actor=actor, changed=["attachments"], note=f"Attached {safe_filename(filename)}")


def upload_rejected(*, actor, document: Document, reason: Reason, **details) -> None:
    """Audit an upload refused before anything was stored; the caller answers the client."""
    details = {"reason": reason.value, **details}
    record_denial(Action.ATTACHMENT_REJECTED, actor=actor, target=document, details=details)


class RawBodyRefused(Exception):
    """A raw-body upload refused (audited) before a byte of its body was read."""

    def __init__(self, reason: Reason, status: int, message: str) -> None:
        super().__init__(message)
        self.reason, self.status, self.message = reason, status, message


def check_raw_upload(*, actor, document: Document, filename: str, meta, via: str) -> int:
    """The checks a raw-body upload (the API's, the page script's) passes before its body is read:
    named, a Content-Length, not empty, within the cap. Returns the length; a refusal is audited
    and raised as RawBodyRefused for the caller to answer in its own shape."""

    def refused(reason: Reason, status: int, message: str, **details) -> NoReturn:
        upload_rejected(actor=actor, document=document, reason=reason, via=via, **details)
        raise RawBodyRefused(reason, status, message)

    if not filename:
        refused(Reason.NO_FILENAME, 400, "Name the file: ?filename=… or Content-Disposition.")
    length = meta.get("CONTENT_LENGTH") or ""
    if not length.isdigit() and "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower():
        refused(Reason.NO_CONTENT_LENGTH, 411, "Send the file with a Content-Length header.")
    if not length.isdigit() or int(length) == 0:
        refused(Reason.EMPTY_FILE, 400, "The file is empty.")
    if int(length) > max_bytes():
        refused(Reason.TOO_LARGE, 413, str(AttachmentTooLarge(max_bytes())), limit=max_bytes())
    return int(length)


def attachment_create_from_stream(
    *, actor, document: Document, stream: BinaryIO, filename: str, content_type: str = "", limit: int | None = None
) -> Attachment:
    """Encrypt a raw stream (e.g. an API request body) exactly as the upload handler does."""
    require_open_for_attachments(actor=actor, document=document)
    writer = BlobWriter(org_id=document.originator_id, limit=limit)
    try:
        while chunk := stream.read(STREAM_READ_SIZE):
            writer.write(chunk)
        sealed = writer.finish(filename=filename, content_type=content_type)
    except AttachmentTooLarge as exc:
        upload_rejected(actor=actor, document=document, reason=Reason.TOO_LARGE, limit=exc.limit)
        raise
    except BaseException:
        if not writer.done:
            writer.abort()
        raise
    return attachment_create(actor=actor, document=document, sealed=sealed)
