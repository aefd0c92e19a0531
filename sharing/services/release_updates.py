"""Passing a newer revision on to a partner: the originator's release officer approves (or
declines) the update of a live release from the page that shows the difference.

A release pins the revision its officer approved (`Release.revision`); the partner reads that
revision until an update is approved here. Approval re-checks every rule the original approval
checked, against the document as it is now (agreement in force and covering it, recipient a
party, releasability including the recipient organisation's country, the release's expiry), so
an update can never carry more than a fresh release could.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from accounts.roles import Role, has_role
from audit.models import Action
from audit.reasons import Reason, Refusal
from audit.services import record, refuse
from outbox.services import enqueue

from ..housekeeping_tasks import send_release_update_notice
from ..models import Document, DocumentRevision, Release
from ..policy import can_read, secondee_crossing_refusal
from .releases import approval_refusal, latest_revision, sync_grants

Status = Release.Status


def awaiting_update(releases: QuerySet[Release]) -> QuerySet[Release]:
    """The approved releases whose document has a revision newer than the one pinned and than
    the one last declined (`Document.revision` is always the latest revision's number)."""
    return releases.filter(status=Status.APPROVED, document__revision__gt=F("revision__number")).filter(
        Q(declined_revision__isnull=True) | Q(declined_revision__number__lt=F("document__revision"))
    )


def pending_update(release: Release) -> DocumentRevision | None:
    """The latest revision, when it is newer than what the partner reads and not declined.

    Only the originator's side may ask: a partner learns nothing of newer revisions.
    """
    if release.status != Status.APPROVED or release.revision_id is None:
        return None
    latest = latest_revision(release.document_id)
    pinned = release.revision.number
    declined = release.declined_revision.number if release.declined_revision_id else 0
    if latest is None or latest.number <= max(pinned, declined):
        return None
    return latest


def _authors_since(release: Release, latest: DocumentRevision) -> set[int]:
    revisions = DocumentRevision.objects.filter(
        document_id=release.document_id, number__gt=release.revision.number, number__lte=latest.number
    )
    return set(revisions.values_list("author_id", flat=True))


def _check(actor, release: Release, action: str, shown: int | None) -> DocumentRevision:
    """Who may decide, and what: a release officer of the originator who reads the document and
    wrote none of the update (two people, as for a release), deciding the revision they saw."""
    originator = release.document.originator
    if actor.organisation_id != originator.pk or not has_role(actor, Role.RELEASE_OFFICER, originator):
        refuse(actor, action, release, Reason.NOT_A_RELEASE_OFFICER_OF_ORIGINATOR, error=PermissionDenied)
    decision = can_read(actor, release.document)
    if not decision:
        refuse(actor, action, release, decision.refusal, error=PermissionDenied)
    latest = pending_update(release)
    if latest is None:
        refuse(actor, action, release, Reason.NO_UPDATE_PENDING)
    if shown is not None and shown != latest.number:
        # The officer approves what the page showed them, never a revision written since.
        refuse(actor, action, release, Reason.UPDATE_CHANGED_SINCE_SHOWN.because(latest=latest.number))
    if actor.pk in _authors_since(release, latest):
        refuse(actor, action, release, Reason.AUTHOR_DECIDES_UPDATE, error=PermissionDenied)
    return latest


def _rules_refusal(release: Release, now) -> Refusal | None:
    """The original approval's rules, against the document as it is now."""
    if release.document.status == Document.Status.WITHDRAWN:
        return Refusal(Reason.WITHDRAWN)
    return approval_refusal(release, now)


def release_update_approve(*, actor, release: Release, revision: int | None = None, reason: str = "") -> Release:
    """Move the release to the latest revision (`revision`: the number the officer was shown),
    then tell the partner's readers who may read it. Every refusal is audited."""
    action = Action.RELEASE_UPDATE_APPROVED
    latest = _check(actor, release, action, revision)
    now = timezone.now()
    # A secondee never passes material on to the other side of their secondment, by request or
    # by approval.
    refusal = _rules_refusal(release, now) or secondee_crossing_refusal(actor, release.recipient)
    if refusal:
        refuse(actor, action, release, refusal)
    with transaction.atomic():
        locked = Release.objects.select_for_update().get(pk=release.pk)
        # The document's lock orders the approval against an edit or a withdrawal made meanwhile.
        document = Document.objects.select_for_update().get(pk=locked.document_id)
        if locked.status != Status.APPROVED:
            refusal = Refusal(Reason.RELEASE_DECIDED_MEANWHILE)
        elif document.revision != latest.number:
            refusal = Reason.UPDATE_CHANGED_SINCE_SHOWN.because(latest=document.revision)
        elif document.status == Document.Status.WITHDRAWN:
            refusal = Refusal(Reason.WITHDRAWN)
        else:
            was = locked.revision.number
            locked.revision, locked.declined_revision = latest, None
            locked.save(update_fields=["revision", "declined_revision"])
            granted = sync_grants(document_ids=[locked.document_id])
            details = {"reason": reason.strip(), "from_revision": was, "revision": latest.number, **granted}
            record(action, actor=actor, target=locked, details=details)
            enqueue(send_release_update_notice.name, args=[locked.pk])
    if refusal:
        refuse(actor, action, release, refusal)
    release.refresh_from_db()
    return release


def release_update_decline(*, actor, release: Release, revision: int | None = None, reason: str) -> Release:
    """Keep the partner on the revision they read; the update stops showing as pending until a
    newer revision is written. A reason is required, for the author and the trail."""
    action = Action.RELEASE_UPDATE_DECLINED
    latest = _check(actor, release, action, revision)
    if not reason.strip():
        refuse(actor, action, release, Reason.DECLINE_REASON_REQUIRED)
    with transaction.atomic():
        locked = Release.objects.select_for_update().get(pk=release.pk)
        if locked.status != Status.APPROVED or locked.revision_id != release.revision_id:
            refusal = Refusal(Reason.RELEASE_DECIDED_MEANWHILE)
        else:
            refusal = None
            locked.declined_revision = latest
            locked.save(update_fields=["declined_revision"])
            details = {"reason": reason.strip(), "revision": latest.number, "kept_revision": locked.revision.number}
            record(action, actor=actor, target=locked, details=details)
    if refusal:
        refuse(actor, action, release, refusal)
    release.refresh_from_db()
    return release
