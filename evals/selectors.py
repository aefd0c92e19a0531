"""Reads of eval results, and the one rule for who may see them.

A run is visible exactly when its log is a clean, undestroyed attachment of a document the user
may read (`sharing.policy.readable_documents`). Every page and API endpoint that lists runs
starts from `readable_runs` (or `runs_of_document`, for a document already passed through its
gate), so the rule lives here only: one SQL query, no per-row checks. A log shredded after it
was parsed takes its results with it, even though the EvalRun row stays until it is parsed again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from audit.models import Action
from audit.reasons import Reason
from audit.services import refuse
from sharing.models import Attachment, Document
from sharing.policy import attachments_read, readable_attachments
from sharing.selectors import documents_titled, with_marking

from .models import EvalRun, EvalScore

# A series of a chart is one score row per run: (scorer name, reducer, metric).
SERIES_SEPARATOR = "|"


def visible_logs(attachments: QuerySet[Attachment]) -> QuerySet[Attachment]:
    """Those of `attachments` whose results may be shown: clean and not destroyed."""
    return attachments.filter(scan_status=Attachment.ScanStatus.CLEAN, destroyed_at__isnull=True)


def readable_runs(user) -> QuerySet[EvalRun]:
    """Every run `user` may see, whatever its parse status, in one query: a partner's only of
    logs in the revision released to it."""
    return EvalRun.objects.filter(attachment_code__in=visible_logs(readable_attachments(user)).values("code"))


def runs_of_document(document: Document) -> QuerySet[EvalRun]:
    """The runs of one document the caller obtained through `document_for_reader` (of the
    revision that reader reads)."""
    return EvalRun.objects.filter(attachment_code__in=visible_logs(attachments_read(document)).values("code"))


def with_details(runs: QuerySet[EvalRun]) -> QuerySet[EvalRun]:
    """Scores and usage in two more queries, however many runs."""
    return runs.prefetch_related("scores", "model_usage")


def with_document(runs: QuerySet[EvalRun]) -> QuerySet[EvalRun]:
    """Annotate each run with its log's document id and the log's filename."""
    log = Attachment.objects.filter(code=OuterRef("attachment_code"))
    return runs.annotate(
        document_id=Subquery(log.values("document_id")[:1]),
        log_filename=Subquery(log.values("filename")[:1]),
    )


def documents_of(runs: Iterable[EvalRun]) -> dict[int, Document]:
    """{document id: document with its marking loaded} for runs annotated by `with_document`."""
    ids = {run.document_id for run in runs}
    return {document.pk: document for document in with_marking(Document.objects.filter(pk__in=ids))}


def filter_runs(
    runs: QuerySet[EvalRun],
    *,
    reader=None,
    text: str = "",
    model: str = "",
    task: str = "",
    risk_domain: str = "",
    metric: str = "",
    min_value: float | None = None,
    max_value: float | None = None,
) -> QuerySet[EvalRun]:
    """Narrow `runs` (never widen: every condition is an AND on the given queryset).

    `text` matches task, model, dataset or the document's title as `reader` reads it (a partner:
    the revision released to it); `metric` with a range keeps
    runs having at least one score of that metric (any scorer) within [min_value, max_value].
    """
    if text := " ".join(text.split()):
        titled = Attachment.objects.filter(document__in=documents_titled(reader, text).values("pk")).values("code")
        runs = runs.filter(
            Q(task__icontains=text)
            | Q(model__icontains=text)
            | Q(dataset_name__icontains=text)
            | Q(attachment_code__in=titled)
        )
    if model:
        runs = runs.filter(model=model)
    if task:
        runs = runs.filter(task=task)
    if risk_domain:
        runs = runs.filter(
            attachment_code__in=Attachment.objects.filter(document__risk_domains__code=risk_domain).values("code")
        )
    if metric:
        scores = EvalScore.objects.filter(run=OuterRef("pk"), metric=metric)
        if min_value is not None:
            scores = scores.filter(value__gte=min_value)
        if max_value is not None:
            scores = scores.filter(value__lte=max_value)
        runs = runs.filter(Exists(scores))
    return runs


def task_runs_for_reader(user, task: str) -> QuerySet[EvalRun]:
    """The gate of a comparison: the task's readable runs, or 404 (audited) when there are none."""
    runs = parsed(readable_runs(user)).filter(task=task) if task else EvalRun.objects.none()
    if not runs.exists():
        # The name typed is kept only as a digest: it may be a task of a log the user may not
        # read, and the trail outlives the logs it mentions.
        digest = hashlib.sha256(task.encode("utf-8", "replace")).hexdigest()
        target = ("evals.task", digest, "eval task")
        details = {"wanted": "compare", "task_sha256": digest}
        refuse(
            user,
            Action.ACCESS_DENIED,
            target,
            Reason.NO_READABLE_RUN_OF_TASK,
            error=Http404("No such task."),
            details=details,
        )
    return runs


def parsed(runs: QuerySet[EvalRun]) -> QuerySet[EvalRun]:
    return runs.filter(parse_status=EvalRun.ParseStatus.PARSED)


def choices_of(runs: QuerySet[EvalRun]) -> dict[str, list[str]]:
    """The models, tasks and metric names among `runs`, for the filter form (three queries)."""
    return {
        "models": list(runs.order_by("model").values_list("model", flat=True).distinct()),
        "tasks": list(runs.order_by("task").values_list("task", flat=True).distinct()),
        "metrics": list(
            EvalScore.objects.filter(run__in=runs.values("pk"))
            .order_by("metric")
            .values_list("metric", flat=True)
            .distinct()
        ),
    }


@dataclass(frozen=True)
class Series:
    """One score of a task that a chart can plot: a scorer's metric (per epoch reducer)."""

    scorer_name: str
    reducer: str
    metric: str

    @property
    def key(self) -> str:
        return SERIES_SEPARATOR.join((self.scorer_name, self.reducer, self.metric))

    @property
    def label(self) -> str:
        reducer = f" ({self.reducer})" if self.reducer else ""
        return f"{self.scorer_name} · {self.metric}{reducer}"

    @classmethod
    def from_key(cls, key: str) -> Series:
        # Scorer names may hold the separator (registry names); reducers and metrics do not.
        scorer_name, reducer, metric = key.rsplit(SERIES_SEPARATOR, 2)
        return cls(scorer_name, reducer, metric)


def series_of(runs: QuerySet[EvalRun]) -> list[Series]:
    """The scores the runs report, most common first (the default chart is the first)."""
    rows = (
        EvalScore.objects.filter(run__in=runs.values("pk"), value__isnull=False)
        .values("scorer_name", "reducer", "metric")
        .annotate(runs=Count("run", distinct=True))
        .order_by("-runs", "scorer_name", "reducer", "metric")
    )
    return [Series(row["scorer_name"], row["reducer"], row["metric"]) for row in rows]
