"""Joint testing exercises: the exercise, who takes part, the models tested, and the versioned
protocol each participant's signatory signs."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone

from accounts.models import Compartment, Country, Organisation, Tier
from sharing.models import Document, RiskDomain, SharingAgreement


class Exercise(models.Model):
    """A joint test of one target model by several institutes, under one sharing agreement.

    Everything it holds is inside `compartment` (owned by the lead): the policy shows it only to
    people of a participating organisation read in to that compartment (exercises/policy.py)."""

    class Phase(models.TextChoices):
        PLANNING = "planning", "Planning"
        RUNNING = "running", "Running"
        ANALYSIS = "analysis", "Analysis"
        REPORTING = "reporting", "Reporting"
        CLOSED = "closed", "Closed"

    class Access(models.TextChoices):
        PUBLIC = "public", "Publicly accessible"
        PRE_DEPLOYMENT = "pre_deployment", "Pre-deployment"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    reference = models.CharField(
        max_length=40,
        unique=True,
        validators=[RegexValidator(r"^[A-Z0-9][A-Z0-9-]*$", "Use capital letters, digits and hyphens (JOINT-EX-2).")],
    )
    title = models.CharField(max_length=300)
    agreement = models.ForeignKey(SharingAgreement, on_delete=models.PROTECT, related_name="exercises")
    lead = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="exercises_led")
    participants = models.ManyToManyField(Organisation, through="Participant", related_name="exercises")
    target_developer = models.CharField("target model developer", max_length=120)
    target_name = models.CharField("target model name", max_length=120)
    target_version = models.CharField("target model version or snapshot", max_length=120)
    target_access = models.CharField(max_length=20, choices=Access.choices, default=Access.PRE_DEPLOYMENT)
    risk_domains = models.ManyToManyField(RiskDomain, related_name="exercises")
    # The marking of everything the exercise holds.
    tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="+")
    releasable_to = models.ManyToManyField(Country, related_name="+")
    compartment = models.OneToOneField(Compartment, on_delete=models.PROTECT, related_name="exercise")
    phase = models.CharField(max_length=12, choices=Phase.choices, default=Phase.PLANNING, db_index=True)
    phase_changed_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    PHASES = [Phase.PLANNING, Phase.RUNNING, Phase.ANALYSIS, Phase.REPORTING, Phase.CLOSED]

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.reference}: {self.title}"

    @property
    def next_phase(self) -> str | None:
        """The one phase the exercise may move to next (None once closed)."""
        index = self.PHASES.index(self.Phase(self.phase))
        return self.PHASES[index + 1] if index + 1 < len(self.PHASES) else None


class Participant(models.Model):
    """An organisation taking part in an exercise (the lead is one too)."""

    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="participant_rows")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["exercise", "organisation"], name="exercise_participant_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.organisation} in {self.exercise.reference}"


class ReferenceModel(models.Model):
    """A model the target is compared with."""

    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="reference_models")
    developer = models.CharField(max_length=120)
    name = models.CharField(max_length=120)
    version = models.CharField(max_length=120, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["exercise", "position", "pk"]

    def __str__(self) -> str:
        return f"{self.developer} {self.name} {self.version}".strip()


class ProtocolVersion(models.Model):
    """One version of an exercise's common protocol. Immutable once anyone has signed it: a
    change is a new version. Adopted when a signatory of every participant signed it."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Awaiting signatures"
        ADOPTED = "adopted", "Adopted"
        SUPERSEDED = "superseded", "Superseded"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="protocol_versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    # The Inspect model names the tasks are run against ("provider/model").
    target_model = models.CharField(max_length=200)
    reference_models = models.JSONField(default=list, blank=True)
    notes = models.TextField(blank=True)
    # SHA-256 of the canonical export (exercises/protocol.py): a signature binds to it.
    digest = models.CharField(max_length=64)
    drafted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    drafted_at = models.DateTimeField(default=timezone.now)
    adopted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["exercise", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["exercise", "number"], name="protocol_version_unique"),
            # At most one version of an exercise awaits signatures at a time.
            models.UniqueConstraint(fields=["exercise"], condition=models.Q(status="draft"), name="protocol_one_draft"),
        ]

    def __str__(self) -> str:
        return f"{self.exercise.reference} protocol v{self.number}"


class ProtocolTask(models.Model):
    """One Inspect task of a protocol version, pinned."""

    version = models.ForeignKey(ProtocolVersion, on_delete=models.CASCADE, related_name="tasks")
    position = models.PositiveSmallIntegerField(default=0)
    task_name = models.CharField(max_length=200)
    task_version = models.CharField(max_length=60)
    dataset_name = models.CharField(max_length=200)
    # The sample ids as a sorted list of strings, and the SHA-256 of that list (protocol.py).
    sample_ids = models.JSONField(default=list)
    sample_ids_sha256 = models.CharField(max_length=64)
    scorers = models.JSONField(default=list)
    metrics = models.JSONField(default=list)
    epochs = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1), MaxValueValidator(100)])
    temperature = models.FloatField(null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(2)])
    max_tokens = models.PositiveIntegerField(null=True, blank=True, validators=[MaxValueValidator(1_000_000)])
    seed = models.BigIntegerField(null=True, blank=True)
    solver = models.CharField("solver or agent scaffold", max_length=200)

    class Meta:
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "task_name"], name="protocol_task_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.task_name}@{self.task_version}"


class ProtocolSignature(models.Model):
    """A participant's signature on one protocol version (the shape of an agreement party's)."""

    version = models.ForeignKey(ProtocolVersion, on_delete=models.CASCADE, related_name="signatures")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField(default=timezone.now)
    # The digest the signatory saw: the version's, by construction (versions never change).
    digest = models.CharField(max_length=64)

    class Meta:
        ordering = ["signed_at"]
        constraints = [
            models.UniqueConstraint(fields=["version", "organisation"], name="protocol_signature_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.organisation} signed {self.version}"


class ExerciseRun(models.Model):
    """One participant's run of the protocol: a finding of its own organisation, marked with the
    exercise's compartment, whose attachments are the Inspect logs (encrypted, scanned and parsed
    like any other). Who may see it is the document's policy; the version is the one it followed."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    exercise = models.ForeignKey(Exercise, on_delete=models.PROTECT, related_name="runs")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    document = models.OneToOneField(Document, on_delete=models.PROTECT, related_name="exercise_run")
    protocol_version = models.ForeignKey(ProtocolVersion, on_delete=models.PROTECT, related_name="runs")
    registered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    registered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["exercise", "registered_at"]

    def __str__(self) -> str:
        return f"{self.exercise.reference} run {self.code}"
