"""Findings and their marking."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from accounts.models import Compartment, Country, Organisation, Tier


class RiskDomain(models.Model):
    """A topic of the seeded risk taxonomy (CBRN, cyber offence, …)."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.name


class Caveat(models.Model):
    """A handling caveat such as ORCON (only the originator may release it onward)."""

    code = models.SlugField(max_length=20, unique=True)
    label = models.CharField(max_length=20, unique=True)
    description = models.CharField(max_length=300)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.label


class Document(models.Model):
    """A finding: its text, the evaluated model, and the marking that decides who may read it."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        WITHDRAWN = "withdrawn", "Withdrawn"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    title = models.CharField(max_length=300)
    summary = models.TextField(blank=True)
    body = models.TextField(blank=True, help_text="Markdown; rendered and sanitised on display.")
    originator = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="documents")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="documents")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    model_developer = models.CharField("model developer", max_length=120, blank=True)
    model_name = models.CharField("model name", max_length=120, blank=True, db_index=True)
    model_version = models.CharField("model version", max_length=60, blank=True)
    risk_domains = models.ManyToManyField(RiskDomain, related_name="documents", blank=True)
    # The marking.
    tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="+")
    releasable_to = models.ManyToManyField(Country, related_name="+", blank=True)
    compartments = models.ManyToManyField(Compartment, related_name="documents", blank=True)
    caveats = models.ManyToManyField(Caveat, related_name="documents", blank=True)
    revision = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    # The text a revision's snapshot keeps and a partner reads from the revision released to it.
    TEXT_FIELDS = ("title", "summary", "body", "model_developer", "model_name", "model_version")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["originator", "status"], name="document_origin_status")]

    def __str__(self) -> str:
        return self.title


class DocumentRevision(models.Model):
    """An immutable snapshot written by every edit, with what changed."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    snapshot = models.JSONField()
    changed_fields = models.JSONField(default=list)
    marking_changed = models.BooleanField(default=False)
    note = models.CharField(max_length=300, blank=True)
    # The marking again, as rows: a release pins a revision, and the read policy's SQL face
    # checks a partner against the marking of the revision released to it.
    tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    releasable_to = models.ManyToManyField(Country, related_name="+", blank=True)
    compartments = models.ManyToManyField(Compartment, related_name="+", blank=True)

    class Meta:
        ordering = ["document", "-number"]
        constraints = [models.UniqueConstraint(fields=["document", "number"], name="revision_number_unique")]

    def __str__(self) -> str:
        return f"{self.document} r{self.number}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise PermissionError("revisions are immutable")
        super().save(*args, **kwargs)


# Document audiences: guardian `view_document` to an organisation's group (an approved release)
# or to named users (a narrowed release), on direct foreign keys.
class DocumentUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Document, on_delete=models.CASCADE)


class DocumentGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Document, on_delete=models.CASCADE)
