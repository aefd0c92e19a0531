"""The access policy: who may read, edit, release and download what.

CONTRACT (stable names other modules import):
- can_read(user, document) -> Decision
- readable_documents(user) -> QuerySet[Document]   (one SQL query, no per-row Python)
- can_edit / can_request_release / can_approve_release / can_revoke_release / can_download -> Decision
- document_for_reader(user, code) -> Document       (or Http404, denial audited)
- document_for_editor(user, code) -> Document       (or Http404 / PermissionDenied, audited)
- attachment_for_download(user, code) -> Attachment (or Http404, audited)
- attachment_for_editor(user, code) -> Attachment  (or Http404 / PermissionDenied, audited)
- attachments_read(document) -> QuerySet[Attachment] (the files of the revision a reader reads)
- readable_attachments(user) -> QuerySet[Attachment] (every file `user` may see, one query)
- read_revisions(user) -> QuerySet[DocumentRevision] (the revision a partner reads, per document)
- mou_for_party(user, agreement_code) -> Attachment (the agreement's signed MoU, or Http404, audited)
- document_for_access_history(user, code) -> Document (its originator's admins only; else Http404, audited)
- marking_proposal_for_originator(user, code) -> MarkingProposal (the originator's readers; else Http404)
- release_for_update(user, code) -> Release          (the originator's release officers; else 404/403, audited)
- account_gate(user) -> Decision                     (gate 1 alone, shared with exercises/policy.py)

A user may READ a document only when every gate passes (deny by default), decided at the
moment of the request:
1. the account is signed in, active, MFA-verified (when the request says), and belongs to an
   active organisation;
2. the user's organisation is the originator, or the document is published and the
   organisation holds a live release of it (approved, not revoked, not past its expiry, naming
   no audience or naming this user) under an agreement in force now (active, now within its
   dates, originator and recipient both parties) that covers it (tier <= ceiling, every risk
   domain among its topics). Drafts and withdrawn documents are seen by the originator only:
   withdrawing a document ends every partner's access at once, releases or not;
3. the user's clearance now ranks at or above the document's tier;
4. the user's nationality is in releasable_to, which always includes the originator's country
   (this binds the originator's own people too: a foreign secondee does not read GBR EYES ONLY);
   for a partner, so is the recipient organisation's country (`scope.releasability_refusal`,
   also checked at request and approval): a partner admin's say-so about a member's
   nationality never widens what the originator allowed;
5. the user is read in, now, to every compartment of the document;
6. the discretionary grant holds: guardian `view_document` on the document to the user's
   organisation group or to the user by name. Originator members hold it implicitly;
7. a secondee acting for the host (`accounts.affiliations`: the user reads as a host member,
   cleared to the host's secondment grant capped by the home's, read in only to the host's own
   compartments) reads what the host received from partners only under a release whose
   agreement lets seconded staff read partner material (`seconded_staff_read_partner_material`,
   default no).
A partner reads the revision its release pins (the one the release officer approved), and gates
3 to 5 hold for it against that revision's marking as well as the document's current one: an
author's lowered marking reaches partners only with an approved update; a raised one binds them
at once. The originator's own people read the latest revision under the current marking.
The files a partner sees and downloads are those of the revision it reads: a file attached
after (which writes a revision of its own) reaches it only with an approved update, and until
then answers like a missing one.

TO ADD A GATE, reach every place that states or exercises the rules:
- `can_read` below, in the order of the gates, with its reason (checks of one release or
  agreement live in `scope.py`);
- the SQL condition in `readable.py` (`_CONDITION`; a new value in `ReadableBy._values`, a new
  model in `_MODELS`), within the shape its docstring explains;
- if the gate depends only on the organisation and the document (not on the person, not on the
  clock), the kept visibility instead: its rules in `visibility.py` (`_SELECT` and
  `rows_by_rules`), and a `keep(...)` call in every service that changes what it reads;
  `manage.py policy rebuild` after deploying it;
- the API: it reads only through this module's gates and `readable_documents`, so it follows;
  a gate on the request itself (like MFA) must be answered for tokens in `api/authentication.py`;
- rows in the matrix (tests/sharing/test_policy_matrix.py: a factor, and a denied row one step
  from an allowed one), and tests/api/test_access_matrix.py if the API's answer changes;
- the property test's world generator (the strategies and `build_world` in
  tests/sharing/test_policy_property.py), so generated worlds both pass and fail the gate;
- the benchmark world (`populate` in bench/bench_list.py), then the real numbers in
  docs/BENCHMARKS.md;
- the list of gates above.
They agree when tests/sharing/test_policy_property.py passes on SQLite (`make test`) and on
PostgreSQL (`make test-services`): readable_documents(user) is exactly the documents can_read
allows, on generated worlds; the matrix also checks both faces on every read row; and
tests/sharing/test_kept_visibility.py holds the kept visibility equal to the rules after random
sequences of service calls.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.affiliations import acting_for_host, read_ins_of, secondment_counterparts
from accounts.models import Organisation, clearance_of
from accounts.roles import Role, has_role, is_portal_admin
from audit.models import Action
from audit.reasons import Reason, Refusal
from audit.services import refuse

from . import scope
from .models import (
    Attachment,
    Document,
    DocumentGroupObjectPermission,
    DocumentRevision,
    DocumentUserObjectPermission,
    MarkingProposal,
    Release,
    SharingAgreement,
)
from .readable import ReadableBy

VIEW_DOCUMENT = "view_document"
ORCON = "orcon"
# Why a partner may not read a document that is not published.
_UNPUBLISHED = {Document.Status.DRAFT: Reason.DOCUMENT_DRAFT, Document.Status.WITHDRAWN: Reason.DOCUMENT_WITHDRAWN}


@dataclass(frozen=True)
class Decision:
    """Allowed or not, and why: a `Reason` code (compare codes, never sentences), with the
    values its sentence names in `params`."""

    allowed: bool
    reason: Reason
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), compare=False, hash=False)

    def __bool__(self) -> bool:
        return self.allowed

    @property
    def refusal(self) -> Refusal:
        return Refusal(self.reason, self.params)

    @property
    def sentence(self) -> str:
        return self.refusal.sentence


ALLOW = Decision(True, Reason.ALLOWED)


def deny(reason: Reason | Refusal) -> Decision:
    if isinstance(reason, Refusal):
        return Decision(False, reason.reason, reason.params)
    return Decision(False, reason)


def _account(user) -> Decision:
    """Gate 1. Checks the user object only, so readable_documents can use it without a query."""
    if user is None or not getattr(user, "is_authenticated", False):
        return deny(Reason.NOT_SIGNED_IN)
    if not user.is_active:
        return deny(Reason.ACCOUNT_INACTIVE)
    # OTPMiddleware attaches is_verified to request users; users loaded elsewhere (tasks) lack it.
    verified = getattr(user, "is_verified", None)
    if callable(verified) and not verified():
        return deny(Reason.NOT_MFA_VERIFIED)
    if user.organisation_id is None:
        return deny(Reason.NO_ORGANISATION)
    return ALLOW


def account_gate(user) -> Decision:
    """Gate 1 alone (signed in, active, MFA-verified, of an organisation), for the gates of the
    apps above that share it (exercises/policy.py)."""
    return _account(user)


def _guardian_rows(user, document_ref) -> tuple[QuerySet, QuerySet]:
    perm = {"permission__codename": VIEW_DOCUMENT, "permission__content_type__app_label": "sharing"}
    group_rows = DocumentGroupObjectPermission.objects.filter(
        group__organisation__pk=user.organisation_id, **perm, **document_ref
    )
    user_rows = DocumentUserObjectPermission.objects.filter(user_id=user.pk, **perm, **document_ref)
    return group_rows, user_rows


def _marking_refusal(user, marked: Document | DocumentRevision, now) -> Refusal | None:
    """Gates 3 to 5 against one marking: a document's current one, or a revision's."""
    tier = clearance_of(user, now)
    if tier is None or marked.tier is None or tier.rank < marked.tier.rank:
        return Refusal(Reason.CLEARANCE_BELOW_TIER)
    # The originator's country is always releasable (DESIGN.md), whether or not it is listed.
    originator = (marked if isinstance(marked, Document) else marked.document).originator
    originator_country = originator.country_id
    if user.nationality_id != originator_country and not marked.releasable_to.filter(pk=user.nationality_id).exists():
        return Refusal(Reason.NATIONALITY_NOT_RELEASABLE)
    if user.organisation_id != originator.pk:
        refusal = scope.releasability_refusal(marked, user.organisation)
        if refusal:
            return refusal
    read_in = read_ins_of(user, now).values("compartment_id")
    missing = list(marked.compartments.exclude(pk__in=read_in).values_list("code", flat=True))
    if missing:
        return Reason.NOT_READ_IN_TO.because(compartments=", ".join(sorted(missing)))
    return None


def _revision_refusal(user, revision: DocumentRevision | None, now) -> Refusal | None:
    """The marking of the revision released to a partner must hold as well as the document's
    current marking: a raised marking binds partners at once, a lowered one reaches them only
    with the revision an officer approves."""
    if revision is None:
        return Refusal(Reason.NOT_RELEASED_TO_ORGANISATION)
    return _marking_refusal(user, revision, now)


def _release_decision(user, document: Document, now) -> tuple[Decision, Release | None]:
    """Whether a live release lets the partner `user` read `document`, and the release that does
    (the one of the newest revision, when several do)."""
    releases = (
        Release.objects.filter(document=document, recipient_id=user.organisation_id)
        .select_related("agreement__tier_ceiling", "revision__tier", "revision__document__originator")
        .prefetch_related("audience", "agreement__risk_domains")
        .order_by("-revision__number")
    )
    reasons = []
    for release in releases:
        reason = (
            scope.release_refusal(release, document, user, now)
            or _secondee_refusal(user, release)
            or _revision_refusal(user, release.revision, now)
        )
        if reason is None:
            return ALLOW, release
        # An approved release's reason (agreement suspended, out of scope) says more than an old refusal.
        reasons.append((release.status != Release.Status.APPROVED, reason.sentence, reason))
    return deny(min(reasons)[2] if reasons else Reason.NOT_RELEASED_TO_ORGANISATION), None


def _secondee_refusal(user, release: Release) -> Refusal | None:
    """Gate 7: partner material the host received is for the host's own staff unless the
    agreement it came under lets seconded staff read it."""
    if acting_for_host(user) is None or release.agreement.seconded_staff_read_partner_material:
        return None
    return Refusal(Reason.SECONDEE_PARTNER_MATERIAL)


def secondee_crossing_refusal(user, recipient: Organisation) -> Refusal | None:
    """No carrying home (nor the other way): while `user` is seconded between two organisations,
    they may not ask for anything to be released to the one they are not acting for."""
    if recipient.pk in secondment_counterparts(user, timezone.now()):
        return Reason.SECONDEE_CARRIES_ACROSS.because(organisation=str(recipient))
    return None


def released_revision(user, document: Document) -> DocumentRevision | None:
    """The revision `user` reads of a document they may read: None for the originator's own
    people (they read the latest), else the revision released to their organisation."""
    if user.organisation_id == document.originator_id:
        return None
    _, release = _release_decision(user, document, timezone.now())
    return release.revision if release is not None else None


def can_read(user, document: Document) -> Decision:
    """Every gate of the module docstring, in order; the first that fails names the reason."""
    return _read_decision(user, document)[0]


def _read_decision(user, document: Document) -> tuple[Decision, Release | None]:
    """can_read's answer, and for a partner the release that lets them read (None otherwise)."""
    now = timezone.now()
    decision = _account(user)
    if not decision:
        return decision, None
    if not Organisation.objects.filter(pk=user.organisation_id, is_active=True).exists():
        return deny(Reason.ORGANISATION_INACTIVE), None
    release = None
    is_originator = user.organisation_id == document.originator_id
    if not is_originator:
        if document.status != Document.Status.PUBLISHED:
            return deny(_UNPUBLISHED[document.status]), None
        decision, release = _release_decision(user, document, now)
        if not decision:
            return decision, None
    refusal = _marking_refusal(user, document, now)
    if refusal:
        return deny(refusal), None
    if not is_originator:
        group_rows, user_rows = _guardian_rows(user, {"content_object": document})
        if not (group_rows.exists() or user_rows.exists()):
            return deny(Reason.NO_VIEW_GRANT), None
    return ALLOW, release


def readable_documents(user) -> QuerySet[Document]:
    """Exactly the documents can_read allows, as ONE query with no per-row Python.

    The condition is prepared SQL (`sharing/readable.py`), written once and bound per request:
    what depends only on the user (clearance rank, read-ins, the organisation's group) the
    database evaluates once; what depends on the organisation and the document (a live release
    under an agreement in force that covers it) is one kept row (`sharing/visibility.py`),
    valid now; what depends on the person and the document (grant, releasable_to, compartments,
    named readers) is an indexed lookup made only for the rows it reads, so a first page costs
    the same at any table size.
    """
    if not _account(user):
        return Document.objects.none()
    affiliation = acting_for_host(user)
    return Document.objects.filter(
        ReadableBy(
            org_id=user.organisation_id,
            user_id=user.pk,
            nationality=user.nationality_id,
            now=timezone.now(),
            secondee_until=affiliation.ends_at if affiliation else None,
            rank_cap=affiliation.clearance.rank if affiliation else None,
        )
    )


def can_edit(user, document: Document) -> Decision:
    """Read, be of the originator, hold its author role.

    What may change in which status (a withdrawn document is frozen) is the document services'
    rule, refused there as a validation error; this answers only who may try.
    """
    # The cheap organisation test first: a partner is refused without evaluating every read gate.
    if user.organisation_id != document.originator_id:
        return deny(Reason.NOT_THE_ORIGINATOR)
    decision = can_read(user, document)
    if not decision:
        return decision
    if not has_role(user, Role.AUTHOR, document.originator):
        return deny(Reason.NOT_AN_AUTHOR)
    return ALLOW


def is_orcon(document: Document) -> bool:
    return document.caveats.filter(code=ORCON).exists()


def can_request_release(user, document: Document, agreement=None) -> Decision:
    """May `user` ask for `document` to be released (under `agreement`, when given)?

    Onward sharing, precisely: the originator's authors may request releases of their published
    documents. A recipient's author may request a further release of a document it can read only
    when the document carries no ORCON caveat and the agreement named for the new release allows
    onward sharing (with no agreement named: when one of the agreements it holds the document
    under allows it). The originator's release officer still decides every release, and the
    new release must satisfy every rule of release_request (originator and recipient both
    parties, scope, releasability).
    """
    decision = can_read(user, document)
    if not decision:
        return decision
    if document.status != Document.Status.PUBLISHED:
        return deny(Reason.DOCUMENT_NOT_PUBLISHED)
    if not has_role(user, Role.AUTHOR, user.organisation):
        return deny(Reason.NOT_AN_AUTHOR)
    if user.organisation_id == document.originator_id:
        return ALLOW
    if is_orcon(document):
        return deny(Reason.ORCON)
    if agreement is not None:
        if not agreement.onward_sharing:
            return deny(Reason.NO_ONWARD_SHARING)
        return ALLOW
    now = timezone.now()
    held = Release.objects.filter(
        document=document, recipient_id=user.organisation_id, agreement__onward_sharing=True
    ).select_related("agreement")
    holds_onward = any(
        scope.release_lapse(release, now) is None and scope.agreement_refusal(release.agreement, now) is None
        for release in held
    )
    return ALLOW if holds_onward else deny(Reason.NO_ONWARD_SHARING_AGREEMENT)


def can_approve_release(user, release: Release) -> Decision:
    """A release officer of the originator who can read the document, never the requester."""
    decision = _account(user)
    if not decision:
        return decision
    if release.status != Release.Status.REQUESTED:
        return deny(Reason.RELEASE_NOT_AWAITING_DECISION.because(status=release.status))
    if user.pk == release.requested_by_id:
        return deny(Reason.REQUESTER_DECIDES)
    document = release.document
    if user.organisation_id != document.originator_id:
        return deny(Reason.NOT_OF_ORIGINATING_ORGANISATION)
    if not has_role(user, Role.RELEASE_OFFICER, document.originator):
        return deny(Reason.NOT_A_RELEASE_OFFICER)
    return can_read(user, document)


REVOCABLE = (Release.Status.APPROVED, Release.Status.SUSPENDED)


def can_revoke_release(user, release: Release) -> Decision:
    """A release officer of the originator (or a portal admin) may revoke an approved release,
    or a suspended one (ending it for good rather than waiting to reinstate it)."""
    portal_admin = is_portal_admin(user)
    decision = ALLOW if portal_admin else _account(user)
    if not decision:
        return decision
    if release.status not in REVOCABLE:
        return deny(Reason.RELEASE_NOT_APPROVED.because(status=release.status))
    if portal_admin:
        return ALLOW
    originator = release.document.originator
    if user.organisation_id != originator.pk or not has_role(user, Role.RELEASE_OFFICER, originator):
        return deny(Reason.NOT_A_RELEASE_OFFICER_OF_ORIGINATOR)
    return ALLOW


def can_download(user, attachment: Attachment) -> Decision:
    """Read the document, and the file is clean and not crypto-shredded.

    A signed MoU (no document) is for portal admins and members of the agreement's parties.
    """
    if attachment.document is None:
        return _can_download_mou(user, attachment)
    decision, release = _read_decision(user, attachment.document)
    if not decision:
        return decision
    if release is not None and attachment.added_in_revision > release.revision.number:
        return deny(Reason.ATTACHMENT_NOT_RELEASED)
    return _file_usable(attachment)


def attachments_read(document: Document) -> QuerySet[Attachment]:
    """The undestroyed files of the revision the reader reads, for a document a gate returned
    (`document_for_reader` leaves a partner's instance at the revision released to it)."""
    return Attachment.objects.filter(
        document=document, added_in_revision__lte=document.revision, destroyed_at__isnull=True
    )


def readable_attachments(user) -> QuerySet[Attachment]:
    """Every document file `user` may see, whatever its scan state, in one query: the files of
    the documents they may read, a partner's only up to the revision released to them."""
    pinned = read_revisions(user).filter(document_id=OuterRef("document_id"), number__gte=OuterRef("added_in_revision"))
    return Attachment.objects.filter(document__in=readable_documents(user).values("pk")).filter(
        Q(document__originator_id=user.organisation_id) | Exists(pinned)
    )


def _file_usable(attachment: Attachment) -> Decision:
    if attachment.is_destroyed:
        return deny(Reason.ATTACHMENT_DESTROYED)
    if attachment.scan_status != Attachment.ScanStatus.CLEAN:
        return deny(Reason.ATTACHMENT_NOT_CLEAN)
    return ALLOW


def _can_download_mou(user, attachment: Attachment) -> Decision:
    decision = _account(user)
    # A portal admin need not belong to an institute to keep the agreements' papers.
    if not decision and not (decision.reason == Reason.NO_ORGANISATION and is_portal_admin(user)):
        return decision
    agreement = getattr(attachment, "agreement", None)
    if agreement is None:
        return deny(Reason.NOT_A_DOCUMENT_ATTACHMENT)
    if not (is_portal_admin(user) or scope.party_ids(agreement) & {user.organisation_id}):
        return deny(Reason.NOT_A_PARTY_TO_AGREEMENT)
    return _file_usable(attachment)


def _parse_code(code) -> uuid.UUID | None:
    try:
        return code if isinstance(code, uuid.UUID) else uuid.UUID(str(code))
    except (TypeError, ValueError, AttributeError):
        return None


def document_for_reader(user, code) -> Document:
    """The document if `user` may read it; 404 (audited) when missing or forbidden alike."""
    parsed = _parse_code(code)
    document = None
    if parsed is not None:
        document = Document.objects.select_related("tier", "originator").filter(code=parsed).first()
    decision, release = _read_decision(user, document) if document else (deny(Reason.NO_SUCH_DOCUMENT), None)
    if not decision:
        target = document or ("sharing.document", str(code)[:64], "")
        refuse(
            user,
            Action.ACCESS_DENIED,
            target,
            decision.refusal,
            error=Http404("No such document."),
            details={"wanted": "read"},
        )
    if release is not None:
        show_released(document, release.revision, release.decided_at)
    return document


def show_released_rows(user, documents) -> list[Document]:
    """The rows of one page of a list for `user`, each partner row read as the newest revision
    released to the user's organisation (as `document_for_reader` gives it): one query a page."""
    rows = list(documents)
    theirs = {row.pk: row for row in rows if row.originator_id != user.organisation_id}
    if not theirs:
        return rows
    releases = (
        _pinning_releases(user)
        .filter(document_id__in=theirs)
        .select_related("revision__tier")
        .order_by("revision__number")
    )
    for release in releases:  # oldest first: the newest revision released is the one that stays
        show_released(theirs[release.document_id], release.revision, release.decided_at)
    return rows


def _pinning_releases(user) -> QuerySet[Release]:
    """The releases to `user`'s organisation that pin the revision a partner reads: approved,
    unrevoked, unexpired, naming no audience or naming `user`. (Whether one lets them read at
    all is `readable_documents`'; this only says which revision they read.)"""
    return (
        Release.objects.filter(
            recipient_id=user.organisation_id,
            status=Release.Status.APPROVED,
            revoked_at__isnull=True,
            revision__isnull=False,
        )
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        .filter(Q(audience=None) | Q(audience=user.pk))
    )


def read_revisions(user) -> QuerySet[DocumentRevision]:
    """The revisions `user`'s organisation reads of partners' documents, one per document: the
    newest revision pinned by a release to it (as `show_released_rows` shows them). Search and
    filters match a partner against these, never against the document's latest text."""
    pinning = _pinning_releases(user)
    newer = pinning.filter(document_id=OuterRef("document_id"), revision__number__gt=OuterRef("number"))
    return DocumentRevision.objects.filter(Exists(pinning.filter(revision_id=OuterRef("pk")))).exclude(Exists(newer))


def show_released(document: Document, revision: DocumentRevision, released_at) -> Document:
    """Make `document` read as the revision a partner's release pins: its text, marking and
    revision number (`released_at`: when that revision was approved for them). The instance is
    for reading only: partners never reach a write with it."""
    for name in Document.TEXT_FIELDS:
        setattr(document, name, revision.snapshot.get(name, ""))
    document.tier, document.revision = revision.tier, revision.number
    document.shown_revision, document.released_at = revision, released_at
    return document


def may_see_access_history(user, document: Document) -> bool:
    """The originator decides and sees: the admins of a document's originating organisation
    read every access to it (partners' listings, reads, downloads, refusals)."""
    return bool(_account(user)) and has_role(user, Role.ORG_ADMIN, document.originator)


def document_for_access_history(user, code) -> Document:
    """The document if `user` administers its originator; anyone else — a partner, an author,
    a portal admin of no originator — gets the same 404 as for a missing document (audited)."""
    parsed = _parse_code(code)
    document = None
    if parsed is not None:
        document = Document.objects.select_related("originator").filter(code=parsed).first()
    if document is None or not may_see_access_history(user, document):
        refuse(
            user,
            Action.ACCESS_DENIED,
            document or ("sharing.document", str(code)[:64], ""),
            Reason.NO_SUCH_DOCUMENT if document is None else Reason.NOT_AN_ORGANISATION_ADMIN,
            error=Http404("No such document."),
            details={"wanted": "access history"},
        )
    return document


def document_for_editor(user, code) -> Document:
    """The document if `user` may edit it; 404 if they may not read it, 403 if read-only."""
    document = document_for_reader(user, code)
    decision = can_edit(user, document)
    if not decision:
        refuse(
            user, Action.ACCESS_DENIED, document, decision.refusal, error=PermissionDenied, details={"wanted": "edit"}
        )
    return document


def attachment_for_editor(user, code) -> Attachment:
    """A document's file, for a change by `user` (destruction): 404 (audited) whenever they may
    not see it — missing, a signed MoU, a forbidden document, a file not yet released to them —
    and 403 only when they see it but may not edit its document."""
    parsed = _parse_code(code)
    attachment = None
    if parsed is not None:
        attachment = Attachment.objects.select_related("document").filter(code=parsed, document__isnull=False).first()
    if attachment is None or not readable_attachments(user).filter(pk=attachment.pk).exists():
        refuse(
            user,
            Action.ACCESS_DENIED,
            attachment or ("sharing.attachment", str(code)[:64], ""),
            Reason.NO_SUCH_ATTACHMENT if attachment is None else _hidden_reason(user, attachment),
            error=Http404("No such attachment."),
            details={"wanted": "destroy"},
        )
    decision = can_edit(user, attachment.document)
    if not decision:
        refuse(
            user,
            Action.ACCESS_DENIED,
            attachment,
            decision.refusal,
            error=PermissionDenied,
            details={"wanted": "destroy"},
        )
    return attachment


def _hidden_reason(user, attachment: Attachment) -> Reason | Refusal:
    """Why a file `user` may not see is hidden from them (for the originator's eyes only)."""
    decision = can_read(user, attachment.document)
    return decision.refusal if not decision else Reason.ATTACHMENT_NOT_RELEASED


def attachment_for_download(user, code) -> Attachment:
    """The attachment if `user` may download it; 404 (audited) otherwise."""
    parsed = _parse_code(code)
    attachment = None
    if parsed is not None:
        attachment = (
            Attachment.objects.select_related("document__tier", "document__originator").filter(code=parsed).first()
        )
    decision = can_download(user, attachment) if attachment else deny(Reason.NO_SUCH_ATTACHMENT)
    if not decision:
        target = attachment or ("sharing.attachment", str(code)[:64], "")
        refuse(
            user,
            Action.ACCESS_DENIED,
            target,
            decision.refusal,
            error=Http404("No such attachment."),
            details={"wanted": "download"},
        )
    return attachment


def mou_for_party(user, agreement_code) -> Attachment:
    """The signed MoU of an agreement, for members of its parties and portal admins, when the
    file is clean and not destroyed; 404 (audited) for a missing agreement, one without an MoU,
    and a forbidden one alike."""
    parsed = _parse_code(agreement_code)
    agreement = None
    if parsed is not None:
        agreement = SharingAgreement.objects.select_related("mou").filter(code=parsed).first()
    attachment = agreement.mou if agreement is not None else None
    if attachment is None:
        decision = deny(Reason.NO_SUCH_AGREEMENT if agreement is None else Reason.NO_MOU)
    else:
        decision = can_download(user, attachment)
    if not decision:
        target = agreement or ("sharing.sharingagreement", str(agreement_code)[:64], "")
        refuse(
            user,
            Action.ACCESS_DENIED,
            target,
            decision.refusal,
            error=Http404("No such file."),
            details={"wanted": "download MoU"},
        )
    return attachment


# -- releases and agreements -------------------------------------------------------------------
# A release is seen by whoever may read its document and belongs to either the originator or
# the recipient (a partner never learns who else a document went to); an agreement by members
# of its parties and by portal admins. Missing and forbidden answer the same 404, audited.


def visible_releases(user) -> QuerySet[Release]:
    if not getattr(user, "is_authenticated", False) or user.organisation_id is None:
        return Release.objects.none()
    org = user.organisation_id
    return Release.objects.filter(
        Q(document__originator_id=org) | Q(recipient_id=org),
        document__in=readable_documents(user),
    )


def release_for_user(user, code) -> Release:
    release = (
        visible_releases(user)
        .select_related("document__originator", "document__tier", "agreement", "recipient", "requested_by")
        .filter(code=code)
        .first()
    )
    if release is None:
        target = Release.objects.filter(code=code).first() or ("sharing.release", str(code), "")
        refuse(
            user,
            Action.ACCESS_DENIED,
            target,
            Reason.NO_SUCH_RELEASE,
            error=Http404("No such release."),
            details={"wanted": "read release"},
        )
    return release


def release_for_update(user, code) -> Release:
    """An approved release of a document of `user`'s organisation that `user` reads, when `user`
    is one of its release officers: the difference page and its decisions. A partner or an
    outsider gets the same 404 as for a missing release; a colleague without the release-officer
    role, 403. Both audited: only the originator's side learns that a newer revision exists."""
    organisation_id = getattr(user, "organisation_id", None)
    release = None
    if _account(user) and organisation_id is not None:
        release = (
            Release.objects.filter(
                code=_parse_code(code),
                status=Release.Status.APPROVED,
                document__originator_id=organisation_id,
                document__in=readable_documents(user),
                revision__isnull=False,
            )
            .select_related("document__originator", "document__tier", "revision__tier", "recipient", "agreement")
            .first()
        )
    if release is None:
        target = Release.objects.filter(code=_parse_code(code)).first() or ("sharing.release", str(code)[:64], "")
        refuse(
            user,
            Action.ACCESS_DENIED,
            target,
            Reason.RELEASE_NOT_FOUND_OR_NOT_THEIRS,
            error=Http404("No such release."),
            details={"wanted": "release update"},
        )
    if not has_role(user, Role.RELEASE_OFFICER, release.document.originator):
        refuse(
            user,
            Action.ACCESS_DENIED,
            release,
            Reason.NOT_A_RELEASE_OFFICER,
            error=PermissionDenied("Only a release officer of the originating organisation decides updates."),
            details={"wanted": "release update"},
        )
    return release


def marking_proposal_for_originator(user, code) -> MarkingProposal:
    """A lower marking proposed on a document of `user`'s organisation that `user` reads; anyone
    else (a partner, an outsider) gets the same 404 as for a missing one (audited). Who may
    decide it is the marking service's rule (a different release officer of the originator)."""
    organisation_id = getattr(user, "organisation_id", None)
    proposal = None
    if _account(user) and organisation_id is not None:
        proposal = (
            MarkingProposal.objects.filter(
                code=_parse_code(code),
                document__originator_id=organisation_id,
                document__in=readable_documents(user),
            )
            .select_related("document__originator", "document__tier", "tier", "proposed_by")
            .first()
        )
    if proposal is None:
        found = MarkingProposal.objects.filter(code=_parse_code(code)).select_related("document").first()
        refuse(
            user,
            Action.ACCESS_DENIED,
            found.document if found else ("sharing.document", str(code)[:64], ""),
            Reason.NO_SUCH_MARKING_CHANGE,
            error=Http404("No such marking change."),
            details={"wanted": "marking change"},
        )
    return proposal


def visible_agreements(user) -> QuerySet[SharingAgreement]:
    if not getattr(user, "is_authenticated", False):
        return SharingAgreement.objects.none()
    if is_portal_admin(user):
        return SharingAgreement.objects.all()
    if user.organisation_id is None:
        return SharingAgreement.objects.none()
    return SharingAgreement.objects.filter(party_rows__organisation_id=user.organisation_id)


def agreement_for_party(user, code) -> SharingAgreement:
    agreement = visible_agreements(user).select_related("tier_ceiling", "mou").filter(code=code).first()
    if agreement is None:
        target = SharingAgreement.objects.filter(code=code).first() or ("sharing.sharingagreement", str(code), "")
        refuse(
            user,
            Action.ACCESS_DENIED,
            target,
            Reason.NOT_A_PARTY,
            error=Http404("No such agreement."),
            details={"wanted": "read agreement"},
        )
    return agreement
