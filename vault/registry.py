"""Which model records the vault's sealed files.

The vault seals, reads, re-wraps, scans and shreds blobs; the row that describes one belongs to
the app that attaches it to something (sharing's Attachment, which hangs off a document). That
app names its model here from its AppConfig.ready(), so the vault works on those rows without
importing the app that owns them. `SealedFile` lists what the vault relies on.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from django.core.exceptions import ImproperlyConfigured
from django.db import models


class SealedFile(Protocol):
    """The fields of a registered model the vault reads and writes (the model also has a
    `ScanStatus` choices class with PENDING, CLEAN and REJECTED)."""

    pk: int
    code: uuid.UUID
    organisation_id: int
    filename: str
    declared_type: str
    sniffed_type: str
    size: int
    sha256: str
    blob_name: str
    segment_size: int
    kek_version: int | None
    wrapped_dek: bytes | None
    destroyed_at: datetime | None
    scan_status: str
    scan_reason: str
    scanned_at: datetime | None

    @property
    def is_destroyed(self) -> bool: ...


_attachment_model: type[models.Model] | None = None


def register_attachment_model(model: type[models.Model]) -> None:
    global _attachment_model
    if _attachment_model not in (None, model):
        raise ImproperlyConfigured(f"the vault's attachment model is already {_attachment_model._meta.label}")
    _attachment_model = model


def attachment_model():
    """The registered model class (typed loosely: its manager and ScanStatus are the model's)."""
    if _attachment_model is None:
        raise ImproperlyConfigured("no installed app registered the vault's attachment model")
    return _attachment_model
