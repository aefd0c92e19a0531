"""The access policy: who may read, edit, release and download what.

CONTRACT (stable names other modules import; the full rules of DESIGN.md "Marking and access"
are implemented behind them):
- can_read(user, document) -> Decision
- readable_documents(user) -> QuerySet[Document]   (one SQL query, no per-row Python)
- can_edit / can_request_release / can_approve_release / can_download -> Decision
- document_for_reader(user, code) -> Document       (or Http404, denial audited)
- document_for_editor(user, code) -> Document       (or Http404 / PermissionDenied, audited)
- attachment_for_download(user, code) -> Attachment (or Http404, audited)

This first version only lets members of the originating organisation in; releases to partners
arrive with the agreements work.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from accounts.models import clearance_of
from audit.models import Action
from audit.services import record_denial

from .models import Attachment, Document


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


ALLOW = Decision(True, "allowed")


def _member_checks(user, document: Document) -> Decision:
    if not user.is_authenticated or not user.is_active:
        return Decision(False, "account inactive")
    if user.organisation_id != document.originator_id:
        return Decision(False, "not the originator")
    tier = clearance_of(user)
    if tier is None or tier.rank < document.tier.rank:
        return Decision(False, "clearance below tier")
    return ALLOW


def can_read(user, document: Document) -> Decision:
    return _member_checks(user, document)


def readable_documents(user) -> QuerySet[Document]:
    if not user.is_authenticated or not user.is_active or user.organisation_id is None:
        return Document.objects.none()
    tier = clearance_of(user)
    if tier is None:
        return Document.objects.none()
    return Document.objects.filter(originator_id=user.organisation_id, tier__rank__lte=tier.rank)


def can_edit(user, document: Document) -> Decision:
    decision = _member_checks(user, document)
    if not decision:
        return decision
    if not user.has_perm("accounts.author_document", document.originator):
        return Decision(False, "not an author")
    return ALLOW


def can_download(user, attachment: Attachment) -> Decision:
    if attachment.document is None:
        return Decision(False, "not a document attachment")
    decision = can_read(user, attachment.document)
    if not decision:
        return decision
    if attachment.scan_status != Attachment.ScanStatus.CLEAN:
        return Decision(False, "attachment not clean")
    if attachment.is_destroyed:
        return Decision(False, "attachment destroyed")
    return ALLOW


def document_for_reader(user, code) -> Document:
    """The document if `user` may read it; 404 (audited) when missing or forbidden alike."""
    document = Document.objects.select_related("tier", "originator").filter(code=code).first()
    decision = can_read(user, document) if document else Decision(False, "no such document")
    if not decision:
        record_denial(
            Action.ACCESS_DENIED,
            actor=user,
            target=document or ("sharing.document", code, ""),
            details={"reason": decision.reason, "wanted": "read"},
        )
        raise Http404("No such document.")
    return document


def document_for_editor(user, code) -> Document:
    """The document if `user` may edit it; 404 if they may not read it, 403 if read-only."""
    document = document_for_reader(user, code)
    decision = can_edit(user, document)
    if not decision:
        record_denial(
            Action.ACCESS_DENIED, actor=user, target=document, details={"reason": decision.reason, "wanted": "edit"}
        )
        raise PermissionDenied(decision.reason)
    return document


def attachment_for_download(user, code) -> Attachment:
    """The attachment if `user` may download it; 404 (audited) otherwise."""
    attachment = Attachment.objects.select_related("document__tier", "document__originator").filter(code=code).first()
    decision = can_download(user, attachment) if attachment else Decision(False, "no such attachment")
    if not decision:
        record_denial(
            Action.ACCESS_DENIED,
            actor=user,
            target=attachment or ("sharing.attachment", code, ""),
            details={"reason": decision.reason, "wanted": "download"},
        )
        raise Http404("No such attachment.")
    return attachment
