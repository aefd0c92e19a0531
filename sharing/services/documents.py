"""Writing findings: create, edit, publish and withdraw, each leaving an immutable revision.

Rules these services keep (DESIGN.md, "Marking and access"):
- Only a member holding the author role (`accounts.author_document` on their organisation)
  writes documents, and only for their own organisation: the originator is always the author's
  organisation.
- Nobody marks a document above their own clearance as of now, or with a compartment they are
  not read in to now. The originator's country is always in `releasable_to`.
- Every change, publication and withdrawal writes a `DocumentRevision` with a full snapshot and
  the fields that changed, flagged `marking_changed` when tier, releasability, compartments or
  caveats moved, and bumps `Document.revision`.
- Drafts and published documents may be edited (a correction, or a marking raised after a
  spill, must not wait for a new document); a withdrawn document is frozen. A marking edited on
  a published document takes effect at once, because the policy reads the marking at request
  time.
- A refusal raises (PermissionDenied for who, ValidationError for what), is audited as a
  denial against the originator, and leaves the database as it was.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Compartment, Country, Tier, User
from audit.models import Action
from audit.reasons import Reason
from audit.services import record, refuse

from ..marking import describe_change, marking_of
from ..models import Caveat, Document, RiskDomain
from ..visibility import keep
from .document_rules import (
    Conflict,
    check_marking,
    full_clean,
    require_author,
    require_editor,
    with_originator_country,
)
from .markings import lower_marking_split, propose_lower_marking
from .releases import suspend_out_of_scope
from .revisions import M2M_FIELDS, MARKING_FIELDS, SCALAR_FIELDS
from .revisions import write_revision as _write_revision

# What decides whether an agreement still carries a release to its recipient.
SCOPE_FIELDS = frozenset({"tier", "releasable_to", "risk_domains"})
# The order changed fields are reported in.
EDITABLE_FIELDS = (*SCALAR_FIELDS, "tier", *M2M_FIELDS)


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


def document_create(
    *,
    actor: User,
    title: str,
    summary: str = "",
    body: str = "",
    tier: Tier,
    releasable_to: Iterable[Country] = (),
    compartments: Iterable[Compartment] = (),
    caveats: Iterable[Caveat] = (),
    risk_domains: Iterable[RiskDomain] = (),
    model_developer: str = "",
    model_name: str = "",
    model_version: str = "",
) -> Document:
    """Create a draft for the actor's organisation, as revision 1."""
    action = Action.DOCUMENT_CREATED
    target = ("sharing.document", "", title)
    organisation = require_author(actor, action=action, target=target)
    compartments, caveats, risk_domains = list(compartments), list(caveats), list(risk_domains)
    releasable = with_originator_country(releasable_to, organisation)
    check_marking(
        actor, tier=tier, compartments=compartments, action=action, target=target, organisation_id=organisation.pk
    )
    now = timezone.now()
    document = Document(
        title=title,
        summary=summary,
        body=body,
        originator=organisation,
        author=actor,
        tier=tier,
        model_developer=model_developer,
        model_name=model_name,
        model_version=model_version,
        created_at=now,
        updated_at=now,
    )
    full_clean(document, actor=actor, action=action, target=target)
    with transaction.atomic():
        document.save(force_insert=True)
        document.releasable_to.set(releasable)
        document.compartments.set(compartments)
        document.caveats.set(caveats)
        document.risk_domains.set(risk_domains)
        given = {"releasable_to": releasable, "compartments": compartments, "caveats": caveats}
        given |= {"risk_domains": risk_domains, "tier": tier}
        changed = [f for f in EDITABLE_FIELDS if (getattr(document, f) if f in SCALAR_FIELDS else given[f])]
        _write_revision(document, actor=actor, changed=changed, note="created")
        record(
            action,
            actor=actor,
            target=document,
            organisation_id=organisation.pk,
            details={"revision": 1, "marking": marking_of(document).banner(), "status": document.status},
        )
    return document


def _current_values(document: Document) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(document, name) for name in SCALAR_FIELDS}
    values["tier"] = document.tier_id
    for name in M2M_FIELDS:
        values[name] = {obj.pk for obj in getattr(document, name).all()}
    return values


def document_update(
    *,
    actor: User,
    document: Document,
    base_revision: int | None = None,
    title: str = UNSET,
    summary: str = UNSET,
    body: str = UNSET,
    tier: Tier = UNSET,
    releasable_to: Iterable[Country] = UNSET,
    compartments: Iterable[Compartment] = UNSET,
    caveats: Iterable[Caveat] = UNSET,
    risk_domains: Iterable[RiskDomain] = UNSET,
    model_developer: str = UNSET,
    model_name: str = UNSET,
    model_version: str = UNSET,
) -> Document:
    """Apply the given changes as one new revision; fields left out stay as they are.

    `base_revision`, when given (the edit form carries it), is the revision the editor saw: a
    document changed since then is refused rather than silently overwritten. An edit that
    changes nothing writes no revision. Returns the document, refreshed.
    """
    action = Action.DOCUMENT_UPDATED
    require_editor(actor, document, action=action)
    org_id = document.originator_id
    given = {
        "title": title,
        "summary": summary,
        "body": body,
        "tier": tier,
        "releasable_to": releasable_to,
        "compartments": compartments,
        "caveats": caveats,
        "risk_domains": risk_domains,
        "model_developer": model_developer,
        "model_name": model_name,
        "model_version": model_version,
    }
    given = {name: value for name, value in given.items() if value is not UNSET}
    for name in M2M_FIELDS:
        if name in given:
            given[name] = list(given[name])
    if "releasable_to" in given:
        given["releasable_to"] = with_originator_country(given["releasable_to"], document.originator)
    before = _current_values(document)
    changed = _changed(before, given)
    if not changed:
        return document
    if MARKING_FIELDS.intersection(changed):
        check_marking(
            actor,
            tier=given.get("tier", document.tier),
            compartments=given.get("compartments", document.compartments.all()),
            action=action,
            target=document,
            organisation_id=org_id,
        )
        # Two people for a lower marking: only the raises take effect now; the rest waits.
        given, asked = lower_marking_split(document, given)
        changed = _changed(before, given)
    else:
        asked = None
    candidate = copy.copy(document)
    for name in changed:
        if name in SCALAR_FIELDS or name == "tier":
            setattr(candidate, name, given[name])
    full_clean(candidate, actor=actor, action=action, target=document)
    marking_before = marking_of(document)
    proposal = None
    try:
        with transaction.atomic():
            locked = Document.objects.select_for_update().select_related("tier", "originator").get(pk=document.pk)
            _still_editable(locked, document, base_revision)
            if changed:
                _apply(actor, locked, given, changed, marking_before)
            if asked is not None:
                proposal = propose_lower_marking(actor=actor, document=locked, asked=asked)
    except Conflict as conflict:
        error = ValidationError(conflict.message, code=conflict.reason.value)
        refuse(actor, action, document, conflict.reason, error=error, organisation_id=org_id)
    document.refresh_from_db()
    # The page tells the author their lower marking waits for a release officer.
    document.marking_proposal = proposal
    return document


def _changed(before: dict[str, Any], given: dict[str, Any]) -> list[str]:
    after = dict(before)
    for name, value in given.items():
        if name in M2M_FIELDS:
            after[name] = {obj.pk for obj in value}
        elif name == "tier":
            after[name] = value.pk if value is not None else None
        else:
            after[name] = value
    return [name for name in EDITABLE_FIELDS if after[name] != before[name]]


def _apply(actor: User, locked: Document, given: dict[str, Any], changed: list[str], marking_before) -> None:
    """Write the changes to the locked document as its next revision, audited."""
    for name in changed:
        if name in SCALAR_FIELDS or name == "tier":
            setattr(locked, name, given[name])
    locked.revision += 1
    locked.updated_at = timezone.now()
    locked.save(update_fields=[*(n for n in changed if n not in M2M_FIELDS), "revision", "updated_at"])
    for name in changed:
        if name in M2M_FIELDS:
            getattr(locked, name).set(given[name])
    revision = _write_revision(locked, actor=actor, changed=changed)
    details: dict[str, Any] = {"revision": locked.revision, "changed_fields": changed}
    if revision.marking_changed:
        details["marking_change"] = describe_change(marking_before, marking_of(locked))
    record(Action.DOCUMENT_UPDATED, actor=actor, target=locked, organisation_id=locked.originator_id, details=details)
    if SCOPE_FIELDS.intersection(changed):
        # A re-mark that breaks a live release suspends it, visibly, on both sides.
        suspend_out_of_scope(actor=actor, document=locked)
        keep([locked.pk])


def _still_editable(locked: Document, seen: Document, base_revision: int | None) -> None:
    """Between the checks and the lock, another request may have moved the document on."""
    if locked.status == Document.Status.WITHDRAWN:
        raise Conflict(Reason.WITHDRAWN, "This document has been withdrawn; it can no longer be changed.")
    expected = base_revision if base_revision is not None else seen.revision
    if locked.revision != expected:
        raise Conflict(
            Reason.STALE_REVISION,
            f"The document has changed since revision {expected} (it is now at revision {locked.revision}); "
            "reload it and make your change again.",
        )


def _change_status(
    *, actor: User, document: Document, action: str, allowed_from: set[str], to: str, note: str
) -> Document:
    org_id = document.originator_id
    if document.status not in allowed_from:
        error = ValidationError(f"This document is {document.get_status_display().lower()}; it cannot be {to}.")
        refusal = Reason.DOCUMENT_STATUS_FORBIDS.because(status=document.status)
        refuse(actor, action, document, refusal, error=error, organisation_id=org_id)
    try:
        with transaction.atomic():
            locked = Document.objects.select_for_update().select_related("tier", "originator").get(pk=document.pk)
            if locked.status != document.status:
                raise Conflict(Reason.STALE_STATUS, "The document's status changed meanwhile; reload it and try again.")
            now = timezone.now()
            locked.status = to
            stamp = "published_at" if to == Document.Status.PUBLISHED else "withdrawn_at"
            setattr(locked, stamp, now)
            locked.revision += 1
            locked.updated_at = now
            locked.save(update_fields=["status", stamp, "revision", "updated_at"])
            _write_revision(locked, actor=actor, changed=["status"], note=note)
            keep([locked.pk])  # publishing opens partners' access, withdrawing ends it
            details = {"revision": locked.revision, "from": document.status, "marking": marking_of(locked).banner()}
            if note and to == Document.Status.WITHDRAWN:
                details["reason"] = note
            record(action, actor=actor, target=locked, organisation_id=org_id, details=details)
    except Conflict as conflict:
        error = ValidationError(conflict.message, code=conflict.reason.value)
        refuse(actor, action, document, conflict.reason, error=error, organisation_id=org_id)
    document.refresh_from_db()
    return document


def document_publish(*, actor: User, document: Document) -> Document:
    """Publish a draft. Its marking is checked again against the publisher's clearance now."""
    require_editor(actor, document, action=Action.DOCUMENT_PUBLISHED)
    check_marking(
        actor,
        tier=document.tier,
        compartments=document.compartments.all(),
        action=Action.DOCUMENT_PUBLISHED,
        target=document,
        organisation_id=document.originator_id,
    )
    return _change_status(
        actor=actor,
        document=document,
        action=Action.DOCUMENT_PUBLISHED,
        allowed_from={Document.Status.DRAFT},
        to=Document.Status.PUBLISHED,
        note="published",
    )


def document_withdraw(*, actor: User, document: Document, reason: str = "") -> Document:
    """Withdraw a draft or published document. The record and its revisions are kept; the policy
    refuses partners' reads of a withdrawn document."""
    require_editor(actor, document, action=Action.DOCUMENT_WITHDRAWN)
    return _change_status(
        actor=actor,
        document=document,
        action=Action.DOCUMENT_WITHDRAWN,
        allowed_from={Document.Status.DRAFT, Document.Status.PUBLISHED},
        to=Document.Status.WITHDRAWN,
        note=reason.strip() or "withdrawn",
    )
