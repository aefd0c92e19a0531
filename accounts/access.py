"""Gates for the organisation-admin pages.

A view obtains a member, a clearance grant or a read-in only through these functions. Lacking
the organisation-admin role is a 403 (the person knows they are not an admin); an object outside
the admin's own organisation is a 404, the same answer as for an object that does not exist, so
an admin cannot learn who belongs to another organisation. Every refusal is audited.
"""

from __future__ import annotations

import uuid

from django.core.exceptions import PermissionDenied
from django.http import Http404

from audit.models import Action
from audit.registry import TrailReaders
from audit.services import record_denial

from .models import ClearanceGrant, Organisation, ReadIn, ReadInNomination, User
from .roles import Role, has_role, is_portal_admin, organisations_where


def is_org_admin(user: User, organisation: Organisation | None = None) -> bool:
    """True when `user` is active and holds the organisation-admin role on `organisation`
    (default: their own organisation)."""
    organisation = organisation or getattr(user, "organisation", None)
    if not user.is_authenticated:
        return False
    return has_role(user, Role.ORG_ADMIN, organisation)


def audit_trail_readers() -> TrailReaders:
    """Who reads the audit trail (registered with audit in AccountsConfig.ready()): portal
    admins all of it, organisation admins the events of the organisations they administer."""
    return TrailReaders(
        organisations=lambda: Organisation.objects.order_by("short_name"),
        reads_everything=is_portal_admin,
        organisation_ids=lambda user: frozenset(organisations_where(user, Role.ORG_ADMIN).values_list("pk", flat=True)),
    )


def organisation_for_admin(user: User) -> Organisation:
    """The organisation `user` administers, or PermissionDenied (403)."""
    if not is_org_admin(user):
        record_denial(Action.ACCESS_DENIED, actor=user, details={"gate": "organisation_admin"})
        raise PermissionDenied("You are not an organisation admin.")
    return user.organisation


def _parse_code(code: str | uuid.UUID) -> uuid.UUID | None:
    try:
        return code if isinstance(code, uuid.UUID) else uuid.UUID(str(code))
    except ValueError:
        return None


def _not_found(admin: User, kind: str, code) -> Http404:
    record_denial(Action.ACCESS_DENIED, actor=admin, target=(kind, str(code)[:64], ""), details={"gate": kind})
    return Http404("Not found.")


def member_for_admin(admin: User, user_code: str | uuid.UUID) -> User:
    """A member of the admin's own organisation by code; 404 when missing or in another one."""
    organisation = organisation_for_admin(admin)
    parsed = _parse_code(user_code)
    member = None
    if parsed is not None:
        member = User.objects.select_related("organisation", "nationality").filter(code=parsed).first()
    if member is None or member.organisation_id != organisation.pk:
        raise _not_found(admin, "accounts.user", user_code)
    return member


def grant_for_admin(admin: User, grant_code: str | uuid.UUID) -> ClearanceGrant:
    """A clearance grant held by a member of the admin's own organisation; 404 otherwise."""
    organisation = organisation_for_admin(admin)
    parsed = _parse_code(grant_code)
    grant = None
    if parsed is not None:
        grant = ClearanceGrant.objects.select_related("user", "tier").filter(code=parsed).first()
    if grant is None or grant.user.organisation_id != organisation.pk:
        raise _not_found(admin, "accounts.clearancegrant", grant_code)
    return grant


def readin_for_admin(admin: User, readin_code: str | uuid.UUID) -> ReadIn:
    """A read-in held by a member of the admin's own organisation; 404 otherwise."""
    organisation = organisation_for_admin(admin)
    parsed = _parse_code(readin_code)
    readin = None
    if parsed is not None:
        readin = ReadIn.objects.select_related("user", "compartment").filter(code=parsed).first()
    if readin is None or readin.user.organisation_id != organisation.pk:
        raise _not_found(admin, "accounts.readin", readin_code)
    return readin


def nomination_for_owner_admin(admin: User, nomination_code: str | uuid.UUID) -> ReadInNomination:
    """A read-in nomination for a compartment the admin's organisation owns; 404 otherwise (a
    nomination from a partner is seen by the owner's admins and the nominating organisation's)."""
    organisation = organisation_for_admin(admin)
    parsed = _parse_code(nomination_code)
    nomination = None
    if parsed is not None:
        nomination = (
            ReadInNomination.objects.select_related("user", "compartment", "nominated_by").filter(code=parsed).first()
        )
    if nomination is None or nomination.compartment.owner_id != organisation.pk:
        raise _not_found(admin, "accounts.readinnomination", nomination_code)
    return nomination
