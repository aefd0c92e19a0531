from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts import services
from accounts.models import ClearanceGrant, ReadIn, clearance_of
from audit.models import Action, AuditEvent, Outcome
from audit.reasons import Reason
from tests.factories import PersonFactory, ReadInFactory, tier

pytestmark = pytest.mark.django_db


def _in(days: int = 30):
    return timezone.now() + timedelta(days=days)


def _snapshot():
    return (
        list(ClearanceGrant.objects.order_by("pk").values_list("pk", "status", "revoked_at", "approved_by")),
        list(ReadIn.objects.order_by("pk").values_list("pk", "revoked_at")),
    )


def _denials(action, actor):
    return AuditEvent.objects.filter(action=action, outcome=Outcome.DENIED, actor_id=actor.pk if actor else None)


def test_admin_grants_a_member_of_their_own_organisation(olivia, alice):
    grant = services.clearance_grant(
        actor=olivia, user=alice, tier=tier("official-sensitive"), valid_until=_in(), reason="project"
    )
    assert grant.status == ClearanceGrant.Status.ACTIVE
    assert grant.granted_by == olivia
    event = AuditEvent.objects.get(action=Action.CLEARANCE_GRANTED, outcome=Outcome.ALLOWED)
    assert event.actor_id == olivia.pk
    assert event.target_id == str(grant.code)


@pytest.mark.parametrize(
    ("actor_name", "error", "code"),
    [
        ("ursula", PermissionDenied, Reason.OTHER_ORGANISATION),
        ("alice", PermissionDenied, Reason.NOT_ADMIN),
        ("olivia", ValidationError, Reason.SELF),
    ],
)
def test_grant_refused_outside_own_organisation_to_non_admins_and_to_oneself(
    request, olivia, alice, actor_name, error, code
):
    actor = request.getfixturevalue(actor_name)
    member = olivia if actor_name == "olivia" else alice
    before = _snapshot()
    with pytest.raises(error):
        services.clearance_grant(actor=actor, user=member, tier=tier("official"), valid_until=_in(), reason="x")
    assert _snapshot() == before
    denial = _denials(Action.CLEARANCE_GRANTED, actor).get()
    assert denial.details["reason"] == code


def test_admin_cannot_grant_above_their_own_clearance(otto, alice):
    before = _snapshot()
    with pytest.raises(ValidationError) as info:
        services.clearance_grant(actor=otto, user=alice, tier=tier("official-sensitive"), valid_until=_in(), reason="x")
    assert "up to your own (OFFICIAL)" in str(info.value)
    assert _snapshot() == before
    assert _denials(Action.CLEARANCE_GRANTED, otto).get().details["reason"] == Reason.ABOVE_OWN_CLEARANCE


def test_admin_whose_own_clearance_expired_cannot_grant(olivia, alice):
    ClearanceGrant.objects.filter(user=olivia).update(valid_until=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ValidationError):
        services.clearance_grant(actor=olivia, user=alice, tier=tier("official"), valid_until=_in(), reason="x")


def test_admin_whose_role_was_removed_cannot_grant(olivia, oscar, alice):
    services.role_revoke(actor=oscar, user=olivia, role="org_admin")
    with pytest.raises(PermissionDenied):
        services.clearance_grant(actor=olivia, user=alice, tier=tier("official"), valid_until=_in(), reason="x")


@pytest.mark.parametrize(("field", "value"), [("valid_until", -1), ("reason", "")])
def test_bad_grant_input_is_refused_and_audited(olivia, alice, field, value):
    kwargs = {"valid_until": _in(), "reason": "project"}
    kwargs[field] = _in(value) if field == "valid_until" else value
    before = _snapshot()
    with pytest.raises(ValidationError) as info:
        services.clearance_grant(actor=olivia, user=alice, tier=tier("official"), **kwargs)
    assert field in info.value.error_dict
    assert _snapshot() == before
    assert _denials(Action.CLEARANCE_GRANTED, olivia).exists()


def test_two_person_grant_stays_pending_until_a_second_admin_approves(olivia, oscar, alice):
    grant = services.clearance_grant(actor=olivia, user=alice, tier=tier("secret"), valid_until=_in(), reason="ex")
    assert grant.status == ClearanceGrant.Status.PENDING
    assert clearance_of(alice).code == "official-sensitive"
    assert AuditEvent.objects.filter(action=Action.CLEARANCE_REQUESTED, actor_id=olivia.pk).exists()

    with pytest.raises(ValidationError, match="second admin"):
        services.clearance_approve(actor=olivia, grant=grant)
    grant.refresh_from_db()
    assert grant.status == ClearanceGrant.Status.PENDING

    services.clearance_approve(actor=oscar, grant=grant)
    grant.refresh_from_db()
    assert grant.status == ClearanceGrant.Status.ACTIVE
    assert grant.approved_by == oscar
    assert clearance_of(alice).code == "secret"


def test_approval_is_refused_to_an_outsider_and_to_an_admin_below_the_tier(olivia, otto, ursula, alice):
    grant = services.clearance_grant(actor=olivia, user=alice, tier=tier("secret"), valid_until=_in(), reason="ex")
    with pytest.raises(PermissionDenied):
        services.clearance_approve(actor=ursula, grant=grant)
    with pytest.raises(ValidationError, match="up to your own"):
        services.clearance_approve(actor=otto, grant=grant)
    grant.refresh_from_db()
    assert grant.status == ClearanceGrant.Status.PENDING


def test_an_active_grant_cannot_be_approved_again(olivia, oscar, alice):
    grant = ClearanceGrant.objects.get(user=alice)
    with pytest.raises(ValidationError, match="not awaiting approval"):
        services.clearance_approve(actor=oscar, grant=grant)


def test_pending_grant_can_be_refused_and_never_counts(olivia, oscar, alice):
    grant = services.clearance_grant(actor=olivia, user=alice, tier=tier("secret"), valid_until=_in(), reason="ex")
    services.clearance_refuse(actor=oscar, grant=grant, reason="no need")
    grant.refresh_from_db()
    assert grant.status == ClearanceGrant.Status.REFUSED
    with pytest.raises(ValidationError):
        services.clearance_approve(actor=oscar, grant=grant)
    assert clearance_of(alice).code == "official-sensitive"


def test_revoked_grant_stops_counting_at_once(olivia, alice):
    grant = ClearanceGrant.objects.get(user=alice)
    services.clearance_revoke(actor=olivia, grant=grant, reason="left project")
    assert clearance_of(alice) is None
    assert AuditEvent.objects.filter(action=Action.CLEARANCE_REVOKED, target_id=str(grant.code)).exists()
    with pytest.raises(ValidationError, match="already revoked"):
        services.clearance_revoke(actor=olivia, grant=grant)


def test_expired_grant_stops_counting_the_second_it_expires(olivia, alice):
    now = timezone.now()
    grant = ClearanceGrant.objects.get(user=alice)
    ClearanceGrant.objects.filter(pk=grant.pk).update(valid_until=now + timedelta(seconds=5))
    assert clearance_of(alice, now + timedelta(seconds=4, microseconds=999_999)).code == "official-sensitive"
    assert clearance_of(alice, now + timedelta(seconds=5)) is None
    assert not ClearanceGrant.objects.valid_at(now + timedelta(seconds=5)).filter(pk=grant.pk).exists()


def test_future_grant_does_not_count_before_it_starts(olivia, alice):
    start = _in(2)
    services.clearance_grant(
        actor=olivia, user=alice, tier=tier("official"), valid_from=start, valid_until=_in(10), reason="later"
    )
    ClearanceGrant.objects.filter(user=alice, tier__code="official-sensitive").update(revoked_at=timezone.now())
    assert clearance_of(alice) is None
    assert clearance_of(alice, start).code == "official"


def test_renewal_replaces_the_grant_and_keeps_the_old_one_for_the_record(olivia, alice):
    old = ClearanceGrant.objects.get(user=alice)
    new = services.clearance_renew(
        actor=olivia, grant=old, valid_until=old.valid_until + timedelta(days=365), reason="r"
    )
    assert new.renews == old
    assert new.tier == old.tier
    assert new.status == ClearanceGrant.Status.ACTIVE
    assert AuditEvent.objects.filter(action=Action.CLEARANCE_RENEWED, target_id=str(new.code)).exists()
    ClearanceGrant.objects.filter(pk=old.pk).update(valid_until=timezone.now())
    assert clearance_of(alice).code == "official-sensitive"


def test_renewal_must_end_later_and_follow_the_same_rules(olivia, otto, alice):
    old = ClearanceGrant.objects.get(user=alice)
    with pytest.raises(ValidationError, match="end after"):
        services.clearance_renew(actor=olivia, grant=old, valid_until=old.valid_until, reason="r")
    with pytest.raises(ValidationError, match="up to your own"):
        services.clearance_renew(actor=otto, grant=old, valid_until=old.valid_until + timedelta(days=1), reason="r")
    assert ClearanceGrant.objects.filter(user=alice).count() == 1


def test_renewal_at_a_two_person_tier_waits_for_approval_without_a_gap(olivia, oscar, alice):
    first = services.clearance_grant(actor=olivia, user=alice, tier=tier("secret"), valid_until=_in(5), reason="x")
    services.clearance_approve(actor=oscar, grant=first)
    renewal = services.clearance_renew(actor=olivia, grant=first, valid_until=_in(400), reason="y")
    assert renewal.status == ClearanceGrant.Status.PENDING
    assert clearance_of(alice).code == "secret"


def test_revoked_grant_cannot_be_renewed(olivia, alice):
    old = ClearanceGrant.objects.get(user=alice)
    services.clearance_revoke(actor=olivia, grant=old)
    with pytest.raises(ValidationError, match="unrevoked"):
        services.clearance_renew(actor=olivia, grant=old, valid_until=_in(500), reason="r")


def test_deactivated_member_gets_no_new_clearance(olivia, alice):
    services.user_deactivate(actor=olivia, user=alice)
    with pytest.raises(ValidationError, match="deactivated"):
        services.clearance_grant(actor=olivia, user=alice, tier=tier("official"), valid_until=_in(), reason="x")


def test_system_grants_at_a_two_person_tier_are_active_at_once(ukasi):
    member = PersonFactory(organisation=ukasi)
    grant = services.clearance_grant(actor=None, user=member, tier=tier("secret"), valid_until=_in(), reason="seed")
    assert grant.status == ClearanceGrant.Status.ACTIVE
    assert AuditEvent.objects.get(action=Action.CLEARANCE_GRANTED).actor_label == "system"


# Read-ins


def test_admin_reads_a_member_in_and_out(olivia, alice, compartment):
    ReadInFactory(user=olivia, compartment=compartment)
    readin = services.readin_grant(actor=olivia, user=alice, compartment=compartment, expires_at=_in(90))
    assert ReadIn.objects.valid_now().filter(user=alice, compartment=compartment).exists()
    services.readin_revoke(actor=olivia, readin=readin)
    assert not ReadIn.objects.valid_now().filter(user=alice, compartment=compartment).exists()
    assert AuditEvent.objects.filter(action=Action.READIN_REVOKED, target_id=str(readin.code)).exists()
    with pytest.raises(ValidationError, match="already revoked"):
        services.readin_revoke(actor=olivia, readin=readin)


def test_admin_not_read_in_cannot_read_others_in(olivia, alice, compartment):
    before = _snapshot()
    with pytest.raises(ValidationError, match="read in to yourself"):
        services.readin_grant(actor=olivia, user=alice, compartment=compartment)
    assert _snapshot() == before
    assert _denials(Action.READIN_GRANTED, olivia).get().details["reason"] == Reason.NOT_READ_IN_YOURSELF


@pytest.mark.parametrize(("case", "message"), [("duplicate", "Already read in"), ("past", "future")])
def test_duplicate_or_past_read_in_is_refused(olivia, alice, compartment, case, message):
    ReadInFactory(user=olivia, compartment=compartment)
    if case == "duplicate":
        ReadInFactory(user=alice, compartment=compartment)
    before = _snapshot()
    with pytest.raises(ValidationError, match=message):
        services.readin_grant(
            actor=olivia, user=alice, compartment=compartment, expires_at=_in(-1) if case == "past" else None
        )
    assert _snapshot() == before


def test_read_in_refused_for_outsider_and_self(olivia, ursula, bob, alice, compartment):
    ReadInFactory(user=olivia, compartment=compartment)
    ReadInFactory(user=ursula, compartment=compartment)
    with pytest.raises(PermissionDenied):
        services.readin_grant(actor=ursula, user=alice, compartment=compartment)
    with pytest.raises(ValidationError, match="your own access"):
        services.readin_grant(actor=olivia, user=olivia, compartment=compartment)
    readin = ReadInFactory(user=bob, compartment=compartment)
    with pytest.raises(PermissionDenied):
        services.readin_revoke(actor=olivia, readin=readin)
    assert ReadIn.objects.get(pk=readin.pk).revoked_at is None


def test_expired_read_in_stops_counting_the_second_it_expires(alice, compartment):
    now = timezone.now()
    ReadIn.objects.create(user=alice, compartment=compartment, granted_at=now, expires_at=now + timedelta(seconds=3))
    assert ReadIn.objects.valid_at(now + timedelta(seconds=2)).filter(user=alice).exists()
    assert not ReadIn.objects.valid_at(now + timedelta(seconds=3)).filter(user=alice).exists()
