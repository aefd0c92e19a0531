from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import ClearanceGrant, ReadIn, ReadInNomination, User
from accounts.roles import Role, is_granted
from audit.models import Action, AuditEvent, Outcome
from tests.factories import ClearanceGrantFactory, PersonFactory, ReadInFactory, login_verified, tier, totp_device

pytestmark = pytest.mark.django_db

# name, method, which object the URL names
VIEWS = [
    ("org_members", "get", None),
    ("org_member_create", "get", None),
    ("org_member_create", "post", None),
    ("org_member", "get", "member"),
    ("org_clearance_grant", "post", "member"),
    ("org_readin_grant", "post", "member"),
    ("org_role_grant", "post", "member"),
    ("org_role_revoke", "post", "member"),
    ("org_mfa_reset", "post", "member"),
    ("org_member_deactivate", "post", "member"),
    ("org_clearance_approve", "post", "grant"),
    ("org_clearance_refuse", "post", "grant"),
    ("org_clearance_revoke", "post", "grant"),
    ("org_clearance_renew", "get", "grant"),
    ("org_clearance_renew", "post", "grant"),
    ("org_readin_revoke", "post", "readin"),
    ("org_nominations", "get", None),
    ("org_nominations", "post", None),
    ("org_nomination_approve", "post", "nomination"),
    ("org_nomination_decline", "post", "nomination"),
]
POST_ONLY = sorted(
    {name for name, method, _ in VIEWS if method == "post"}
    - {"org_member_create", "org_clearance_renew", "org_nominations"}
)


@pytest.fixture
def world(olivia, oscar, alice, compartment, usaisi):
    """A UK member with a pending SECRET grant and a read-in, and a US person nominated for the
    UK's compartment: the objects every URL names."""
    ReadInFactory(user=olivia, compartment=compartment)
    pending = ClearanceGrantFactory(
        user=alice,
        tier="secret",
        valid_until=timezone.now() + timedelta(days=30),
        status=ClearanceGrant.Status.PENDING,
        granted_by=oscar,
    )
    readin = ReadInFactory(user=alice, compartment=compartment, granted_by=olivia)
    nomination = ReadInNomination.objects.create(
        user=PersonFactory(organisation=usaisi),
        compartment=compartment,
        nominated_by=PersonFactory(organisation=usaisi, roles=["org_admin"]),
    )
    return {"member": alice, "grant": pending, "readin": readin, "nomination": nomination}


def _url(world, name, kind):
    return reverse(f"accounts:{name}", kwargs={"code": world[kind].code} if kind else None)


def _state():
    return (
        list(ClearanceGrant.objects.order_by("pk").values()),
        list(ReadIn.objects.order_by("pk").values()),
        list(ReadInNomination.objects.order_by("pk").values()),
        list(User.objects.order_by("pk").values("pk", "is_active")),
        TOTPDevice.objects.count(),
    )


@pytest.mark.parametrize(("name", "method", "kind"), VIEWS)
def test_anonymous_is_sent_to_sign_in(client, world, name, method, kind):
    before = _state()
    response = getattr(client, method)(_url(world, name, kind))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert _state() == before


@pytest.mark.parametrize(("name", "method", "kind"), [v for v in VIEWS if v[2]])
def test_outsider_admin_gets_404_and_is_audited(client, world, ursula, name, method, kind):
    login_verified(client, ursula)
    before = _state()
    response = getattr(client, method)(_url(world, name, kind))
    assert response.status_code == 404
    assert _state() == before
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, actor_id=ursula.pk, outcome=Outcome.DENIED).exists()


@pytest.mark.parametrize(("name", "method", "kind"), VIEWS)
def test_member_without_the_admin_role_gets_403(client, world, bob, name, method, kind):
    # alice is the member named in URLs; a fellow UK member without the role is the reader here.
    from tests.factories import PersonFactory

    reader = PersonFactory(organisation=world["member"].organisation)
    login_verified(client, reader)
    before = _state()
    response = getattr(client, method)(_url(world, name, kind))
    assert response.status_code == 403
    assert _state() == before
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, actor_id=reader.pk).exists()


@pytest.mark.parametrize("name", POST_ONLY)
def test_get_on_a_post_view_is_405(client, world, name):
    kind = next(k for n, _, k in VIEWS if n == name)
    login_verified(client, world["member"].organisation.members.get(email="olivia@ukasi.example"))
    before = _state()
    assert client.get(_url(world, name, kind)).status_code == 405
    assert _state() == before


def test_unknown_or_malformed_codes_are_404(client, olivia):
    login_verified(client, olivia)
    assert client.get("/accounts/org/members/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert client.get("/accounts/org/members/not-a-uuid/").status_code == 404


def test_member_list_shows_clearance_expiry_read_ins_and_pending(client, world, olivia):
    login_verified(client, olivia)
    response = client.get(reverse("accounts:org_members"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Alice Analyst" in body
    assert "OFFICIAL-SENSITIVE" in body
    assert "JOINT-EX-1" in body
    assert "Awaiting a second approval" in body
    assert reverse("accounts:org_clearance_approve", kwargs={"code": world["grant"].code}) in body
    assert "bob@" not in body  # another organisation's people never appear


def test_member_list_costs_the_same_for_more_members(client, olivia, ukasi, django_assert_num_queries):
    from tests.factories import PersonFactory, grant_clearance

    login_verified(client, olivia)
    url = reverse("accounts:org_members")
    client.get(url)  # the first request after sign-in starts the session clocks (a session write)
    # session, user, OTP device, organisation; role check (user + group permissions); members,
    # their valid grants, their valid read-ins, roles; pending grants. The navigation asks the
    # same role question, answered from the request's memo (accounts.roles.has_role).
    with django_assert_num_queries(11):
        assert client.get(url).status_code == 200
    for _ in range(15):
        grant_clearance(PersonFactory(organisation=ukasi), "official")
    with django_assert_num_queries(11):
        assert client.get(url).status_code == 200


def test_grant_through_the_page(client, olivia, alice):
    login_verified(client, olivia)
    until = (timezone.now() + timedelta(days=60)).date()
    response = client.post(
        reverse("accounts:org_clearance_grant", kwargs={"code": alice.code}),
        {"grant-tier": tier("official").pk, "grant-valid_until": until.isoformat(), "grant-reason": "exercise"},
    )
    assert response.status_code == 302
    grant = ClearanceGrant.objects.get(user=alice, tier__code="official")
    assert grant.valid_until.date() == until + timedelta(days=1)
    assert grant.granted_by == olivia


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"grant-tier": "", "grant-valid_until": "2099-01-01", "grant-reason": "x"}, "This field is required"),
        ({"grant-tier": "999999", "grant-valid_until": "2099-01-01", "grant-reason": "x"}, "Select a valid choice"),
        ({"grant-tier": "TIER", "grant-valid_until": "tomorrow", "grant-reason": ""}, "Enter a valid date"),
        ({"grant-tier": "TIER", "grant-valid_until": "2001-01-01", "grant-reason": "x"}, "must be in the future"),
    ],
)
def test_bad_grant_form_shows_an_error_summary_and_changes_nothing(client, olivia, alice, data, message):
    data = {k: (str(tier("official").pk) if v == "TIER" else v) for k, v in data.items()}
    login_verified(client, olivia)
    before = _state()
    response = client.post(reverse("accounts:org_clearance_grant", kwargs={"code": alice.code}), data)
    assert response.status_code == 400
    body = response.content.decode()
    assert "There is a problem" in body
    assert message in body
    assert _state() == before


def test_grant_above_own_clearance_is_explained(client, otto, alice):
    login_verified(client, otto)
    response = client.post(
        reverse("accounts:org_clearance_grant", kwargs={"code": alice.code}),
        {"grant-tier": tier("secret").pk, "grant-valid_until": "2099-01-01", "grant-reason": "x"},
    )
    assert response.status_code == 400
    assert "up to your own (OFFICIAL)" in response.content.decode()


def test_acting_on_oneself_is_explained_not_done(client, olivia):
    login_verified(client, olivia)
    totp_device(olivia)
    response = client.post(reverse("accounts:org_mfa_reset", kwargs={"code": olivia.code}))
    assert response.status_code == 400
    assert "your own access" in response.content.decode()
    assert TOTPDevice.objects.filter(user=olivia).exists()


def test_two_person_journey_through_the_pages(client, olivia, oscar, alice):
    login_verified(client, olivia)
    client.post(
        reverse("accounts:org_clearance_grant", kwargs={"code": alice.code}),
        {"grant-tier": tier("secret").pk, "grant-valid_until": "2099-01-01", "grant-reason": "x"},
    )
    grant = ClearanceGrant.objects.get(user=alice, tier__code="secret")
    assert grant.status == ClearanceGrant.Status.PENDING
    response = client.post(reverse("accounts:org_clearance_approve", kwargs={"code": grant.code}))
    assert response.status_code == 400
    assert "second admin" in response.content.decode()
    client.post(reverse("accounts:logout"))
    login_verified(client, oscar)
    assert client.post(reverse("accounts:org_clearance_approve", kwargs={"code": grant.code})).status_code == 302
    grant.refresh_from_db()
    assert grant.status == ClearanceGrant.Status.ACTIVE
    response = client.post(reverse("accounts:org_clearance_approve", kwargs={"code": grant.code}))
    assert response.status_code == 400
    assert "not awaiting approval" in response.content.decode()


def test_refuse_revoke_renew_read_in_role_mfa_and_deactivate_through_the_pages(client, world, olivia):
    alice, grant, readin = world["member"], world["grant"], world["readin"]
    login_verified(client, olivia)
    assert client.post(reverse("accounts:org_clearance_refuse", kwargs={"code": grant.code})).status_code == 302
    current = ClearanceGrant.objects.get(user=alice, tier__code="official-sensitive")
    renew = reverse("accounts:org_clearance_renew", kwargs={"code": current.code})
    assert client.get(renew).status_code == 200
    assert client.post(renew, {"valid_until": "2001-01-01", "reason": "r"}).status_code == 400
    assert client.post(renew, {"valid_until": "2099-01-01", "reason": "r"}).status_code == 302
    assert client.post(reverse("accounts:org_clearance_revoke", kwargs={"code": current.code})).status_code == 302
    assert client.post(reverse("accounts:org_readin_revoke", kwargs={"code": readin.code})).status_code == 302
    readin_url = reverse("accounts:org_readin_grant", kwargs={"code": alice.code})
    assert client.post(readin_url, {"readin-compartment": readin.compartment.pk}).status_code == 302
    assert client.post(readin_url, {"readin-compartment": readin.compartment.pk}).status_code == 400
    role_url = reverse("accounts:org_role_grant", kwargs={"code": alice.code})
    assert client.post(role_url, {"role-role": "release_officer"}).status_code == 302
    assert client.post(role_url, {"role-role": "wizard"}).status_code == 400
    revoke_role = reverse("accounts:org_role_revoke", kwargs={"code": alice.code})
    assert client.post(revoke_role, {"role-role": "release_officer"}).status_code == 302
    totp_device(alice)
    assert client.post(reverse("accounts:org_mfa_reset", kwargs={"code": alice.code})).status_code == 302
    assert client.post(reverse("accounts:org_member_deactivate", kwargs={"code": alice.code})).status_code == 302
    alice.refresh_from_db()
    assert not alice.is_active
    assert not is_granted(alice, Role.RELEASE_OFFICER, alice.organisation)
    assert not TOTPDevice.objects.filter(user=alice).exists()
    grant.refresh_from_db()
    assert grant.status == ClearanceGrant.Status.REFUSED
    actions = set(
        AuditEvent.objects.filter(actor_id=olivia.pk, outcome=Outcome.ALLOWED).values_list("action", flat=True)
    )
    assert {
        Action.CLEARANCE_REFUSED,
        Action.CLEARANCE_RENEWED,
        Action.CLEARANCE_REVOKED,
        Action.READIN_REVOKED,
        Action.READIN_GRANTED,
        Action.ROLE_GRANTED,
        Action.ROLE_REVOKED,
        Action.AUTH_MFA_RESET,
        Action.USER_DEACTIVATED,
    } <= actions


def test_member_create_page(client, olivia, ukasi):
    login_verified(client, olivia)
    url = reverse("accounts:org_member_create")
    response = client.post(url, {"email": "nina@ukasi.example", "display_name": "Nina New", "nationality": "CAN"})
    assert response.status_code == 302
    nina = User.objects.get(email="nina@ukasi.example")
    assert nina.organisation == ukasi
    assert nina.nationality_id == "CAN"
    response = client.post(url, {"email": "nina@ukasi.example", "display_name": "Again", "nationality": "CAN"})
    assert response.status_code == 400
    assert "exists" in response.content.decode()
    assert client.post(url, {"email": "not-an-email", "display_name": "", "nationality": "XXX"}).status_code == 400
    assert User.objects.filter(email__startswith="nina").count() == 1


def test_members_link_shown_only_to_org_admins(client, olivia, alice):
    login_verified(client, alice)
    assert reverse("accounts:org_members") not in client.get("/").content.decode()
    client.post(reverse("accounts:logout"))
    login_verified(client, olivia)
    assert reverse("accounts:org_members") in client.get("/").content.decode()
