"""Who may read the audit trail, and how much of it."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import Http404

from accounts.models import Organisation
from accounts.roles import Role, is_portal_admin, organisations_where

from .models import Action
from .services import record_denial

TRAIL_TARGET = ("audit.trail", "", "audit trail")


@dataclass(frozen=True)
class ViewerScope:
    """`everything` for portal admins; otherwise the organisations whose trail may be read."""

    everything: bool
    organisation_ids: frozenset[int]

    def organisations(self):
        qs = Organisation.objects.order_by("short_name")
        return qs if self.everything else qs.filter(pk__in=self.organisation_ids)


def managed_organisation_ids(user) -> frozenset[int]:
    return frozenset(organisations_where(user, Role.ORG_ADMIN).values_list("pk", flat=True))


def audit_viewer_scope(user, *, path: str = "") -> ViewerScope:
    """The audit trail is read by portal admins (all of it) and by organisation admins (events
    by or about their own organisation's people). Anyone else gets the same 404 as a page that
    does not exist — the viewer's existence is not advertised — and the attempt is audited."""
    if is_portal_admin(user):
        return ViewerScope(everything=True, organisation_ids=frozenset())
    org_ids = managed_organisation_ids(user) if user.is_active else frozenset()
    if org_ids:
        return ViewerScope(everything=False, organisation_ids=org_ids)
    record_denial(Action.ACCESS_DENIED, actor=user, target=TRAIL_TARGET, details={"path": path[:200]})
    raise Http404("No such page")
