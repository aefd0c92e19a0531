"""Releases: a request to show one document to a partner, decided by the originator's release officer.

Guardian `view_document` rows are derived from releases: one to the recipient organisation's
group for a whole-organisation release, one per named user for a narrowed one. They are
created on approval and removed when no live release supports them any more (revocation,
expiry, the agreement ending). The read policy never trusts a row alone: it also needs the
live release, so a revoked release stops access before any row is removed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts.models import Organisation
from accounts.roles import Role, has_role
from audit.models import Action
from audit.reasons import Reason, Refusal
from audit.services import record, refuse
from outbox.services import enqueue

from .. import scope
from ..housekeeping_tasks import send_release_notice, send_release_suspended_notice
from ..models import (
    Document,
    DocumentGroupObjectPermission,
    DocumentRevision,
    DocumentUserObjectPermission,
    Release,
    SharingAgreement,
)
from ..policy import (
    REVOCABLE,
    VIEW_DOCUMENT,
    can_approve_release,
    can_read,
    can_request_release,
    can_revoke_release,
    secondee_crossing_refusal,
)
from ..visibility import keep

Status = Release.Status
# Releases that keep their grants: approved under an agreement that has not ended. A suspended
# agreement keeps them (the policy denies access meanwhile) so that resuming restores access.
# Releases that stand until someone ends them: a suspended one waits for its release officer.
LIVE = [Status.REQUESTED, Status.APPROVED, Status.SUSPENDED]
SUPPORTING = Q(status=Status.APPROVED, agreement__status__in=[SharingAgreement.Status.ACTIVE, "suspended"])


def _view_permission() -> Permission:
    return Permission.objects.get(codename=VIEW_DOCUMENT, content_type__app_label="sharing")


def release_request_refusal(
    *,
    actor,
    document: Document,
    agreement: SharingAgreement,
    recipients: Iterable[Organisation],
    audience: Iterable = (),
    justification: str,
    expires_at: datetime | None,
    now: datetime,
) -> Refusal | None:
    """Why `release_request` would refuse this request now, or None when it would accept it.

    The single statement of the request rules: `release_request` calls it before writing, and
    pages call it to show, before anything is sent, which recipients are eligible and why the
    others are not. It reads only (no audit row, no change); the caller audits a refusal it acts on.
    """
    recipients = list(recipients)
    audience = list(audience)
    decision = can_request_release(actor, document, agreement)
    if not decision:
        return decision.refusal
    refusal = scope.agreement_refusal(agreement, now)
    if refusal:
        return refusal
    parties = scope.party_ids(agreement)
    if actor.organisation_id not in parties:
        return Refusal(Reason.REQUESTER_NOT_A_PARTY)
    refusal = scope.scope_refusal(agreement, document, parties)
    if refusal:
        return refusal
    if not justification.strip():
        return Refusal(Reason.JUSTIFICATION_REQUIRED)
    if expires_at is not None and expires_at <= now:
        return Refusal(Reason.EXPIRES_BEFORE_START)
    if expires_at is not None and expires_at >= agreement.expires_at:
        # Access ends with the agreement anyway; a later date would promise what cannot hold.
        return Reason.EXPIRES_AFTER_AGREEMENT.because(agreement_expires=f"{agreement.expires_at:%Y-%m-%d %H:%M}")
    if not recipients:
        return Refusal(Reason.NO_RECIPIENT)
    for org in recipients:
        if org.pk in (document.originator_id, actor.organisation_id):
            return Reason.RECIPIENT_HOLDS_DOCUMENT.because(organisation=str(org))
        if not org.is_active:
            return Reason.RECIPIENT_INACTIVE.because(organisation=str(org))
        if org.pk not in parties:
            return Reason.ORGANISATION_NOT_A_PARTY_TO_AGREEMENT.because(organisation=str(org))
        refusal = scope.releasability_refusal(document, org) or secondee_crossing_refusal(actor, org)
        if refusal:
            return refusal
    if audience:
        recipient_ids = {org.pk for org in recipients}
        if any(user.organisation_id not in recipient_ids or not user.is_active for user in audience):
            return Refusal(Reason.AUDIENCE_NOT_RECIPIENT_MEMBERS)
        if recipient_ids - {user.organisation_id for user in audience}:
            return Refusal(Reason.AUDIENCE_MISSES_RECIPIENT)
    live = Release.objects.filter(document=document, agreement=agreement, recipient__in=recipients, status__in=LIVE)
    if live.exists():
        return Refusal(Reason.ALREADY_REQUESTED)
    return None


def release_request(
    *,
    actor,
    document: Document,
    agreement: SharingAgreement,
    recipients: Iterable[Organisation],
    audience: Iterable | None = None,
    justification: str,
    expires_at: datetime | None = None,
) -> list[Release]:
    """Ask to release `document` to each recipient; refused at once if the agreement cannot carry it.

    Refusals (agreement not in force, tier above ceiling, topic outside the agreement,
    recipient's country not releasable, recipient not a party, document not published, ORCON or
    no onward sharing for a non-originator) raise ValidationError after an audited denial.
    """
    recipients = list({org.pk: org for org in recipients}.values())
    audience = list({user.pk: user for user in (audience or [])}.values())
    refusal = release_request_refusal(
        actor=actor,
        document=document,
        agreement=agreement,
        recipients=recipients,
        audience=audience,
        justification=justification,
        expires_at=expires_at,
        now=timezone.now(),
    )
    details = {"agreement": agreement.reference, "recipients": sorted(org.short_name for org in recipients)}
    if refusal:
        refuse(actor, Action.RELEASE_REQUESTED, document, refusal, details=details)
    releases = []
    with transaction.atomic():
        for org in recipients:
            release = Release(
                document=document,
                agreement=agreement,
                recipient=org,
                justification=justification.strip(),
                requested_by=actor,
                expires_at=expires_at,
            )
            release.full_clean()
            release.save()
            named = [user for user in audience if user.organisation_id == org.pk]
            release.audience.set(named)
            record(
                Action.RELEASE_REQUESTED,
                actor=actor,
                target=release,
                details={
                    **details,
                    "document": str(document.code),
                    "recipient": org.short_name,
                    "audience": sorted(str(user.code) for user in named),
                    "expires_at": expires_at.isoformat() if expires_at else None,
                },
            )
            releases.append(release)
    return releases


def _decide(*, actor, release: Release, approve: bool, reason: str) -> Release:
    action = Action.RELEASE_APPROVED if approve else Action.RELEASE_REFUSED
    decision = can_approve_release(actor, release)
    if not decision:
        error = ValidationError if release.status != Status.REQUESTED else PermissionDenied
        refuse(actor, action, release, decision.refusal, error=error)
    if not approve and not reason.strip():
        refuse(actor, action, release, Reason.REFUSAL_REASON_REQUIRED)
    now = timezone.now()
    if approve:
        # Withdrawn means frozen: a request left pending when its document was withdrawn is
        # refused or left, never approved.
        if release.document.status == Document.Status.WITHDRAWN:
            refuse(actor, action, release, Reason.WITHDRAWN, error=_withdrawn())
        # A secondee never passes material on to the other side of their secondment, by request
        # or by approval.
        refusal = approval_refusal(release, now) or secondee_crossing_refusal(actor, release.recipient)
        if refusal:
            refuse(actor, action, release, refusal)
    stale = withdrawn = False
    with transaction.atomic():
        locked = Release.objects.select_for_update().get(pk=release.pk)
        if approve:
            # The document's row lock orders an approval against a withdrawal of the document.
            status = Document.objects.select_for_update().values_list("status", flat=True).get(pk=locked.document_id)
            withdrawn = status == Document.Status.WITHDRAWN
        if locked.status != Status.REQUESTED or withdrawn:
            stale = True
        else:
            locked.status = Status.APPROVED if approve else Status.REFUSED
            locked.decided_by, locked.decided_at, locked.decision_reason = actor, now, reason.strip()
            fields = ["status", "decided_by", "decided_at", "decision_reason"]
            extra = {}
            if approve:
                # The officer approves what the document says now; later edits wait for an update.
                locked.revision = latest_revision(locked.document_id)
                fields.append("revision")
                extra["revision"] = locked.revision.number
            locked.save(update_fields=fields)
            granted = sync_grants(document_ids=[locked.document_id]) if approve else {}
            record(action, actor=actor, target=locked, details={"reason": reason.strip(), **extra, **granted})
            if approve:
                # Through the outbox, in this transaction: the notice is recorded with the
                # approval, so a broker that is down at commit delays it, never loses it.
                enqueue(send_release_notice.name, args=[locked.pk])
    if withdrawn:
        refuse(actor, action, release, Reason.WITHDRAWN, error=_withdrawn())
    if stale:
        refuse(actor, action, release, Reason.RELEASE_DECIDED_MEANWHILE)
    release.refresh_from_db()
    return release


def approval_refusal(release: Release, now: datetime) -> Refusal | None:
    """Why the agreement cannot carry `release`'s document, as marked now, to its recipient:
    re-checked at approval and at an update's approval, before any grant is made, since the
    agreement and the marking may have changed since the request (re-marked EYES ONLY)."""
    agreement = release.agreement
    parties = scope.party_ids(agreement)
    refusal = scope.agreement_refusal(agreement, now) or scope.scope_refusal(agreement, release.document, parties)
    if refusal is None and release.recipient_id not in parties:
        refusal = Refusal(Reason.RECIPIENT_NOT_A_PARTY)
    if refusal is None:
        refusal = scope.releasability_refusal(release.document, release.recipient)
    if refusal is None and release.expires_at is not None and release.expires_at <= now:
        refusal = Refusal(Reason.RELEASE_EXPIRY_PASSED)
    return refusal


def latest_revision(document_id: int) -> DocumentRevision:
    return DocumentRevision.objects.filter(document_id=document_id).order_by("-number").first()


def _withdrawn() -> ValidationError:
    return ValidationError("The document has been withdrawn; its release cannot be approved.", code=Reason.WITHDRAWN)


def release_approve(*, actor, release: Release, reason: str = "") -> Release:
    """Approve: grant view_document to the recipient's group (or the named readers), then tell them."""
    return _decide(actor=actor, release=release, approve=True, reason=reason)


def release_refuse(*, actor, release: Release, reason: str) -> Release:
    """Refuse a request, with a reason. Same officers as approval."""
    return _decide(actor=actor, release=release, approve=False, reason=reason)


def release_revoke(*, actor, release: Release, reason: str) -> Release:
    """Withdraw an approved or suspended release. Access ends at once (a suspended one had none);
    its guardian rows go in the same transaction."""
    decision = can_revoke_release(actor, release)
    if not decision:
        error = ValidationError if release.status not in REVOCABLE else PermissionDenied
        refuse(actor, Action.RELEASE_REVOKED, release, decision.refusal, error=error)
    if not reason.strip():
        refuse(actor, Action.RELEASE_REVOKED, release, Reason.REVOCATION_REASON_REQUIRED)
    with transaction.atomic():
        locked = Release.objects.select_for_update().get(pk=release.pk)
        if locked.status in REVOCABLE:
            was = locked.status
            locked.status, locked.revoked_by, locked.revoked_at = Status.REVOKED, actor, timezone.now()
            locked.save(update_fields=["status", "revoked_by", "revoked_at"])
            removed = sync_grants(document_ids=[locked.document_id])
            details = {"reason": reason.strip(), "was": was, **removed}
            record(Action.RELEASE_REVOKED, actor=actor, target=locked, details=details)
    release.refresh_from_db()
    return release


def out_of_scope(release: Release, document: Document, now: datetime) -> Refusal | None:
    """Why the agreement of `release` can no longer carry `document` as now marked to its
    recipient (tier above the ceiling, a topic outside, the recipient's country not releasable)."""
    return scope.scope_refusal(release.agreement, document, scope.party_ids(release.agreement)) or (
        scope.releasability_refusal(document, release.recipient)
    )


def suspend_out_of_scope(*, actor, document: Document) -> int:
    """After a re-mark, suspend each approved release the new marking takes out of scope, with
    its reason, and tell both sides; called inside the re-mark's transaction. Re-marking back
    restores nothing: only the originator's release officer reinstates (`release_reinstate`)."""
    now = timezone.now()
    suspended = 0
    releases = Release.objects.select_for_update().filter(document=document, status=Status.APPROVED)
    for release in releases.select_related("agreement__tier_ceiling", "recipient"):
        refusal = out_of_scope(release, document, now)
        if refusal is None:
            continue
        release.status, release.suspended_at, release.suspension_reason = Status.SUSPENDED, now, refusal.reason
        release.save(update_fields=["status", "suspended_at", "suspension_reason"])
        record(
            Action.RELEASE_SUSPENDED,
            actor=actor,
            target=release,
            organisation_id=document.originator_id,
            details={"reason": refusal.reason.value, **refusal.params, "recipient": release.recipient.short_name},
        )
        enqueue(send_release_suspended_notice.name, args=[release.pk])
        suspended += 1
    if suspended:
        sync_grants(document_ids=[document.pk])
    return suspended


def release_reinstate(*, actor, release: Release, reason: str = "") -> Release:
    """The originator's release officer lifts a suspension, once the marking is back in scope."""
    action = Action.RELEASE_REINSTATED
    if release.status != Status.SUSPENDED:
        refuse(actor, action, release, Reason.RELEASE_NOT_SUSPENDED.because(status=release.status))
    originator = release.document.originator
    if actor.organisation_id != originator.pk or not has_role(actor, Role.RELEASE_OFFICER, originator):
        refuse(actor, action, release, Reason.NOT_A_RELEASE_OFFICER_OF_ORIGINATOR, error=PermissionDenied)
    decision = can_read(actor, release.document)
    if not decision:
        refuse(actor, action, release, decision.refusal, error=PermissionDenied)
    now = timezone.now()
    refusal = scope.agreement_refusal(release.agreement, now) or out_of_scope(release, release.document, now)
    if refusal is None and release.expires_at is not None and release.expires_at <= now:
        refusal = Refusal(Reason.RELEASE_EXPIRY_PASSED)
    refusal = refusal or secondee_crossing_refusal(actor, release.recipient)
    if refusal:
        refuse(actor, action, release, refusal)
    with transaction.atomic():
        locked = Release.objects.select_for_update().get(pk=release.pk)
        if locked.status != Status.SUSPENDED:
            refusal = Reason.RELEASE_NOT_SUSPENDED.because(status=locked.status)
        else:
            was = locked.suspension_reason
            locked.status, locked.suspended_at, locked.suspension_reason = Status.APPROVED, None, ""
            locked.save(update_fields=["status", "suspended_at", "suspension_reason"])
            granted = sync_grants(document_ids=[locked.document_id])
            record(action, actor=actor, target=locked, details={"reason": reason.strip(), "was": was, **granted})
            enqueue(send_release_notice.name, args=[locked.pk])
    if refusal:
        refuse(actor, action, release, refusal)
    release.refresh_from_db()
    return release


def release_expire(*, release: Release, now: datetime | None = None) -> bool:
    """Record that an approved release passed its expiry date and drop its grants. Idempotent."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Release.objects.select_for_update().get(pk=release.pk)
        if locked.status != Status.APPROVED or locked.expires_at is None or locked.expires_at > now:
            return False
        locked.status = Status.EXPIRED
        locked.save(update_fields=["status"])
        removed = sync_grants(document_ids=[locked.document_id])
        record(Action.RELEASE_EXPIRED, target=locked, details={"expires_at": locked.expires_at.isoformat(), **removed})
    return True


def end_releases_under(agreement: SharingAgreement, *, why: str) -> int:
    """End the open and approved releases of an agreement that has ended; called inside its transaction."""
    ending = list(Release.objects.filter(agreement=agreement, status__in=LIVE))
    for release in ending:
        release.status = Status.EXPIRED
        release.save(update_fields=["status"])
        record(Action.RELEASE_EXPIRED, target=release, details={"agreement": agreement.reference, "because": why})
    if ending:
        sync_grants(document_ids={release.document_id for release in ending})
    return len(ending)


def sync_grants(*, document_ids: Iterable[int] | None = None) -> dict[str, int]:
    """Make the view_document rows match the supporting releases (all documents when None),
    then the kept visibility of the documents concerned (`sharing.visibility`).

    A group row is supported by a whole-organisation release to that group's organisation; a
    user row by a narrowed release naming the user, to the user's current organisation.
    """
    permission = _view_permission()
    supporting = Release.objects.filter(SUPPORTING, document_id=OuterRef("content_object_id"))
    audience = Release.audience.through.objects.filter(release_id=OuterRef("pk"))
    group_rows = DocumentGroupObjectPermission.objects.filter(permission=permission)
    user_rows = DocumentUserObjectPermission.objects.filter(permission=permission)
    if document_ids is not None:
        document_ids = list(document_ids)
        group_rows = group_rows.filter(content_object_id__in=document_ids)
        user_rows = user_rows.filter(content_object_id__in=document_ids)
    whole_org = supporting.filter(recipient__group=OuterRef("group_id")).exclude(Exists(audience))
    named = supporting.filter(recipient_id=OuterRef("user__organisation_id")).filter(
        Exists(audience.filter(user_id=OuterRef(OuterRef("user_id"))))
    )
    stale_groups, stale_users = group_rows.exclude(Exists(whole_org)), user_rows.exclude(Exists(named))
    touched = set(document_ids) if document_ids is not None else set()
    if document_ids is None:  # the tidy-up: only the documents that lose a row change
        touched.update(stale_groups.values_list("content_object_id", flat=True))
    removed_groups, _ = stale_groups.delete()
    removed_users, _ = stale_users.delete()
    added = 0
    if document_ids is not None:
        for release in Release.objects.filter(SUPPORTING, document_id__in=document_ids).select_related("recipient"):
            readers = list(release.audience.filter(organisation_id=release.recipient_id))
            if not release.audience.exists():
                _, made = DocumentGroupObjectPermission.objects.get_or_create(
                    group_id=release.recipient.group_id, permission=permission, content_object_id=release.document_id
                )
                added += made
            for user in readers:
                _, made = DocumentUserObjectPermission.objects.get_or_create(
                    user=user, permission=permission, content_object_id=release.document_id
                )
                added += made
    # Every change to a release reaches here: the kept visibility follows in the same transaction.
    keep(touched)
    return {"grants_added": added, "grants_removed": removed_groups + removed_users}
