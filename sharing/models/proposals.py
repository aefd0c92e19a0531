"""A lower marking waiting for a second person: the two-person rule for downgrades."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Compartment, Country, Tier

from .documents import Caveat, Document


class MarkingProposal(models.Model):
    """A marking an author asked for that would let more people read the document (a lower
    tier, a compartment or caveat dropped, a country added). The author's edit saved everything
    else; this marking waits until a different release officer of the originator approves it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a release officer"
        APPROVED = "approved", "Approved"
        REFUSED = "refused", "Refused"
        SUPERSEDED = "superseded", "Replaced by a later proposal"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="marking_proposals")
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField(default=timezone.now)
    # The document's marking when proposed (a revision snapshot's "marking"): approval applies
    # the proposal only over that same marking, never over one changed since.
    base_marking = models.JSONField()
    # The marking asked for.
    tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="+")
    releasable_to = models.ManyToManyField(Country, related_name="+", blank=True)
    compartments = models.ManyToManyField(Compartment, related_name="+", blank=True)
    caveats = models.ManyToManyField(Caveat, related_name="+", blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    # The revision an approval wrote.
    revision = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-proposed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["document"], condition=Q(status="pending"), name="marking_proposal_one_pending"
            ),
        ]

    def __str__(self) -> str:
        return f"lower marking of {self.document}"
