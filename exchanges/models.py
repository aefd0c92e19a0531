"""Secondments: a person of one institute (home) working inside another (host) for a while."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Organisation, Tier
from sharing.models import SharingAgreement


class SecondmentQuerySet(models.QuerySet["Secondment"]):
    def active_at(self, when: datetime) -> SecondmentQuerySet:
        """Approved by both sides, not ended, `when` within its dates, under an agreement in
        force at `when`: what lets a secondee act for the host, decided per request."""
        return self.filter(
            status=Secondment.Status.APPROVED,
            starts_at__lte=when,
            ends_at__gt=when,
            agreement__status=SharingAgreement.Status.ACTIVE,
            agreement__effective_from__lte=when,
            agreement__expires_at__gt=when,
            person__is_active=True,
            home__is_active=True,
            host__is_active=True,
        )


class Secondment(models.Model):
    """One secondment. Active only once an admin of each side approved it (`services.py`)."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Awaiting approval"
        APPROVED = "approved", "Approved by both"
        ENDED = "ended", "Ended early"

    class Role(models.TextChoices):
        ANALYST = "analyst", "Analyst (writes findings for the host)"
        REVIEWER = "reviewer", "Reviewer (reads the host's material)"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="secondments")
    home = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    host = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    agreement = models.ForeignKey(SharingAgreement, on_delete=models.PROTECT, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    role = models.CharField(max_length=10, choices=Role.choices)
    # The host's clearance for the secondment: never counts above the home's own (clearance_of).
    clearance = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="+")
    purpose = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED, db_index=True)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField(default=timezone.now)
    home_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    home_approved_at = models.DateTimeField(null=True, blank=True)
    host_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    host_approved_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    # A later end proposed by one side: it takes effect once both sides approved it.
    extension_ends_at = models.DateTimeField(null=True, blank=True)
    extension_home_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    extension_host_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    objects = SecondmentQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["person", "status"], name="secondment_person_status")]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="secondment_dates_ordered"),
            models.CheckConstraint(condition=~Q(home=models.F("host")), name="secondment_two_organisations"),
        ]

    def __str__(self) -> str:
        return f"secondment {self.home} → {self.host}"

    def is_active_at(self, when: datetime) -> bool:
        agreement = self.agreement
        return (
            self.status == self.Status.APPROVED
            and self.starts_at <= when < self.ends_at
            and agreement.status == SharingAgreement.Status.ACTIVE
            and agreement.effective_from <= when < agreement.expires_at
        )

    def side_of(self, organisation_id: int | None) -> str | None:
        """ "home" or "host" for one of the two organisations, else None."""
        if organisation_id == self.home_id:
            return "home"
        if organisation_id == self.host_id:
            return "host"
        return None
