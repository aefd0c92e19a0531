"""The rules every people-and-clearance service checks before it writes anything.

A refused action is recorded as a denial in the audit trail *before* any transaction opens, so
the denial survives the exception that follows; the database is otherwise left unchanged.
Refusals go through `audit.services.refuse`: PermissionDenied for "you may not", ValidationError
for "not like this" (shown to the user next to the field it concerns).

`actor=None` means the system itself (a management command such as `seed_demo`); no view ever
passes it, and it is recorded as "system" in the audit trail.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError

from audit.reasons import Reason
from audit.services import refuse

from ..access import is_org_admin
from ..models import Compartment, Tier, User, clearance_of
from ..roles import Role, has_role


def authorise_member_admin(action: str, *, actor: User | None, member: User) -> None:
    """The actor may manage `member`: an active organisation admin of the member's own
    organisation who is not the member. Nobody administers themselves, so no single admin can
    raise their own clearance or restore their own access."""
    if actor is None:
        return
    if not is_org_admin(actor):
        refuse(actor, action, member, Reason.NOT_ADMIN, error=PermissionDenied)
    if member.organisation_id is None or member.organisation_id != actor.organisation_id:
        refuse(actor, action, member, Reason.OTHER_ORGANISATION, error=PermissionDenied)
    if member.pk == actor.pk:
        refuse(actor, action, member, Reason.SELF)


def authorise_compartment_owner(action: str, *, actor: User | None, compartment: Compartment, target) -> None:
    """The actor is an admin of the organisation that owns `compartment` (the system may act on
    any). An unowned compartment has no admins: only the system reads people in to it."""
    if actor is None:
        return
    if compartment.owner_id is None or not has_role(actor, Role.ORG_ADMIN, compartment.owner):
        refuse(
            actor,
            action,
            target,
            Reason.NOT_COMPARTMENT_OWNER,
            error=PermissionDenied,
            details={"compartment": compartment.code},
        )


def check_ceiling(action: str, *, actor: User | None, member: User, tier: Tier, field: str | None = "tier") -> None:
    """An admin grants (or approves) only up to their own clearance as of now."""
    if actor is None:
        return
    own = clearance_of(actor)
    if own is None or own.rank < tier.rank:
        refuse(actor, action, member, Reason.ABOVE_OWN_CLEARANCE.because(own=own.name if own else "none"), field=field)


def clean_or_refuse(obj, action: str, *, actor: User | None, target, exclude: list[str] | None = None) -> None:
    """`full_clean()`, auditing a failure like any other refusal."""
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as exc:
        fields = sorted(exc.error_dict) if hasattr(exc, "error_dict") else []
        refuse(actor, action, target, Reason.INVALID, error=exc, details={"fields": fields})
