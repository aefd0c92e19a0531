"""The rules every people-and-clearance service checks before it writes anything.

A refused action is recorded as a denial in the audit trail *before* any transaction opens, so
the denial survives the exception that follows; the database is otherwise left unchanged.

`actor=None` means the system itself (a management command such as `seed_demo`); no view ever
passes it, and it is recorded as "system" in the audit trail.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError

from audit.services import record_denial

from ..access import is_org_admin
from ..models import Tier, User, clearance_of


def refuse(
    action: str,
    *,
    actor: User | None,
    target,
    message: str,
    code: str,
    field: str | None = None,
    forbidden: bool = False,
):
    """Audit the refusal, then raise: PermissionDenied for "you may not", ValidationError for
    "not like this" (shown to the user next to the field it concerns)."""
    record_denial(action, actor=actor, target=target, details={"reason": code})
    if forbidden:
        raise PermissionDenied(message)
    raise ValidationError(
        {field: [ValidationError(message, code=code)]} if field else ValidationError(message, code=code)
    )


def authorise_member_admin(action: str, *, actor: User | None, member: User) -> None:
    """The actor may manage `member`: an active organisation admin of the member's own
    organisation who is not the member. Nobody administers themselves, so no single admin can
    raise their own clearance or restore their own access."""
    if actor is None:
        return
    if not is_org_admin(actor):
        refuse(
            action,
            actor=actor,
            target=member,
            message="You are not an organisation admin.",
            code="not_admin",
            forbidden=True,
        )
    if member.organisation_id is None or member.organisation_id != actor.organisation_id:
        refuse(
            action,
            actor=actor,
            target=member,
            message="You can manage only members of your own organisation.",
            code="other_organisation",
            forbidden=True,
        )
    if member.pk == actor.pk:
        refuse(action, actor=actor, target=member, message="You cannot change your own access.", code="self")


def check_ceiling(action: str, *, actor: User | None, member: User, tier: Tier, field: str | None = "tier") -> None:
    """An admin grants (or approves) only up to their own clearance as of now."""
    if actor is None:
        return
    own = clearance_of(actor)
    if own is None or own.rank < tier.rank:
        refuse(
            action,
            actor=actor,
            target=member,
            message=f"You can grant clearance only up to your own ({own.name if own else 'none'}).",
            code="above_own_clearance",
            field=field,
        )


def clean_or_refuse(obj, action: str, *, actor: User | None, target, exclude: list[str] | None = None) -> None:
    """`full_clean()`, auditing a failure like any other refusal."""
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as exc:
        record_denial(
            action,
            actor=actor,
            target=target,
            details={"reason": "invalid", "fields": sorted(exc.error_dict) if hasattr(exc, "error_dict") else []},
        )
        raise
