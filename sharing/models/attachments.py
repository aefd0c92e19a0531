"""Encrypted evidence files (their organisation keys are the vault's: vault/models.py)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Organisation


class Attachment(models.Model):
    """An evidence file. Stored only as ciphertext under a random name; see vault/crypto.py."""

    class ScanStatus(models.TextChoices):
        PENDING = "pending", "Being checked"
        CLEAN = "clean", "Clean"
        REJECTED = "rejected", "Rejected"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    document = models.ForeignKey(
        "sharing.Document", on_delete=models.PROTECT, related_name="attachments", null=True, blank=True
    )
    # The organisation whose KEK wraps the data key (the document's originator, or a party to an
    # agreement for a signed MoU).
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    filename = models.CharField(max_length=255)
    declared_type = models.CharField(max_length=100, blank=True)
    sniffed_type = models.CharField(max_length=100, blank=True)
    size = models.BigIntegerField(default=0)
    # SHA-256 of the plaintext, hex, computed as the upload is encrypted (vault BlobWriter).
    # Downloads send it as `Repr-Digest` so a client can check a file is whole. A hash of the
    # plaintext is kept on purpose: it reveals only whether a guessed file is the one stored.
    sha256 = models.CharField(max_length=64, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)
    # The document revision the file first belongs to. A partner reads the files of the revision
    # released to them (number <= that revision's), so a file attached after a release reaches
    # them only with the update the originator's release officer approves. Attaching to a
    # published document writes a revision of its own; rows kept from before pinning say 1.
    added_in_revision = models.PositiveIntegerField(default=1)
    # Ciphertext location and envelope.
    blob_name = models.CharField(max_length=200, unique=True)
    segment_size = models.PositiveIntegerField()
    kek_version = models.PositiveIntegerField(null=True, blank=True)
    wrapped_dek = models.BinaryField(null=True, blank=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)
    destroyed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    scan_status = models.CharField(max_length=10, choices=ScanStatus.choices, default=ScanStatus.PENDING, db_index=True)
    scan_reason = models.CharField(max_length=300, blank=True)
    scanned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["uploaded_at"]

    def __str__(self) -> str:
        return self.filename

    @property
    def is_destroyed(self) -> bool:
        return self.destroyed_at is not None
