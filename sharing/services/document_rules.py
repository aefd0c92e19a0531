"""The checks behind the document services: who may write, which markings they may apply.

Each check either returns or raises after auditing the refusal as a denial against the
originating organisation, so a caller never writes anything after a failed check.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NoReturn

from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import Compartment, Country, Organisation, ReadIn, Tier, User, clearance_of
from accounts.roles import Role, has_role
from audit.services import record_denial

from .. import policy
from ..models import Document

# Large enough for any report; small enough that a runaway paste cannot bloat every revision.
BODY_MAX_CHARS = 200_000


class Conflict(Exception):
    """Raised inside a transaction when the locked row no longer matches; refused outside it."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def refuse(
    action: str,
    *,
    actor: User,
    target: Any,
    organisation_id: int | None,
    reason: str,
    error: Exception,
    details: dict | None = None,
) -> NoReturn:
    record_denial(
        action,
        actor=actor,
        target=target,
        organisation_id=organisation_id,
        details={"reason": reason} | (details or {}),
    )
    raise error


def require_author(actor: User, *, action: str, target: Any) -> Organisation:
    """The actor's organisation, if they may author documents for it."""
    organisation = getattr(actor, "organisation", None)
    org_id = organisation.pk if organisation else None
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        reason = "account inactive"
    elif organisation is None or not organisation.is_active:
        reason = "no active organisation"
    elif not has_role(actor, Role.AUTHOR, organisation):
        reason = "not an author"
    else:
        return organisation
    refuse(
        action,
        actor=actor,
        target=target,
        organisation_id=org_id,
        reason=reason,
        error=PermissionDenied("Only an author of the organisation may write its documents."),
    )


def require_editor(actor: User, document: Document, *, action: str) -> None:
    decision = policy.can_edit(actor, document)
    if not decision:
        refuse(
            action,
            actor=actor,
            target=document,
            organisation_id=document.originator_id,
            reason=decision.reason,
            error=PermissionDenied("Only an author of the originating organisation may change this document."),
        )
    if document.status == Document.Status.WITHDRAWN:
        refuse(
            action,
            actor=actor,
            target=document,
            organisation_id=document.originator_id,
            reason="withdrawn",
            error=ValidationError("This document has been withdrawn; it can no longer be changed."),
        )


def check_marking(
    actor: User,
    *,
    tier: Tier | None,
    compartments: Iterable[Compartment],
    action: str,
    target: Any,
    organisation_id: int,
) -> None:
    """Refuse a marking the actor could not themselves read: above clearance, or not read in."""
    if tier is None:
        refuse(
            action,
            actor=actor,
            target=target,
            organisation_id=organisation_id,
            reason="no tier",
            error=ValidationError({"tier": "Choose the tier of the marking."}),
        )
    clearance = clearance_of(actor)
    if clearance is None or tier.rank > clearance.rank:
        held = clearance.name if clearance else "no tier"
        refuse(
            action,
            actor=actor,
            target=target,
            organisation_id=organisation_id,
            reason="marking above clearance",
            details={"tier": tier.code, "clearance": clearance.code if clearance else None},
            error=ValidationError(
                {"tier": f"You are cleared to {held}; you cannot mark a document {tier.name}."}, code="above_clearance"
            ),
        )
    wanted = {c.pk: c for c in compartments}
    if not wanted:
        return
    read_in = set(
        ReadIn.objects.valid_now()
        .filter(user=actor, compartment_id__in=wanted)
        .values_list("compartment_id", flat=True)
    )
    missing = sorted(str(c) for pk, c in wanted.items() if pk not in read_in)
    if missing:
        refuse(
            action,
            actor=actor,
            target=target,
            organisation_id=organisation_id,
            reason="compartment not read in",
            details={"compartments": missing},
            error=ValidationError(
                {"compartments": f"You are not read in to {', '.join(missing)}, so you cannot use it in a marking."},
                code="not_read_in",
            ),
        )


def full_clean(document: Document, *, actor: User, action: str, target: Any) -> None:
    try:
        document.full_clean()
        if len(document.body) > BODY_MAX_CHARS:
            raise ValidationError({"body": f"The body is limited to {BODY_MAX_CHARS:,} characters."})
    except ValidationError as error:
        fields = sorted(getattr(error, "error_dict", {"__all__": None}))
        refuse(
            action,
            actor=actor,
            target=target,
            organisation_id=document.originator_id,
            reason="invalid",
            details={"fields": fields},
            error=error,
        )


def with_originator_country(countries: Iterable[Country], originator: Organisation) -> list[Country]:
    by_code = {c.pk: c for c in countries}
    by_code.setdefault(originator.country_id, originator.country)
    return list(by_code.values())
