"""Sharing agreements (MoUs) between organisations, and releases of documents under them."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Organisation, Tier
from audit.reasons import Reason

from .documents import Document, DocumentRevision, RiskDomain


class SharingAgreement(models.Model):
    """A signed arrangement: who shares with whom, up to which tier, on which topics, until when."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        TERMINATED = "terminated", "Terminated"
        EXPIRED = "expired", "Expired"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    reference = models.CharField(max_length=60, unique=True)
    title = models.CharField(max_length=300)
    parties = models.ManyToManyField(Organisation, through="AgreementParty", related_name="agreements")
    effective_from = models.DateTimeField()
    expires_at = models.DateTimeField()
    tier_ceiling = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="+")
    risk_domains = models.ManyToManyField(RiskDomain, related_name="agreements")
    onward_sharing = models.BooleanField(default=False)
    # Personnel exchanges (the `exchanges` app): whether the parties may second people to each
    # other under it, and whether a secondee acting for a host reads what the host received
    # from partners under it. Both default to no: a term the parties must agree to.
    personnel_exchanges = models.BooleanField(default=False)
    seconded_staff_read_partner_material = models.BooleanField(default=False)
    retention_days = models.PositiveIntegerField(default=365 * 5)
    mou = models.OneToOneField(
        "sharing.Attachment", on_delete=models.PROTECT, related_name="agreement", null=True, blank=True
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    terminated_at = models.DateTimeField(null=True, blank=True)
    # Set when the owners were told the agreement expires soon, so the notice goes out once.
    expiry_notice_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-effective_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("effective_from")), name="agreement_dates_ordered"
            ),
        ]

    def __str__(self) -> str:
        return self.reference


class AgreementParty(models.Model):
    """An organisation's place in an agreement, and its signature once an admin has signed."""

    agreement = models.ForeignKey(SharingAgreement, on_delete=models.CASCADE, related_name="party_rows")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    signed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agreement", "organisation"], name="agreement_party_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.organisation} in {self.agreement}"


class Release(models.Model):
    """A request, and once approved a grant, to show one document to one partner organisation."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Awaiting approval"
        APPROVED = "approved", "Approved"
        REFUSED = "refused", "Refused"
        REVOKED = "revoked", "Revoked"
        EXPIRED = "expired", "Expired"
        # A re-mark took the document out of the agreement's scope or the recipient's
        # releasability: no access until the originator's release officer reinstates it.
        SUSPENDED = "suspended", "Suspended: out of scope"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="releases")
    agreement = models.ForeignKey(SharingAgreement, on_delete=models.PROTECT, related_name="releases")
    recipient = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="releases_received")
    # The revision the release officer approved: partners read it (text, marking, attachments)
    # until an update is approved. Empty until the release is approved.
    revision = models.ForeignKey(
        DocumentRevision, on_delete=models.PROTECT, related_name="releases", null=True, blank=True
    )
    # The newest revision the originator's release officer declined to pass on: "update pending"
    # shows again only for a revision newer than this one.
    declined_revision = models.ForeignKey(
        DocumentRevision, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    # Empty: the whole recipient organisation. Otherwise only these people of it.
    audience = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", blank=True)
    justification = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED, db_index=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    # Why it is suspended: a Reason code, shown in full to the originator only.
    suspension_reason = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        indexes = [models.Index(fields=["recipient", "status"], name="release_recipient_status")]
        constraints = [
            # At most one open or approved release of a document to a recipient under an agreement.
            models.UniqueConstraint(
                fields=["document", "agreement", "recipient"],
                condition=Q(status__in=["requested", "approved", "suspended"]),
                name="release_live_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.document} → {self.recipient}"

    @property
    def suspension(self) -> str:
        """Why it is suspended, for the originator only ("" when it is not): the sentence can
        name what the new marking no longer allows, which the partner may not learn."""
        if not self.suspension_reason:
            return ""
        return Reason(self.suspension_reason).sentence(country=self.recipient.country_id)
