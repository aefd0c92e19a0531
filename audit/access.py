"""Who may read the audit trail, and how much of it."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import Http404

from .models import Action
from .registry import trail_readers
from .services import record_denial

TRAIL_TARGET = ("audit.trail", "", "audit trail")


@dataclass(frozen=True)
class ViewerScope:
    """`everything` for portal admins; otherwise the organisations whose trail may be read."""

    everything: bool
    organisation_ids: frozenset[int]

    def organisations(self):
        qs = trail_readers().organisations()
        return qs if self.everything else qs.filter(pk__in=self.organisation_ids)


def audit_viewer_scope(user, *, path: str = "") -> ViewerScope:
    """The audit trail is read by portal admins (all of it) and by organisation admins (events
    by or about their own organisation's people). Anyone else gets the same 404 as a page that
    does not exist — the viewer's existence is not advertised — and the attempt is audited.
    Who is which is accounts' to say (`registry.TrailReaders`, set in its AppConfig.ready())."""
    readers = trail_readers()
    if readers.reads_everything(user):
        return ViewerScope(everything=True, organisation_ids=frozenset())
    org_ids = readers.organisation_ids(user) if user.is_active else frozenset()
    if org_ids:
        return ViewerScope(everything=False, organisation_ids=org_ids)
    record_denial(Action.ACCESS_DENIED, actor=user, target=TRAIL_TARGET, details={"path": path[:200]})
    raise Http404("No such page")
