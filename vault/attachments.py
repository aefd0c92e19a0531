"""Ciphertext blobs: seal plaintext into them, open them, destroy them.

Invariant: plaintext exists only in memory, one segment at a time. Nothing here writes a
plaintext byte to storage, a temp file, a log or the database (the SHA-256 and size are kept).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import secrets
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone

from audit.models import Action, Outcome
from audit.services import record

from . import crypto, keys
from .crypto import TamperedCiphertext
from .registry import SealedFile, attachment_model
from .signals import attachment_destroyed

logger = logging.getLogger("accord.attachments")


class AttachmentTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"The file is larger than the {limit // (1024 * 1024)} MiB limit for one attachment.")
        self.limit = limit


class StorageUnavailable(Exception):
    """The ciphertext store failed a write: the upload is abandoned and its partial blob removed."""


class AttachmentDestroyed(Exception):
    """The data key is gone: the ciphertext can never be read again."""


def attachment_storage():
    return storages["attachments"]


def max_bytes() -> int:
    return settings.ACCORD_ATTACHMENT_MAX_BYTES


# -- names -------------------------------------------------------------------------------------

_UNSAFE = re.compile(r'[<>:"/\\|?*;]')


def safe_filename(name: str | None) -> str:
    """A display name that is safe to show and to offer as a download name.

    Keeps the last path component, drops control and format characters (which include the
    right-to-left override and zero-width characters that disguise extensions), leading dots and
    shell/URL-hostile punctuation, and keeps the extension when it shortens long names. The
    stored blob never uses this name: blob names are random.
    """
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE.sub("_", name)
    name = " ".join(name.split()).strip(" .")
    if not name:
        return "attachment"
    stem, ext = os.path.splitext(name)
    if len(ext) > 16:
        stem, ext = name, ""
    return stem[: 150 - len(ext)].rstrip(" .") + ext if len(name) > 150 else name


def content_disposition(name: str) -> str:
    """RFC 6266: an ASCII fallback `filename` and the exact UTF-8 `filename*`."""
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    fallback = re.sub(r"[^A-Za-z0-9._ ()\-\[\]+,=@]", "_", fallback).strip() or "attachment"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def clean_content_type(value: str | None) -> str:
    value = (value or "").split(";", 1)[0].strip().lower()
    return value if re.fullmatch(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+", value or "") and len(value) <= 100 else ""


# -- sealing -----------------------------------------------------------------------------------


@dataclass
class SealedBlob:
    """A finished ciphertext blob, not yet claimed by an Attachment row."""

    code: uuid.UUID
    org_id: int
    blob_name: str
    segment_size: int
    kek_version: int
    wrapped_dek: bytes
    size: int
    sha256: str
    filename: str = ""
    content_type: str = ""

    def close(self) -> None:
        """Present so Django can close request.FILES entries; there is no plaintext to close."""

    def discard(self) -> None:
        _delete_blob(self.blob_name)


def _delete_blob(name: str) -> None:
    try:
        attachment_storage().delete(name)
    except FileNotFoundError:
        pass


def _open_blob_for_write(name: str):
    storage = attachment_storage()
    try:
        path = storage.path(name)
    except NotImplementedError:  # object storage has no folders to create
        pass
    else:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    return storage.open(name, "wb")


class BlobWriter:
    """Encrypts pushed plaintext straight into a new blob; counts, hashes and caps it."""

    def __init__(self, *, org_id: int, limit: int | None = None, segment_size: int | None = None) -> None:
        self.code = uuid.uuid4()
        self.org_id = org_id
        self.limit = max_bytes() if limit is None else limit
        self.segment_size = segment_size or settings.ACCORD_ATTACHMENT_SEGMENT_SIZE
        self.blob_name = f"attachments/{secrets.token_hex(20)}"
        kek_version, kek = keys.current_kek_for(org_id)
        dek = keys.new_dek()
        self.kek_version = kek_version
        self.wrapped_dek = keys.wrap_dek(
            dek, org_id=org_id, kek_version=kek_version, kek_key=kek, attachment_code=self.code
        )
        header = crypto.build_header(
            org_id=org_id, kek_version=kek_version, segment_size=self.segment_size, wrapped_dek=self.wrapped_dek
        )
        self._encryptor = crypto.Encryptor(dek=dek, header=header, attachment_code=self.code)
        del dek, kek
        self._sha = hashlib.sha256()
        self.size = 0
        self.done = False
        self._file = None
        try:
            self._file = _open_blob_for_write(self.blob_name)
            self._file.write(self._encryptor.start())
        except Exception as exc:
            self._storage_failed(exc)

    def _storage_failed(self, exc: Exception):
        # Whatever the store raised (OSError from a disk, botocore errors from S3), the upload
        # is over: remove what was written and say so in one exception the views understand.
        self.abort()
        raise StorageUnavailable("the ciphertext store refused a write") from exc

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            self.abort()
            raise AttachmentTooLarge(self.limit)
        self._sha.update(data)
        sealed = self._encryptor.update(data)
        if sealed:
            try:
                self._file.write(sealed)
            except Exception as exc:
                self._storage_failed(exc)

    def finish(self, *, filename: str = "", content_type: str = "") -> SealedBlob:
        try:
            self._file.write(self._encryptor.finish())
            self._file.close()
        except Exception as exc:
            self._storage_failed(exc)
        self.done = True
        return SealedBlob(
            code=self.code,
            org_id=self.org_id,
            blob_name=self.blob_name,
            segment_size=self.segment_size,
            kek_version=self.kek_version,
            wrapped_dek=self.wrapped_dek,
            size=self.size,
            sha256=self._sha.hexdigest(),
            filename=filename,
            content_type=content_type,
        )

    def abort(self) -> None:
        self.done = True
        try:
            if self._file is not None:
                self._file.close()
        except Exception:  # a store that failed a write may fail the close too; delete anyway
            logger.warning("closing an abandoned blob failed", exc_info=True)
        try:
            _delete_blob(self.blob_name)
        except Exception:
            # Random name, ciphertext only, no row points at it: harmless, but say so.
            logger.error("an abandoned blob could not be deleted", extra={"blob": self.blob_name})


# -- reading and destroying ---------------------------------------------------------------------


def _dek_of(attachment: SealedFile) -> bytes:
    if attachment.is_destroyed or attachment.wrapped_dek is None:
        raise AttachmentDestroyed(f"attachment {attachment.code} was destroyed")
    return keys.unwrap_dek(
        wrapped=bytes(attachment.wrapped_dek),
        org_id=attachment.organisation_id,
        kek_version=attachment.kek_version,
        attachment_code=attachment.code,
    )


def _check_header(attachment: SealedFile, header: crypto.Header) -> None:
    if header.org_id != attachment.organisation_id or header.segment_size != attachment.segment_size:
        raise TamperedCiphertext("attachment blob header does not belong to this attachment")


@contextmanager
def open_plaintext(attachment_code) -> Iterator[io.BufferedReader]:
    """A seekable binary stream of the decrypted file, for tasks that read attachments.

    No access check: callers (tasks, gated views) decide who may read. Raises
    the model's DoesNotExist, AttachmentDestroyed, or TamperedCiphertext (at open, or on the read
    that reaches a tampered segment).
    """
    attachment = attachment_model().objects.get(code=attachment_code)
    dek = _dek_of(attachment)
    raw = attachment_storage().open(attachment.blob_name, "rb")
    try:
        reader = crypto.PlaintextReader(raw, dek=dek, attachment_code=attachment.code, plaintext_size=attachment.size)
        _check_header(attachment, reader.header)
    except BaseException:
        raw.close()
        raise
    stream = io.BufferedReader(reader, buffer_size=attachment.segment_size)
    try:
        yield stream
    finally:
        stream.close()


def attachment_stream(*, actor, attachment: SealedFile) -> Iterator[bytes]:
    """Decrypted segments for a download, audited; the first is decrypted before returning.

    Opening eagerly means a blob that is already wrong (swapped, header or first segment
    tampered, wrong length) is refused before any response starts. A later bad segment ends
    the stream and is audited; the client sees a body shorter than its Content-Length.
    """
    dek = _dek_of(attachment)
    storage = attachment_storage()
    raw = storage.open(attachment.blob_name, "rb")
    try:
        header = crypto.read_header(raw)
        _check_header(attachment, header)
        if storage.size(attachment.blob_name) != crypto.ciphertext_size(
            attachment.size, header.segment_size, header.size
        ):
            raise TamperedCiphertext("attachment blob length does not match its recorded size")
        segments = crypto.decrypt_segments(raw, dek=dek, attachment_code=attachment.code, header=header)
        first = next(segments)
    except TamperedCiphertext as exc:
        raw.close()
        integrity_failed(actor=actor, attachment=attachment, error=str(exc))
        raise
    except BaseException:
        raw.close()
        raise
    record(Action.ATTACHMENT_DOWNLOADED, actor=actor, target=attachment, details={"size": attachment.size})
    return _continue(first, segments, raw, actor, attachment)


def _continue(first: bytes, segments: Iterator[bytes], raw, actor, attachment: SealedFile) -> Iterator[bytes]:
    try:
        yield first
        yield from segments
    except TamperedCiphertext as exc:
        integrity_failed(actor=actor, attachment=attachment, error=str(exc))
    finally:
        raw.close()


def integrity_failed(*, actor, attachment: SealedFile, error: str) -> None:
    record(
        Action.ATTACHMENT_INTEGRITY_FAILED,
        actor=actor,
        target=attachment,
        outcome=Outcome.ERROR,
        details={"error": error},
    )


def attachment_destroy(*, actor, attachment: SealedFile) -> SealedFile:
    """Crypto-shred: delete the wrapped data key (and the blob). The row stays as the record.

    Everything the apps above derived from the plaintext goes in the same transaction (they
    answer `attachment_destroyed`), and the event records how much went.
    """
    with transaction.atomic():
        attachment = attachment_model().objects.select_for_update().get(pk=attachment.pk)
        if attachment.is_destroyed:
            return attachment
        attachment.wrapped_dek = None
        attachment.destroyed_at = timezone.now()
        attachment.destroyed_by = actor
        attachment.save(update_fields=["wrapped_dek", "destroyed_at", "destroyed_by"])
        removed: dict[str, int] = {}
        for _receiver, counts in attachment_destroyed.send(sender=type(attachment), attachment=attachment, actor=actor):
            for name, count in (counts or {}).items():
                removed[name] = removed.get(name, 0) + count
        details = {"sha256": attachment.sha256, "removed": dict(sorted(removed.items()))}
        record(Action.ATTACHMENT_DESTROYED, actor=actor, target=attachment, details=details)
        blob_name = attachment.blob_name
        transaction.on_commit(lambda: _delete_blob(blob_name))
    return attachment
