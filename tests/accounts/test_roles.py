"""The roles module: every role, held or not, on the holder's own organisation or another, and
what a portal admin is."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from guardian.shortcuts import assign_perm

from accounts.models import Organisation
from accounts.roles import (
    CODENAMES,
    ROLE_OF_CODENAME,
    Role,
    grant_role,
    has_role,
    holders,
    is_granted,
    is_portal_admin,
    organisations_where,
    permission,
    require_role,
    revoke_role,
)
from audit.models import Action, AuditEvent
from audit.reasons import Reason
from tests.factories import PersonFactory, give_role

pytestmark = pytest.mark.django_db

ROLES = list(Role)


@pytest.fixture
def member(ukasi):
    """A UK member holding no role."""
    return PersonFactory(organisation=ukasi)


def test_every_role_is_a_permission_declared_on_organisation_and_every_such_permission_a_role():
    declared = {codename for codename, _ in Organisation._meta.permissions}
    assert set(CODENAMES.values()) == declared
    assert set(CODENAMES) == set(Role)
    assert {ROLE_OF_CODENAME[codename] for codename in declared} == set(Role)


@pytest.mark.parametrize("role", ROLES)
def test_a_holder_has_the_role_on_their_own_organisation(role, member, ukasi):
    grant_role(member, role, ukasi)
    assert has_role(member, role, ukasi)
    assert is_granted(member, role, ukasi)


@pytest.mark.parametrize("role", ROLES)
def test_a_holder_has_not_the_role_on_another_organisation(role, member, ukasi, usaisi):
    grant_role(member, role, ukasi)
    assert not has_role(member, role, usaisi)
    assert not is_granted(member, role, usaisi)


@pytest.mark.parametrize("role", ROLES)
def test_a_member_without_the_role_has_it_nowhere(role, member, ukasi, usaisi):
    other_roles = [other for other in ROLES if other != role]
    for other in other_roles:
        grant_role(member, other, ukasi)
    assert not has_role(member, role, ukasi)
    assert not has_role(member, role, usaisi)


@pytest.mark.parametrize("role", ROLES)
def test_a_role_granted_on_another_organisation_counts_there_only(role, member, ukasi, usaisi):
    grant_role(member, role, usaisi)
    assert has_role(member, role, usaisi)
    assert not has_role(member, role, ukasi)


@pytest.mark.parametrize("role", ROLES)
def test_a_deactivated_holder_has_no_role(role, member, ukasi):
    grant_role(member, role, ukasi)
    member.is_active = False
    member.save(update_fields=["is_active"])
    assert not has_role(member, role, ukasi)
    assert is_granted(member, role, ukasi)  # the grant is kept; it just stops counting


@pytest.mark.parametrize("role", ROLES)
def test_no_organisation_means_no_role(role, member):
    assert not has_role(member, role, None)


@pytest.mark.parametrize("role", ROLES)
def test_an_anonymous_visitor_has_no_role(role, ukasi):
    assert not has_role(AnonymousUser(), role, ukasi)


@pytest.mark.parametrize("role", ROLES)
def test_a_role_granted_to_the_organisations_group_counts_for_its_members(role, member, ukasi):
    member.groups.add(ukasi.group)
    assign_perm(permission(role), ukasi.group, ukasi)
    assert has_role(member, role, ukasi)
    assert not is_granted(member, role, ukasi)  # not granted by name: the role services leave it alone


def test_a_superuser_holds_every_role_without_a_grant(ukasi):
    root = PersonFactory(organisation=None, is_staff=True, is_superuser=True)
    assert all(has_role(root, role, ukasi) for role in ROLES)
    assert not any(is_granted(root, role, ukasi) for role in ROLES)


@pytest.mark.parametrize("role", ROLES)
def test_revoking_takes_the_role_away(role, member, ukasi):
    grant_role(member, role, ukasi)
    revoke_role(member, role, ukasi)
    assert not has_role(member, role, ukasi)
    assert not is_granted(member, role, ukasi)


@pytest.mark.parametrize("role", ROLES)
def test_require_role_returns_the_organisation_to_a_holder(role, member, ukasi):
    give_role(member, role)
    assert require_role(member, role, ukasi, wanted="anything") == ukasi
    assert not AuditEvent.objects.filter(outcome="denied").exists()


@pytest.mark.parametrize(
    ("role", "reason"),
    [
        (Role.AUTHOR, Reason.NOT_AN_AUTHOR),
        (Role.RELEASE_OFFICER, Reason.NOT_A_RELEASE_OFFICER),
        (Role.ORG_ADMIN, Reason.NOT_AN_ORGANISATION_ADMIN),
        (Role.SIGNATORY, Reason.NOT_A_SIGNATORY),
    ],
)
def test_require_role_refuses_with_403_and_records_it(role, reason, member, ukasi, usaisi):
    give_role(member, role)  # on their own organisation, not on the one asked about
    with pytest.raises(PermissionDenied):
        require_role(member, role, usaisi, target=usaisi, wanted="sign")
    denial = AuditEvent.objects.get(outcome="denied")
    assert denial.action == Action.ACCESS_DENIED
    assert denial.details == {"reason": reason, "wanted": "sign"}


def test_holders_are_the_people_granted_the_role_on_the_organisation(ukasi, usaisi):
    uk_signatory, us_signatory, uk_author = (PersonFactory(organisation=o) for o in (ukasi, usaisi, ukasi))
    give_role(uk_signatory, Role.SIGNATORY)
    give_role(us_signatory, Role.SIGNATORY)
    give_role(uk_author, Role.AUTHOR)
    assert set(holders(Role.SIGNATORY, ukasi)) == {uk_signatory}
    both = Organisation.objects.filter(pk__in=[ukasi.pk, usaisi.pk])
    assert set(holders(Role.SIGNATORY, both)) == {uk_signatory, us_signatory}
    assert set(holders(Role.AUTHOR, usaisi)) == set()


def test_organisations_where_a_person_holds_a_role(member, ukasi, usaisi):
    grant_role(member, Role.ORG_ADMIN, usaisi)
    assert list(organisations_where(member, Role.ORG_ADMIN)) == [usaisi]
    assert not organisations_where(member, Role.AUTHOR).exists()


# -- portal admin -----------------------------------------------------------------------------


def test_an_active_staff_account_is_a_portal_admin():
    assert is_portal_admin(PersonFactory(organisation=None, is_staff=True))


def test_an_inactive_staff_account_is_not_a_portal_admin():
    assert not is_portal_admin(PersonFactory(organisation=None, is_staff=True, is_active=False))


def test_a_member_who_is_not_staff_is_not_a_portal_admin(member, ukasi):
    for role in ROLES:
        grant_role(member, role, ukasi)
    assert not is_portal_admin(member)


def test_nobody_signed_in_is_not_a_portal_admin():
    assert not is_portal_admin(AnonymousUser())
    assert not is_portal_admin(None)


def test_a_staff_session_not_yet_past_its_second_factor_is_not_a_portal_admin():
    staff = PersonFactory(organisation=None, is_staff=True)
    staff.is_verified = lambda: False  # as OTPMiddleware marks a request's user before TOTP
    assert not is_portal_admin(staff)
    staff.is_verified = lambda: True
    assert is_portal_admin(staff)


# -- nobody else decides by hand --------------------------------------------------------------

APPS = ["accounts", "api", "audit", "evals", "outbox", "portal", "sharing"]


def _app_sources():
    root = Path(settings.BASE_DIR)
    for app in APPS + [name for name in ("vault", "demo", "exercises", "exchanges") if (root / name).is_dir()]:
        for path in (root / app).rglob("*.py"):
            if "migrations" not in path.parts:
                yield root, path


def test_no_module_but_roles_types_a_role_codename():
    """A role's codename appears in roles.py and in the model's Meta.permissions, nowhere else."""
    allowed = {Path("accounts/roles.py"), Path("accounts/models.py")}
    typed = {*CODENAMES.values(), *(permission(role) for role in Role)}
    offenders = []
    for root, path in _app_sources():
        if path.relative_to(root) in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in typed:
                offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert offenders == []


def test_no_module_but_roles_decides_on_the_staff_flag():
    """`is_staff` is read to decide only in roles.is_portal_admin (people.py records the flag)."""
    allowed = {Path("accounts/roles.py"), Path("accounts/services/people.py")}
    offenders = []
    for root, path in _app_sources():
        if path.relative_to(root) in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "is_staff" and isinstance(node.ctx, ast.Load):
                offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    templates = Path(settings.BASE_DIR) / "templates"
    offenders += [str(path) for path in templates.rglob("*.html") if ".is_staff" in path.read_text()]
    assert offenders == []
