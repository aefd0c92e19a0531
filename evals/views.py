"""Eval-results pages: every run the user may see, filtered; and one task compared across models
and over time, as a chart and a table.

Only runs that were read (parse status "parsed") appear here; a log that could not be read is
shown, with its reason, on its document's page. Both pages start from `selectors.readable_runs`.
A comparison of a task the user has no readable run of answers 404 — the same for a task that
exists only in documents they may not read as for one that does not exist — and is audited.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from sharing.policy import show_released_rows
from sharing.services.listings import documents_listed
from sharing.views.banners import banner_for, mark_for

from .chart import Point, build_chart
from .forms import ResultFilterForm, SeriesForm
from .models import EvalRun
from .selectors import (
    Series,
    choices_of,
    documents_of,
    filter_runs,
    parsed,
    readable_runs,
    runs_of_document,
    series_of,
    task_runs_for_reader,
    with_details,
    with_document,
)

PAGE_SIZE = 25
# A comparison draws at most this many runs (the most recent); the page says when it stops short.
COMPARE_MAX_RUNS = 200
TASK_MAX_CHARS = 255


def _marked_rows(runs: list[EvalRun], user) -> tuple[list[tuple], object]:
    """(run, document, portion mark) per run, and the banner for them all."""
    # A partner's documents read as the revision released to them: its title, never the latest.
    documents = {document.pk: document for document in show_released_rows(user, documents_of(runs).values())}
    rows = []
    for run in runs:
        document = documents.get(run.document_id)
        if document is not None:
            rows.append((run, document, mark_for(document, user)))
    return rows, banner_for(documents.values(), user)


@require_GET
@login_required
def result_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    visible = parsed(readable_runs(user))
    form = ResultFilterForm(request.GET or None, **choices_of(visible))
    runs = visible
    if form.is_valid():
        runs = filter_runs(visible, reader=user, **form.cleaned_data)
    runs = with_details(with_document(runs)).order_by(F("created_at").desc(nulls_last=True), "-pk")
    page = Paginator(runs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows, banner = _marked_rows(list(page.object_list), user)
    documents_listed(actor=user, documents=[document for _, document, _ in rows], page="results")
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "banner": banner,
        "query": query.urlencode(),
        "filtered": any(value for key, value in request.GET.items() if key != "page"),
    }
    return render(request, "evals/results.html", context)


def _value_of(run: EvalRun, series: Series | None):
    if series is None:
        return None
    for score in run.scores.all():  # prefetched
        if (score.scorer_name, score.reducer, score.metric) == (
            series.scorer_name,
            series.reducer,
            series.metric,
        ):
            return score
    return None


@require_GET
@login_required
def task_compare(request: HttpRequest) -> HttpResponse:
    user = request.user
    task = request.GET.get("task", "")[:TASK_MAX_CHARS]
    runs = task_runs_for_reader(user, task)
    available = series_of(runs)
    form = SeriesForm(request.GET, series=available)
    chosen = available[0] if available else None
    if form.is_valid() and form.cleaned_data["series"]:
        chosen = Series.from_key(form.cleaned_data["series"])
    ordered = with_details(with_document(runs)).order_by(F("created_at").desc(nulls_last=True), "-pk")
    recent = list(ordered[: COMPARE_MAX_RUNS + 1])
    truncated = len(recent) > COMPARE_MAX_RUNS
    recent = recent[:COMPARE_MAX_RUNS]
    recent.reverse()  # oldest first: the table reads in the chart's direction
    rows, banner = _marked_rows(recent, user)
    documents_listed(actor=user, documents=[document for _, document, _ in rows], page="compare", task=task)
    table = []
    points = []
    for run, document, mark in rows:
        score = _value_of(run, chosen)
        at = run.created_at or run.started_at
        table.append((run, document, mark, score))
        if score is not None and score.value is not None and at is not None:
            points.append(Point(model=run.model, at=at, value=score.value, stderr=score.stderr, label=run.status))
    chart = build_chart(points, title=task, metric=chosen.label if chosen else "") if chosen else None
    context = {
        "task": task,
        "form": form,
        "series": chosen,
        "chart": chart,
        "rows": table,
        "models": sorted({run.model for run, *_ in table}),
        "banner": banner,
        "truncated": truncated,
        "max_runs": COMPARE_MAX_RUNS,
    }
    return render(request, "evals/compare.html", context)


def document_results_panel(request: HttpRequest, document, attachments: list) -> dict | None:
    """The "Evaluation results" section of a document's page, for the logs among its attachments
    (a sharing panel, registered in EvalsConfig.ready()); none when no log was attached."""
    # Every run of the document with its scores and usage in three queries, however many.
    runs = {run.attachment_code: run for run in with_details(runs_of_document(document))}
    eval_runs = [(a, runs[a.code]) for a in attachments if a.code in runs]
    return {"eval_runs": eval_runs} if eval_runs else None
