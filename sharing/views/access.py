"""A document's access history, for its originator: who listed, read, downloaded or was refused
it, from which organisation, which revision, when — as a page and as CSV.

Gate: `policy.document_for_access_history` (the originator organisation's admins; anyone else
gets the 404 of a missing document, audited). What of each event is shown is audit's one
selector (`audit.visibility.present`), as on the audit page and its exports: the title only if
the admin may read the document now.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.models import Organisation
from audit.models import Action, Outcome
from audit.selectors import EXPORT_FIELDS, events_about, page_of_events
from audit.services import record
from audit.views import export_response
from audit.visibility import Viewer, present
from sharing.policy import document_for_access_history
from sharing.selectors import document_relations

# What the history calls each kind of access; anything else is named by its action.
WHAT = {
    Action.DOCUMENT_LISTED: "listed",
    Action.DOCUMENT_VIEWED: "read",
    Action.ATTACHMENT_DOWNLOADED: "downloaded",
}


def _history(user, document):
    viewer = Viewer(user=user, organisation_ids=frozenset({document.originator_id}), portal_admin=False)
    return viewer, events_about("sharing.document", str(document.code), document_relations(document))


def _rows(events: list[dict]) -> list[dict]:
    names = dict(
        Organisation.objects.filter(pk__in={e["organisation_id"] for e in events}).values_list("pk", "short_name")
    )
    for event in events:
        event["what"] = "refused" if event["outcome"] == Outcome.DENIED else WHAT.get(event["action"], event["action"])
        event["organisation"] = names.get(event["organisation_id"], "")
        event["revision"] = event["details"].get("revision", "")
    return events


@require_GET
@never_cache
@login_required
def access_history(request: HttpRequest, code) -> HttpResponse:
    document = document_for_access_history(request.user, code)
    viewer, qs = _history(request.user, document)
    before = request.GET.get("before")
    rows, _, has_older = page_of_events(qs, before=int(before) if before and before.isdigit() else None, after=None)
    events = _rows(present(viewer, [{name: getattr(e, name) for name in EXPORT_FIELDS} for e in rows]))
    record(Action.AUDIT_VIEWED, actor=request.user, target=document, details={"view": "access history"})
    context = {"document": document, "events": events, "has_older": has_older}
    if events:
        context["older_cursor"] = events[-1]["seq"]
    return render(request, "sharing/documents/access.html", context)


@require_GET
@never_cache
@login_required
def access_history_export(request: HttpRequest, code) -> HttpResponse:
    document = document_for_access_history(request.user, code)
    viewer, qs = _history(request.user, document)
    event = record(Action.AUDIT_EXPORTED, actor=request.user, target=document,
                   details={"format": "csv", "view": "access history"})  # fmt: skip
    return export_response(viewer, qs, upto=event.seq, fmt="csv", name=f"accord-access-{document.code}")
