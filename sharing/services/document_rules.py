"""The checks behind the document services: who may write, which markings they may apply.

Each check either returns or raises after auditing the refusal as a denial against the
originating organisation (`audit.services.refuse`), so a caller never writes anything after a
failed check.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import Compartment, Country, Organisation, ReadIn, Tier, User, clearance_of
from accounts.roles import Role, has_role
from audit.reasons import Reason
from audit.services import refuse

from .. import policy
from ..models import Document

# Large enough for any report; small enough that a runaway paste cannot bloat every revision.
BODY_MAX_CHARS = 200_000


class Conflict(Exception):
    """Raised inside a transaction when the locked row no longer matches; refused outside it."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def require_author(actor: User, *, action: str, target: Any) -> Organisation:
    """The actor's organisation, if they may author documents for it."""
    organisation = getattr(actor, "organisation", None)
    org_id = organisation.pk if organisation else None
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        reason = Reason.ACCOUNT_INACTIVE
    elif organisation is None or not organisation.is_active:
        reason = Reason.NO_ACTIVE_ORGANISATION
    elif not has_role(actor, Role.AUTHOR, organisation):
        reason = Reason.NOT_AN_AUTHOR
    else:
        return organisation
    error = PermissionDenied("Only an author of the organisation may write its documents.")
    refuse(actor, action, target, reason, error=error, organisation_id=org_id)


def require_editor(actor: User, document: Document, *, action: str) -> None:
    decision = policy.can_edit(actor, document)
    if not decision:
        error = PermissionDenied("Only an author of the originating organisation may change this document.")
        refuse(actor, action, document, decision.refusal, error=error, organisation_id=document.originator_id)
    if document.status == Document.Status.WITHDRAWN:
        error = ValidationError("This document has been withdrawn; it can no longer be changed.")
        refuse(actor, action, document, Reason.WITHDRAWN, error=error, organisation_id=document.originator_id)


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
        error = ValidationError({"tier": "Choose the tier of the marking."})
        refuse(actor, action, target, Reason.NO_TIER, error=error, organisation_id=organisation_id)
    clearance = clearance_of(actor)
    if clearance is None or tier.rank > clearance.rank:
        held = clearance.name if clearance else "no tier"
        refuse(
            actor,
            action,
            target,
            Reason.MARKING_ABOVE_CLEARANCE,
            details={"tier": tier.code, "clearance": clearance.code if clearance else None},
            organisation_id=organisation_id,
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
            actor,
            action,
            target,
            Reason.COMPARTMENT_NOT_READ_IN,
            details={"compartments": missing},
            organisation_id=organisation_id,
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
            actor,
            action,
            target,
            Reason.INVALID,
            error=error,
            details={"fields": fields},
            organisation_id=document.originator_id,
        )


def with_originator_country(countries: Iterable[Country], originator: Organisation) -> list[Country]:
    by_code = {c.pk: c for c in countries}
    by_code.setdefault(originator.country_id, originator.country)
    return list(by_code.values())
