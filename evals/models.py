"""Structured results of Inspect eval logs: one run per log attachment, its scores and usage."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q


class EvalRun(models.Model):
    """What one Inspect log says about its run. The log itself stays an encrypted attachment;
    this row is rebuilt from it whenever it is parsed again."""

    class ParseStatus(models.TextChoices):
        PENDING = "pending", "Waiting to be read"
        PARSED = "parsed", "Read"
        FAILED = "failed", "Could not be read"

    class Status(models.TextChoices):
        STARTED = "started", "Started (not finished)"
        SUCCESS = "success", "Success"
        CANCELLED = "cancelled", "Cancelled"
        ERROR = "error", "Error"

    class LogFormat(models.TextChoices):
        EVAL = "eval", ".eval"
        JSON = "json", ".json"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The log's attachment. A plain UUID until attachments exist; then a foreign key to
    # sharing.Attachment. Unique: parsing an attachment again replaces its run.
    attachment_code = models.UUIDField(null=True, blank=True, unique=True)
    parse_status = models.CharField(max_length=10, choices=ParseStatus.choices, default=ParseStatus.PENDING)
    parse_error = models.CharField(max_length=500, blank=True)
    parsed_at = models.DateTimeField(null=True, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    log_format = models.CharField(max_length=4, choices=LogFormat.choices, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, blank=True)
    task = models.CharField(max_length=255, blank=True)
    task_version = models.CharField(max_length=80, blank=True)
    model = models.CharField(max_length=255, blank=True)
    eval_id = models.CharField(max_length=255, blank=True)
    run_id = models.CharField(max_length=255, blank=True)
    # The run's own times, as the log states them (eval.created, stats.started_at/completed_at).
    created_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    dataset_name = models.CharField(max_length=255, blank=True)
    dataset_samples = models.PositiveBigIntegerField(null=True, blank=True)
    epochs = models.PositiveBigIntegerField(null=True, blank=True)
    # Every epoch of every sample counts: 10 samples run for 3 epochs are 30.
    total_samples = models.PositiveBigIntegerField(null=True, blank=True)
    completed_samples = models.PositiveBigIntegerField(null=True, blank=True)
    error_message = models.TextField(blank=True)
    # How the run was made, checked against a protocol (`evals.conformance`).
    temperature = models.FloatField(null=True, blank=True)
    max_tokens = models.PositiveBigIntegerField(null=True, blank=True)
    seed = models.BigIntegerField(null=True, blank=True)
    solver = models.CharField(max_length=255, blank=True)
    scorer_names = models.JSONField(default=list, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["task", "model"], name="evals_run_task_model"),
            models.Index(fields=["model", "created_at"], name="evals_run_model_created"),
        ]
        constraints = [
            # A run that was read names its task, model and status.
            models.CheckConstraint(
                condition=~Q(parse_status="parsed") | (~Q(task="") & ~Q(model="") & ~Q(status="")),
                name="evals_run_parsed_has_task_model_status",
            ),
            # A run that could not be read says why.
            models.CheckConstraint(
                condition=~Q(parse_status="failed") | ~Q(parse_error=""),
                name="evals_run_failed_has_reason",
            ),
        ]

    def __str__(self) -> str:
        if self.parse_status != self.ParseStatus.PARSED:
            return f"eval run {self.code} ({self.get_parse_status_display().lower()})"
        return f"{self.task} on {self.model} ({self.status})"


class EvalScore(models.Model):
    """One metric of one scorer, e.g. match/accuracy = 0.75 ± 0.25 (stderr)."""

    run = models.ForeignKey(EvalRun, on_delete=models.CASCADE, related_name="scores")
    scorer_name = models.CharField(max_length=255)
    scorer = models.CharField(max_length=255)
    # The epoch reducer ("mean", "max"...) when a run has several epochs; "" otherwise.
    reducer = models.CharField(max_length=255, blank=True)
    metric = models.CharField(max_length=255)
    # Null when the log holds NaN or infinity (e.g. the stderr of a single sample).
    value = models.FloatField(null=True, blank=True)
    stderr = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["run", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "scorer_name", "reducer", "metric"], name="evals_score_unique_metric"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scorer_name}/{self.metric} = {self.value}"


class EvalSample(models.Model):
    """One scorer's value for one sample and epoch of a run, for comparing runs sample by sample
    (joined on sample id and epoch). Only the number: the transcript stays in the encrypted log
    and is read from it on demand (`evals.transcripts`)."""

    run = models.ForeignKey(EvalRun, on_delete=models.CASCADE, related_name="samples")
    sample_id = models.CharField(max_length=255)
    epoch = models.PositiveIntegerField()
    scorer = models.CharField(max_length=255)
    # Null when the log's value is not a number, a letter grade or yes/no (`parser.score_value`).
    value = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["run", "sample_id", "epoch", "scorer"]
        constraints = [
            models.UniqueConstraint(fields=["run", "sample_id", "epoch", "scorer"], name="evals_sample_unique_score"),
        ]

    def __str__(self) -> str:
        return f"{self.sample_id} epoch {self.epoch} {self.scorer} = {self.value}"


class EvalModelUsage(models.Model):
    """Tokens one model used over the run (stats.model_usage)."""

    run = models.ForeignKey(EvalRun, on_delete=models.CASCADE, related_name="model_usage")
    model = models.CharField(max_length=255)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    total_tokens = models.PositiveBigIntegerField(default=0)
    input_tokens_cache_write = models.PositiveBigIntegerField(null=True, blank=True)
    input_tokens_cache_read = models.PositiveBigIntegerField(null=True, blank=True)
    reasoning_tokens = models.PositiveBigIntegerField(null=True, blank=True)
    total_cost = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["run", "model"]
        constraints = [
            models.UniqueConstraint(fields=["run", "model"], name="evals_usage_unique_model"),
        ]

    def __str__(self) -> str:
        return f"{self.model}: {self.total_tokens} tokens"
