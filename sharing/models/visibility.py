"""The kept visibility table: which partner organisation may see which document, by which
release and revision, from when to when.

It holds what the organisation-level rules decide (a live approved release, its agreement in
force and covering the document, both organisations parties, the recipient's country
releasable), so the read condition looks one row up instead of
re-deciding them per document. What is decided by a date is kept as a range, compared to now
by the read condition, so an agreement or release ends at the second it expires. The per-person
gates (clearance, read-ins, nationality, named readers) are never kept: the read condition
checks them against the row's revision. Neither is the discretionary grant (guardian's
`view_document`): the read condition asks for it live, one indexed probe per kept row. `sharing/visibility.py` maintains it.
"""

from __future__ import annotations

from django.db import models

from accounts.models import Organisation

from .agreements import Release
from .documents import Document, DocumentRevision


class Visibility(models.Model):
    """One live release as the read condition needs it. Written only by `sharing.visibility`."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="+", db_index=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    release = models.OneToOneField(Release, on_delete=models.CASCADE, related_name="+")
    # The revision the release pins: the per-person gates check its marking.
    revision = models.ForeignKey(DocumentRevision, on_delete=models.CASCADE, related_name="+")
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField()
    # The release names its readers: only they, and only with their own grant, read through it.
    narrowed = models.BooleanField()

    class Meta:
        indexes = [
            models.Index(fields=["document", "organisation"], name="visibility_document_org"),
            # The next moment an organisation's visibility changes (the cached filter menu's life).
            models.Index(fields=["organisation", "valid_from"], name="visibility_org_from"),
            models.Index(fields=["organisation", "valid_until"], name="visibility_org_until"),
        ]

    def __str__(self) -> str:
        return f"{self.document_id} → {self.organisation_id} [{self.valid_from}, {self.valid_until})"
