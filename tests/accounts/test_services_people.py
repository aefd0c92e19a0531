from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from accounts.access import is_org_admin
from accounts.models import Country, Organisation, User
from accounts.roles import Role, has_role
from audit.models import Action, AuditEvent, Outcome
from tests.factories import PersonFactory, totp_device

pytestmark = pytest.mark.django_db


def test_role_grant_and_revoke_are_guardian_permissions_on_the_organisation(olivia, alice, ukasi):
    assert not has_role(alice, Role.RELEASE_OFFICER, ukasi)
    services.role_grant(actor=olivia, user=alice, role="release_officer")
    alice = User.objects.get(pk=alice.pk)
    assert has_role(alice, Role.RELEASE_OFFICER, ukasi)
    services.role_revoke(actor=olivia, user=alice, role="release_officer")
    alice = User.objects.get(pk=alice.pk)
    assert not has_role(alice, Role.RELEASE_OFFICER, ukasi)
    assert list(
        AuditEvent.objects.filter(target_id=str(alice.code), action__startswith="role.").values_list(
            "action", flat=True
        )
    ) == [Action.ROLE_GRANTED, Action.ROLE_REVOKED]


def test_role_on_one_organisation_gives_nothing_on_another(olivia, usaisi):
    assert is_org_admin(olivia)
    assert not has_role(olivia, Role.ORG_ADMIN, usaisi)


@pytest.mark.parametrize(
    ("actor_name", "member_name", "role", "error"),
    [
        ("ursula", "alice", "release_officer", PermissionDenied),  # another organisation
        ("alice", "olivia", "author", PermissionDenied),  # not an admin
        ("olivia", "olivia", "signatory", ValidationError),  # oneself
        ("olivia", "alice", "emperor", ValidationError),  # no such role
        ("olivia", "alice", "author", ValidationError),  # already held
    ],
)
def test_role_grant_refusals_change_nothing_and_are_audited(request, actor_name, member_name, role, error):
    actor = request.getfixturevalue(actor_name)
    member = request.getfixturevalue(member_name)
    with pytest.raises(error):
        services.role_grant(actor=actor, user=member, role=role)
    assert AuditEvent.objects.filter(action=Action.ROLE_GRANTED, outcome=Outcome.DENIED, actor_id=actor.pk).exists()
    assert not AuditEvent.objects.filter(action=Action.ROLE_GRANTED, outcome=Outcome.ALLOWED).exists()


def test_revoking_a_role_not_held_is_refused(olivia, alice):
    with pytest.raises(ValidationError, match="do not have"):
        services.role_revoke(actor=olivia, user=alice, role="signatory")


def test_admin_cannot_remove_their_own_admin_role(olivia):
    with pytest.raises(ValidationError):
        services.role_revoke(actor=olivia, user=olivia, role="org_admin")
    assert is_org_admin(User.objects.get(pk=olivia.pk))


def test_org_admin_creates_a_member_of_their_organisation_in_its_group(olivia, ukasi):
    member = services.user_create(
        actor=olivia,
        organisation=ukasi,
        email=" New.Person@UKASI.example ",
        display_name="New",
        nationality=ukasi.country,
    )
    assert member.email == "new.person@ukasi.example"
    assert not member.has_usable_password()
    assert ukasi.group.user_set.filter(pk=member.pk).exists()
    assert AuditEvent.objects.filter(action=Action.USER_CREATED, target_id=str(member.code)).exists()


def test_org_admin_cannot_create_in_another_organisation_or_create_staff(olivia, usaisi, ukasi):
    with pytest.raises(PermissionDenied):
        services.user_create(
            actor=olivia, organisation=usaisi, email="x@y.example", display_name="X", nationality=ukasi.country
        )
    with pytest.raises(PermissionDenied):
        services.user_create(
            actor=olivia,
            organisation=ukasi,
            email="x@y.example",
            display_name="X",
            nationality=ukasi.country,
            is_staff=True,
        )
    assert not User.objects.filter(email="x@y.example").exists()


def test_duplicate_email_and_blank_name_are_refused(olivia, alice, ukasi):
    with pytest.raises(ValidationError) as info:
        services.user_create(
            actor=olivia, organisation=ukasi, email="ALICE@ukasi.example", display_name="A", nationality=ukasi.country
        )
    assert "email" in info.value.error_dict
    with pytest.raises(ValidationError) as info:
        services.user_create(
            actor=olivia, organisation=ukasi, email="b@ukasi.example", display_name=" ", nationality=ukasi.country
        )
    assert "display_name" in info.value.error_dict
    assert AuditEvent.objects.filter(action=Action.USER_CREATED, outcome=Outcome.DENIED).count() == 2


def test_deactivated_member_can_no_longer_sign_in(client, olivia, alice):
    from tests.factories import login_verified

    login_verified(client, alice)
    assert client.get("/").status_code == 200
    services.user_deactivate(actor=olivia, user=alice)
    assert client.get("/").status_code == 302
    with pytest.raises(ValidationError, match="already"):
        services.user_deactivate(actor=olivia, user=alice)


def test_mfa_reset_deletes_devices_and_is_audited(olivia, alice):
    totp_device(alice)
    assert services.mfa_reset(actor=olivia, user=alice) == 1
    assert not TOTPDevice.objects.filter(user=alice).exists()
    assert AuditEvent.objects.get(action=Action.AUTH_MFA_RESET).target_id == str(alice.code)


def test_mfa_reset_refused_to_outsider_non_admin_and_self(olivia, ursula, alice):
    totp_device(alice)
    totp_device(olivia)
    for actor, member, error in [
        (ursula, alice, PermissionDenied),
        (alice, olivia, PermissionDenied),
        (olivia, olivia, ValidationError),
    ]:
        with pytest.raises(error):
            services.mfa_reset(actor=actor, user=member)
    assert TOTPDevice.objects.count() == 2
    assert AuditEvent.objects.filter(action=Action.AUTH_MFA_RESET, outcome=Outcome.DENIED).count() == 3


def test_portal_admin_creates_an_organisation_with_its_group(db):
    admin = PersonFactory(organisation=None, is_staff=True)
    org = services.organisation_create(
        actor=admin, name="Canadian AI Safety Institute", short_name="cais", country=Country.objects.get(code="CAN")
    )
    assert org.group.name == f"org:{org.code}"
    assert AuditEvent.objects.filter(action=Action.ORG_CREATED, target_id=str(org.code)).exists()


def test_organisation_create_refused_to_non_staff_and_on_bad_input(olivia):
    country = Country.objects.get(code="CAN")
    with pytest.raises(PermissionDenied):
        services.organisation_create(actor=olivia, name="X", short_name="x", country=country)
    admin = PersonFactory(organisation=None, is_staff=True)
    with pytest.raises(ValidationError):
        services.organisation_create(actor=admin, name="Y", short_name="not a slug!", country=country)
    assert not Organisation.objects.filter(short_name__in=["x", "not a slug!"]).exists()
