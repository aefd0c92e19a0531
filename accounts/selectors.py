"""Reads for the organisation-admin pages, each a fixed number of queries however many rows."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from .models import ClearanceGrant, Organisation, OrganisationUserObjectPermission, ReadIn, ReadInNomination, User
from .roles import ROLE_OF_CODENAME

EXPIRY_WARNING = timedelta(days=30)


def roles_by_user(organisation: Organisation) -> dict[int, list[str]]:
    roles: dict[int, list[str]] = {}
    rows = OrganisationUserObjectPermission.objects.filter(content_object=organisation).values_list(
        "user_id", "permission__codename"
    )
    for user_id, codename in rows:
        if codename in ROLE_OF_CODENAME:
            roles.setdefault(user_id, []).append(ROLE_OF_CODENAME[codename])
    return {user_id: sorted(names) for user_id, names in roles.items()}


def members_with_access(organisation: Organisation) -> list[User]:
    """The organisation's members, each with `current_grant` (highest valid now, or None),
    `expires_soon`, `current_read_ins` and `roles`. Four queries: members, valid grants,
    valid read-ins, roles."""
    now = timezone.now()
    grants = ClearanceGrant.objects.valid_at(now).select_related("tier").order_by("-tier__rank", "-valid_until")
    read_ins = ReadIn.objects.valid_at(now).select_related("compartment").order_by("compartment__code")
    members = list(
        User.objects.filter(organisation=organisation)
        .select_related("nationality")
        .prefetch_related(
            Prefetch("clearance_grants", queryset=grants, to_attr="valid_grants"),
            Prefetch("read_ins", queryset=read_ins, to_attr="current_read_ins"),
        )
        .order_by("display_name")
    )
    roles = roles_by_user(organisation)
    for member in members:
        member.current_grant = member.valid_grants[0] if member.valid_grants else None
        member.expires_soon = bool(member.current_grant and member.current_grant.valid_until - now < EXPIRY_WARNING)
        member.roles = roles.get(member.pk, [])
    return members


def pending_grants(organisation: Organisation) -> QuerySet[ClearanceGrant]:
    """Grants at two-person tiers waiting for a second admin."""
    return (
        ClearanceGrant.objects.filter(
            user__organisation=organisation, status=ClearanceGrant.Status.PENDING, revoked_at__isnull=True
        )
        .select_related("user", "tier", "granted_by")
        .order_by("granted_at")
    )


def member_history(member: User) -> dict:
    """Every grant and read-in the member ever had, newest first, for the member page."""
    now = timezone.now()
    grants = list(
        ClearanceGrant.objects.filter(user=member).select_related("tier", "granted_by", "approved_by", "revoked_by")
    )
    for grant in grants:
        grant.valid_now = grant.is_valid_at(now)
        grant.expired = grant.valid_until <= now
    read_ins = list(ReadIn.objects.filter(user=member).select_related("compartment", "granted_by", "revoked_by"))
    for readin in read_ins:
        readin.valid_now = readin.is_valid_at(now)
    return {"grants": grants, "read_ins": read_ins}


def nominations_for(organisation: Organisation) -> dict:
    """The organisation admin's nominations page: what its admins asked of owners (`sent`), and
    what partners ask of it for the compartments it owns (`awaiting`, then `decided`)."""
    base = ReadInNomination.objects.select_related("user", "compartment", "nominated_by", "decided_by")
    received = base.filter(compartment__owner=organisation)
    return {
        "sent": list(base.filter(user__organisation=organisation)[:100]),
        "awaiting": list(received.filter(status=ReadInNomination.Status.PENDING).order_by("nominated_at")),
        "decided": list(received.exclude(status=ReadInNomination.Status.PENDING)[:50]),
    }
