"""Organisations, people, roles and second factors."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import Action
from audit.reasons import Reason
from audit.services import record, refuse

from ..access import is_org_admin
from ..models import Country, Organisation, User
from ..roles import Role, grant_role, is_granted, is_portal_admin, revoke_role
from ._rules import authorise_member_admin, clean_or_refuse
from .credentials import credentials_end
from .keys import security_keys_delete_all


def _check_role(action: str, *, actor: User | None, user: User, role: str) -> None:
    authorise_member_admin(action, actor=actor, member=user)
    if role not in Role.values:
        refuse(actor, action, user, Reason.UNKNOWN_ROLE, field="role")
    if user.organisation is None:
        refuse(actor, action, user, Reason.MEMBER_WITHOUT_ORGANISATION)


def role_grant(*, actor: User | None, user: User, role: str) -> None:
    """Give `user` a role on their own organisation (a guardian object permission)."""
    action = Action.ROLE_GRANTED
    _check_role(action, actor=actor, user=user, role=role)
    if not user.is_active:
        refuse(actor, action, user, Reason.INACTIVE)
    if is_granted(user, role, user.organisation):
        refuse(actor, action, user, Reason.ROLE_HELD, field="role")
    with transaction.atomic():
        grant_role(user, role, user.organisation)
        record(action, actor=actor, target=user, details={"role": role, "organisation": user.organisation.short_name})


def role_revoke(*, actor: User | None, user: User, role: str) -> None:
    """Take a role away from `user`."""
    action = Action.ROLE_REVOKED
    _check_role(action, actor=actor, user=user, role=role)
    if not is_granted(user, role, user.organisation):
        refuse(actor, action, user, Reason.ROLE_NOT_HELD, field="role")
    with transaction.atomic():
        revoke_role(user, role, user.organisation)
        record(action, actor=actor, target=user, details={"role": role, "organisation": user.organisation.short_name})


def user_create(
    *,
    actor: User | None,
    organisation: Organisation | None,
    email: str,
    display_name: str,
    nationality: Country,
    password: str | None = None,
    is_staff: bool = False,
    is_superuser: bool = False,
) -> User:
    """Create an account. Without a password it has none usable: the person sets one through
    the password-reset email, then enrols their authenticator at first sign-in.

    The system and portal admins create anyone; an organisation admin creates ordinary members
    of their own organisation only."""
    action = Action.USER_CREATED
    email = User.objects.normalize_email((email or "").strip()).lower()
    target = ("accounts.user", "", email)
    if actor is not None and not actor.is_superuser:
        admin_of_org = organisation is not None and actor.organisation_id == organisation.pk and is_org_admin(actor)
        if not admin_of_org or is_staff or is_superuser:
            refuse(actor, action, target, Reason.CANNOT_CREATE_ACCOUNT, error=PermissionDenied)
    if User.objects.filter(email__iexact=email).exists():
        refuse(actor, action, target, Reason.EMAIL_TAKEN, field="email")
    user = User(
        email=email,
        display_name=(display_name or "").strip(),
        organisation=organisation,
        nationality=nationality,
        is_staff=is_staff or is_superuser,
        is_superuser=is_superuser,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    clean_or_refuse(user, action, actor=actor, target=target)
    with transaction.atomic():
        user.save(force_insert=True)
        if organisation is not None:
            # The organisation's group is how releases reach its members.
            organisation.group.user_set.add(user)
        details = {"organisation": organisation.short_name if organisation else None, "staff": user.is_staff}
        record(action, actor=actor, target=user, details=details)
    return user


def user_deactivate(*, actor: User | None, user: User) -> User:
    """Switch an account off: every session of it ends on its next request and every API token
    is revoked, so switching it back on later revives neither."""
    action = Action.USER_DEACTIVATED
    authorise_member_admin(action, actor=actor, member=user)
    if not user.is_active:
        refuse(actor, action, user, Reason.ALREADY_DEACTIVATED)
    with transaction.atomic():
        user.is_active = False
        user.save(update_fields=["is_active"])
        credentials_end(actor=actor, user=user, reason="deactivated")
        record(action, actor=actor, target=user)
    return user


def mfa_reset(*, actor: User | None, user: User) -> int:
    """Delete the member's authenticator devices (app and security keys), so their next sign-in enrols a new one, and
    end every session and API token they hold: a stolen signed-in session must not survive to
    enrol a device of its own. Returns how many devices were removed."""
    action = Action.AUTH_MFA_RESET
    authorise_member_admin(action, actor=actor, member=user)
    with transaction.atomic():
        deleted, _ = TOTPDevice.objects.filter(user=user).delete()
        deleted += security_keys_delete_all(user)
        credentials_end(actor=actor, user=user, reason="mfa_reset")
        record(action, actor=actor, target=user, details={"devices": deleted})
    return deleted


def organisation_create(*, actor: User | None, name: str, short_name: str, country: Country) -> Organisation:
    """A new participating institute, with its members' group. Portal admins only."""
    action = Action.ORG_CREATED
    target = ("accounts.organisation", "", short_name)
    if actor is not None and not is_portal_admin(actor):
        refuse(actor, action, target, Reason.ONLY_PORTAL_ADMINS_CREATE_ORGANISATIONS, error=PermissionDenied)
    organisation = Organisation(name=(name or "").strip(), short_name=(short_name or "").strip(), country=country)
    clean_or_refuse(organisation, action, actor=actor, target=target, exclude=["group"])
    with transaction.atomic():
        organisation.save()
        record(action, actor=actor, target=organisation, details={"country": country.code})
    return organisation
