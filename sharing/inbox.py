"""Selectors for the home page: what needs the signed-in person now.

Every list of documents here is cut down to `readable_documents(user)`, so the home page never
shows the title of something its reader may not read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import ClearanceGrant, Tier, clearance_of
from accounts.roles import Role, has_role
from sharing.models import Document, MarkingProposal, Release, SharingAgreement
from sharing.policy import readable_documents, show_released
from sharing.services.release_updates import awaiting_update
from sharing.views.banners import MARKING_PREFETCH, MARKING_SELECT

NEW_RELEASE_DAYS = 14
CLEARANCE_WARNING_DAYS = 30
AGREEMENT_WARNING_DAYS = 60
LIMIT = 10


@dataclass
class Inbox:
    new_releases: list[Release] = field(default_factory=list)
    awaiting_approval: list[Release] = field(default_factory=list)
    updates_pending: list[Release] = field(default_factory=list)
    lower_markings: list[MarkingProposal] = field(default_factory=list)
    # Releases to this organisation a re-mark suspended: shown by neutral reference only (the
    # document's code, the release's), never the title, banner or reason, which the partner
    # may not read now. Not in `documents`: they put nothing on the page's banner.
    suspended_to_us: list[Release] = field(default_factory=list)
    drafts: list[Document] = field(default_factory=list)
    expiring_clearances: list[ClearanceGrant] = field(default_factory=list)
    # The person's own clearance now (None: they hold none, and read nothing marked).
    clearance: Tier | None = None
    expiring_agreements: list[SharingAgreement] = field(default_factory=list)
    is_release_officer: bool = False
    is_org_admin: bool = False
    is_author: bool = False

    @property
    def documents(self) -> list[Document]:
        """Every document the page shows, for its banner."""
        docs = [r.document for r in self.new_releases] + [r.document for r in self.awaiting_approval]
        docs += [r.document for r in self.updates_pending] + [p.document for p in self.lower_markings]
        return docs + list(self.drafts)


def _releases(user, readable: QuerySet[Document]) -> QuerySet[Release]:
    return (
        Release.objects.filter(document__in=readable)
        .select_related(*(f"document__{name}" for name in MARKING_SELECT), "recipient", "agreement")
        .prefetch_related(*(f"document__{name}" for name in MARKING_PREFETCH))
    )


def inbox_for(user) -> Inbox:
    now = timezone.now()
    organisation = user.organisation
    readable = readable_documents(user)
    inbox = Inbox()
    if organisation is None:
        return inbox
    inbox.is_release_officer = has_role(user, Role.RELEASE_OFFICER, organisation)
    inbox.is_org_admin = has_role(user, Role.ORG_ADMIN, organisation)
    inbox.is_author = has_role(user, Role.AUTHOR, organisation)
    inbox.new_releases = list(
        _releases(user, readable)
        .filter(
            recipient=organisation,
            status=Release.Status.APPROVED,
            decided_at__gte=now - timedelta(days=NEW_RELEASE_DAYS),
        )
        .select_related("revision__tier")
        .order_by("-decided_at")[:LIMIT]
    )
    inbox.suspended_to_us = list(
        Release.objects.filter(recipient=organisation, status=Release.Status.SUSPENDED)
        .filter(Q(audience=None) | Q(audience=user))
        .select_related("document__originator", "agreement")
        .order_by("-suspended_at")
        .distinct()[:LIMIT]
    )
    for release in inbox.new_releases:
        # Released to this organisation: it reads the revision the release pins.
        if release.revision is not None:
            show_released(release.document, release.revision, release.decided_at)
    if inbox.is_release_officer:
        # Two-person rule: an officer never approves their own request, so it is not theirs to do.
        inbox.awaiting_approval = list(
            _releases(user, readable)
            .filter(document__originator=organisation, status=Release.Status.REQUESTED)
            .exclude(requested_by=user)
            .order_by("requested_at")[:LIMIT]
        )
        # Newer revisions of released documents wait for an officer before partners read them.
        inbox.updates_pending = list(
            awaiting_update(_releases(user, readable).filter(document__originator=organisation))
            .select_related("revision")
            .order_by("document__updated_at")[:LIMIT]
        )
        # Two people for a lower marking: never the proposer's own.
        inbox.lower_markings = list(
            MarkingProposal.objects.filter(
                document__in=readable, document__originator=organisation, status=MarkingProposal.Status.PENDING
            )
            .exclude(proposed_by=user)
            .select_related("proposed_by", *(f"document__{name}" for name in MARKING_SELECT))
            .prefetch_related(*(f"document__{name}" for name in MARKING_PREFETCH))
            .order_by("proposed_at")[:LIMIT]
        )
    inbox.drafts = list(
        readable.filter(author=user, status=Document.Status.DRAFT)
        .select_related(*MARKING_SELECT)
        .prefetch_related(*MARKING_PREFETCH)
        .order_by("-updated_at")[:LIMIT]
    )
    soon = now + timedelta(days=CLEARANCE_WARNING_DAYS)
    grants = ClearanceGrant.objects.valid_at(now).filter(valid_until__lte=soon).select_related("user", "tier")
    if inbox.is_org_admin:
        grants = grants.filter(user__organisation=organisation)
    else:
        grants = grants.filter(user=user)
    inbox.expiring_clearances = list(grants.order_by("valid_until")[:LIMIT])
    inbox.clearance = clearance_of(user)
    inbox.expiring_agreements = list(
        SharingAgreement.objects.filter(
            parties=organisation,
            status=SharingAgreement.Status.ACTIVE,
            expires_at__gt=now,
            expires_at__lte=now + timedelta(days=AGREEMENT_WARNING_DAYS),
        ).order_by("expires_at")[:LIMIT]
    )
    return inbox
