"""The audit viewer, its exports, and the public half of the checkpoint-signing key.

Matrix: anonymous → sign-in page; signed in without an admin role → 404 (audited), the same as
for a page that does not exist; portal admin → everything; organisation admin → their
organisations' events. All GET; anything else → 405.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import signing
from .access import TRAIL_TARGET, audit_viewer_scope
from .chain import iso_utc
from .forms import EventFilterForm
from .models import Action, Outcome
from .selectors import (
    EXPORT_FIELDS,
    checkpoint_document,
    export_chunks,
    filter_events,
    latest_verification,
    page_of_events,
    visible_events,
)
from .services import record
from .visibility import DERIVED_FIELDS, Viewer, present

EXPORT_FORMATS = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}


@require_GET
@never_cache
@login_required
def events(request: HttpRequest) -> HttpResponse:
    scope = audit_viewer_scope(request.user, path=request.path)
    form = EventFilterForm(request.GET or None, organisations=scope.organisations())
    context = {"form": form, "verification": latest_verification(), "scope": scope, "query": ""}
    if request.GET and not form.is_valid():
        record(Action.AUDIT_VIEWED, actor=request.user, target=TRAIL_TARGET, outcome=Outcome.ERROR,
               details={"errors": form.errors.get_json_data()})  # fmt: skip
        return render(request, "audit/events.html", context, status=400)
    filters = form.cleaned_data if form.is_bound else {}
    qs = filter_events(visible_events(scope), filters)
    rows, has_newer, has_older = page_of_events(qs, before=filters.get("before"), after=filters.get("after"))
    shown = present(Viewer.of(request.user, scope), [_stored(event) for event in rows])
    record(Action.AUDIT_VIEWED, actor=request.user, target=TRAIL_TARGET, details={"filters": form.summary()})
    query = request.GET.copy()
    query.pop("before", None)
    query.pop("after", None)
    context.update(events=shown, has_newer=has_newer, has_older=has_older, query=query.urlencode())
    if rows:
        context.update(newer_cursor=rows[0].seq, older_cursor=rows[-1].seq)
    return render(request, "audit/events.html", context)


@require_GET
@never_cache
@login_required
def export(request: HttpRequest, fmt: str) -> HttpResponse:
    scope = audit_viewer_scope(request.user, path=request.path)
    if fmt not in EXPORT_FORMATS:
        raise Http404("No such page")
    form = EventFilterForm(request.GET, organisations=scope.organisations())
    if not form.is_valid():
        record(Action.AUDIT_EXPORTED, actor=request.user, target=TRAIL_TARGET, outcome=Outcome.ERROR,
               details={"format": fmt, "errors": form.errors.get_json_data()})  # fmt: skip
        return HttpResponse("Invalid filters.\n", status=400, content_type="text/plain; charset=utf-8")
    qs = filter_events(visible_events(scope), form.cleaned_data)
    # The export is audited before the first byte leaves, and covers the trail up to and
    # including its own event: a consistent snapshot however long the stream takes.
    event = record(
        Action.AUDIT_EXPORTED,
        actor=request.user,
        target=TRAIL_TARGET,
        details={"format": fmt, "filters": form.summary()},
    )
    return export_response(Viewer.of(request.user, scope), qs, upto=event.seq, fmt=fmt, name="accord-audit")


def _stored(event) -> dict:
    return {name: getattr(event, name) for name in EXPORT_FIELDS}


def _shown_rows(viewer: Viewer, chunks: Iterator[list[dict]]) -> Iterator[dict]:
    for chunk in chunks:
        yield from present(viewer, chunk)


def export_response(viewer: Viewer, qs, *, upto: int, fmt: str, name: str) -> StreamingHttpResponse:
    """The events of `qs` up to seq `upto`, each as `viewer` may see it (`visibility.present`,
    the same selector as the page), streamed as JSON Lines or CSV. Every export goes through here."""
    rows = _shown_rows(viewer, export_chunks(qs, upto=upto))
    body = _jsonl(rows) if fmt == "jsonl" else _csv(rows)
    response = StreamingHttpResponse(body, content_type=EXPORT_FORMATS[fmt])
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.{fmt}"'
    return response


def _as_export(item: dict) -> dict:
    row = {name: item[name] for name in (*EXPORT_FIELDS, *DERIVED_FIELDS)}
    row["at"] = iso_utc(row["at"])
    if row["sealed_at"] is not None:
        row["sealed_at"] = iso_utc(row["sealed_at"])
    return row


def _jsonl(rows: Iterator[dict]) -> Iterator[str]:
    for item in rows:
        yield json.dumps(_as_export(item), ensure_ascii=False, sort_keys=True) + "\n"


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value) -> str:
    text = "" if value is None else (json.dumps(value, sort_keys=True) if isinstance(value, dict) else str(value))
    # A spreadsheet would run a cell starting with these as a formula (CSV injection); names
    # and user agents in the trail are chosen by users.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv(rows: Iterator[dict]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow((*EXPORT_FIELDS, *DERIVED_FIELDS))
    for item in rows:
        row = _as_export(item)
        yield writer.writerow([_cell(row[name]) for name in (*EXPORT_FIELDS, *DERIVED_FIELDS)])


@require_GET
@never_cache
@login_required
def checkpoints(request: HttpRequest) -> HttpResponse:
    """Every signed checkpoint, in the format `audit verify --checkpoints` reads back."""
    audit_viewer_scope(request.user, path=request.path)
    document = checkpoint_document()
    record(Action.AUDIT_EXPORTED, actor=request.user, target=TRAIL_TARGET,
           details={"format": "checkpoints", "count": len(document["checkpoints"])})  # fmt: skip
    response = HttpResponse(json.dumps(document, indent=1), content_type="application/json")
    response["Content-Disposition"] = 'attachment; filename="accord-audit-checkpoints.json"'
    return response


@require_GET
def public_key(request: HttpRequest) -> HttpResponse:
    """The checkpoint-verification key: public by nature, so served to anyone."""
    try:
        key = signing.load()
    except signing.SigningKeyMissing:
        raise Http404("No signing key configured") from None
    response = HttpResponse(signing.public_pem(key.public), content_type="application/x-pem-file")
    response["X-Key-Id"] = key.key_id
    response["Content-Disposition"] = f'inline; filename="accord-audit-{key.key_id}.pem"'
    return response
