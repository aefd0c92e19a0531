"""The roles people hold, how each is held, and the one test for each.

Organisation roles are django-guardian object permissions on an `Organisation` (the codenames
are declared in `Organisation.Meta.permissions`, so they are data a migration created):

| role              | guardian codename on the Organisation | lets its holder                          |
|-------------------|---------------------------------------|------------------------------------------|
| `author`          | `author_document`                     | write findings and ask for their release |
| `release_officer` | `approve_release`                     | decide and revoke the releases of its documents |
| `org_admin`       | `manage_members`                      | manage members, clearances and read-ins  |
| `signatory`       | `sign_agreement`                      | sign sharing agreements for it           |

A partner *reviewer* holds no role: being a member (the organisation's group) is enough, and
what a member may read is the access policy's business (`sharing/policy.py`), through document
audiences (`view_document` on documents), not through roles.

A *portal admin* is not an organisation role: it is the staff flag, on an active account whose
session, when it has one, is MFA-verified — the Django admin's own rule (`OTPAdminSite`), and
the one meaning of "portal admin" everywhere.

Every check goes through `has_role` / `require_role` / `is_portal_admin`; no other module types
a role's codename or reads `is_staff` to decide anything.

Phishing-resistant sign-in is part of holding a role. Organisation admins, release officers,
signatories and portal admins act only in a session verified with a security key or passkey
(WebAuthn): in a session verified with TOTP their role answers as not held, so every gate that
asks `has_role` refuses them until they verify with a key. The other roles act after TOTP. The
embedded demo's `ACCORD_PRIVILEGED_TOTP` lets TOTP do for every role (production refuses to
start with it). `session_is_strong_enough` is that rule; the freshness a few actions need on top
(step-up) is `accounts/stepup.py`'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import QuerySet
from django_otp_webauthn.models import WebAuthnCredential
from guardian.core import ObjectPermissionChecker
from guardian.shortcuts import assign_perm, get_objects_for_user, remove_perm

from audit.models import Action
from audit.reasons import Reason
from audit.services import refuse

from .models import ACTING_FOR_HOST, Organisation, OrganisationUserObjectPermission, User


class Role(models.TextChoices):
    """The stored names (forms, audit details) and how the pages name them."""

    AUTHOR = "author", "Author (writes findings)"
    RELEASE_OFFICER = "release_officer", "Release officer (approves releases)"
    ORG_ADMIN = "org_admin", "Organisation admin (manages members)"
    SIGNATORY = "signatory", "Signatory (signs agreements)"


CODENAMES: dict[str, str] = {
    Role.AUTHOR: "author_document",
    Role.RELEASE_OFFICER: "approve_release",
    Role.ORG_ADMIN: "manage_members",
    Role.SIGNATORY: "sign_agreement",
}
ROLE_OF_CODENAME: dict[str, Role] = {codename: Role(role) for role, codename in CODENAMES.items()}

# The roles whose holders act only in a session verified with a security key or passkey (and
# portal admins, who hold no organisation role): OWASP ASVS 5.0 level 3, NIST SP 800-63B AAL3.
PHISHING_RESISTANT_ROLES: frozenset[str] = frozenset({Role.RELEASE_OFFICER, Role.ORG_ADMIN, Role.SIGNATORY})

# What a refusal for want of the role says in the audit trail, and to the caller.
_REFUSAL = {
    Role.AUTHOR: (Reason.NOT_AN_AUTHOR, "author role needed"),
    Role.RELEASE_OFFICER: (Reason.NOT_A_RELEASE_OFFICER, "release officer role needed"),
    Role.ORG_ADMIN: (Reason.NOT_AN_ORGANISATION_ADMIN, "organisation admin role needed"),
    Role.SIGNATORY: (Reason.NOT_A_SIGNATORY, "signatory role needed"),
}


def permission(role: str) -> str:
    """The guardian permission (`app_label.codename`) that carries `role`."""
    return f"accounts.{CODENAMES[role]}"


# Within one request the same role question is asked several times (a page's buttons, its
# gates); guardian answers each with queries. `RoleMemoMiddleware` opens a memo per request;
# outside one (tasks, the shell, tests) every question goes to guardian.
_memo: ContextVar[dict | None] = ContextVar("accord_role_memo", default=None)


@contextmanager
def remembered_roles() -> Iterator[None]:
    """Answer each (user, role, organisation) question once inside the block (one request)."""
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def _forget_roles() -> None:
    memo = _memo.get()
    if memo is not None:
        memo.clear()


def totp_suffices() -> bool:
    """The embedded demo's setting: TOTP is enough for every role (never in production)."""
    return bool(settings.ACCORD_PRIVILEGED_TOTP)


def is_webauthn(device: Any) -> bool:
    """Is `device` a security key or passkey (not an authenticator app)?"""
    return isinstance(device, WebAuthnCredential)


def session_is_strong_enough(user: Any, role: str | None) -> bool:
    """May `user` act as `role` (None: as a portal admin) in the session they came with?

    - a role outside PHISHING_RESISTANT_ROLES: yes (its session passed TOTP already);
    - the demo's ACCORD_PRIVILEGED_TOTP: yes;
    - a user that carries no session (loaded by a task, or the API's token user, whose own rule
      is the `decide` scope): yes;
    - otherwise only if the session was verified with a security key or passkey.
    """
    if role is not None and role not in PHISHING_RESISTANT_ROLES:
        return True
    if totp_suffices():
        return True
    if not hasattr(user, "otp_device"):
        return True
    return is_webauthn(user.otp_device)


def needs_security_key(user: User) -> bool:
    """Does `user` hold a role, or the staff flag, that acts only after a security key (whatever
    their current session was verified with)?"""
    if user.is_staff:
        return True
    organisation = user.organisation
    return organisation is not None and any(
        user.has_perm(permission(role), organisation) for role in sorted(PHISHING_RESISTANT_ROLES)
    )


def has_role(user: Any, role: str, organisation: Organisation | None) -> bool:
    """Does `user` hold `role` on `organisation`, now, in this session?

    Guardian's answer: the account is active, and the role is granted to the user by name or to
    a group of theirs, or the user is a superuser. No organisation means no role (never a global
    permission: roles exist only on an organisation). Asked again in the same request, the
    first answer (a grant or revocation in between forgets every answer). A role that needs a
    security key answers no in a session not verified with one (`session_is_strong_enough`).
    """
    if organisation is None:
        return False
    if not session_is_strong_enough(user, role):
        return False
    affiliation = getattr(user, ACTING_FOR_HOST, None)
    if affiliation is not None:
        return _seconded_role(affiliation, role, organisation)
    memo = _memo.get()
    if memo is None:
        return user.has_perm(permission(role), organisation)
    # Every role of the person on the organisation at once (guardian's two queries, whichever
    # role is asked first), so a page asking about several roles pays once.
    key = (getattr(user, "pk", None), user.is_active, bool(getattr(user, "is_superuser", False)), organisation.pk)
    if key not in memo:
        memo[key] = _held_roles(user, organisation)
    return role in memo[key]


def _held_roles(user: Any, organisation: Organisation) -> frozenset[str]:
    """The roles `user` holds on `organisation`, as `user.has_perm` would answer each one."""
    if not user.is_active:
        return frozenset()
    if getattr(user, "is_superuser", False):
        return frozenset(CODENAMES)
    codenames = set(ObjectPermissionChecker(user).get_perms(organisation))
    return frozenset(role for role, codename in CODENAMES.items() if codename in codenames)


def _seconded_role(affiliation: Any, role: str, organisation: Organisation) -> bool:
    """A secondee acting for the host holds the secondment's role there and nothing else: an
    analyst writes (author) for the host; no admin, release or signing role, on any
    organisation, the home's own roles included (`accounts.affiliations`)."""
    return organisation.pk == affiliation.host.pk and role == Role.AUTHOR and affiliation.writes


def require_role(
    user: Any, role: str, organisation: Organisation | None, *, target: Any = None, wanted: str = ""
) -> Organisation:
    """`organisation` if `user` holds `role` on it; otherwise the refusal is audited and
    PermissionDenied (403) raised: a person may know which roles they lack."""
    if has_role(user, role, organisation):
        return organisation
    reason, message = _REFUSAL[role]
    if (
        organisation is not None
        and not session_is_strong_enough(user, role)
        and user.has_perm(permission(role), organisation)
    ):
        reason, message = Reason.SECURITY_KEY_NEEDED, Reason.SECURITY_KEY_NEEDED.sentence()
    refuse(user, Action.ACCESS_DENIED, target, reason, error=PermissionDenied(message), details={"wanted": wanted})


def is_granted(user: User, role: str, organisation: Organisation) -> bool:
    """Is `role` granted to `user` by name on `organisation`?

    What `grant_role` and `revoke_role` change, so what the role services ask before they do
    (superuser status and group grants do not count); gates ask `has_role`.
    """
    return OrganisationUserObjectPermission.objects.filter(
        user=user, content_object=organisation, permission__codename=CODENAMES[role]
    ).exists()


def grant_role(user: User, role: str, organisation: Organisation) -> None:
    """Grant `role` on `organisation` to `user` by name. Not audited: people are given roles
    through `accounts.services.role_grant`; this is the storage it writes."""
    _forget_roles()
    assign_perm(permission(role), user, organisation)


def revoke_role(user: User, role: str, organisation: Organisation) -> None:
    """Take back a role granted by name (the storage `accounts.services.role_revoke` writes)."""
    _forget_roles()
    remove_perm(permission(role), user, organisation)


def holders(role: str, organisations: Organisation | QuerySet) -> QuerySet[User]:
    """The people `role` is granted to by name on `organisation` (or on any of a queryset of
    organisations or their ids), as one query: who an inbox or a notification is for."""
    if isinstance(organisations, Organisation):
        organisations = [organisations.pk]
    granted = OrganisationUserObjectPermission.objects.filter(
        content_object_id__in=organisations, permission__codename=CODENAMES[role]
    )
    return User.objects.filter(pk__in=granted.values("user_id"))


def organisations_where(user: Any, role: str) -> QuerySet[Organisation]:
    """The organisations on which `user` holds `role`, granted by name or to a group of theirs
    (a superuser: all of them); none in a session too weak for the role."""
    if not session_is_strong_enough(user, role):
        return Organisation.objects.none()
    affiliation = getattr(user, ACTING_FOR_HOST, None)
    if affiliation is not None:
        held = _seconded_role(affiliation, role, affiliation.host)
        return Organisation.objects.filter(pk=affiliation.host.pk) if held else Organisation.objects.none()
    return get_objects_for_user(user, permission(role), klass=Organisation, accept_global_perms=False)


def is_portal_admin(user: Any) -> bool:
    """A portal admin: signed in, active, staff, and — when the user comes from a request, which
    carries OTP's `is_verified` — with a session verified by a second factor, a security key
    unless the demo's setting lets TOTP do (`session_is_strong_enough`). API requests say
    so for themselves (the token is the second factor); users loaded by tasks carry no session."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if not (user.is_active and user.is_staff):
        return False
    if getattr(user, ACTING_FOR_HOST, None) is not None:
        return False  # a secondee acting for a host holds the secondment's role only
    verified = getattr(user, "is_verified", None)
    if callable(verified) and not verified():
        return False
    return session_is_strong_enough(user, None)
