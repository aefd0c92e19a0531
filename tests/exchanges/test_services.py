"""Point 1: proposed by either side, active only with both approvals, ended by either, extended by both."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.roles import Role, grant_role
from audit.access import ViewerScope
from audit.models import Action, AuditEvent, Outcome
from audit.selectors import visible_events
from exchanges import services
from exchanges.models import Secondment
from tests.factories import AgreementFactory, tier

DAY = timedelta(days=1)


def _propose(actor, person, home, host, agreement, **overrides):
    now = timezone.now()
    values = {
        "starts_at": now - DAY, "ends_at": now + 30 * DAY, "role": "analyst", "clearance": tier("secret"),
        "purpose": "Joint cyber evaluations",
    } | overrides  # fmt: skip
    return services.secondment_propose(actor=actor, person=person, home=home, host=host, agreement=agreement, **values)


def test_active_only_once_an_admin_of_each_side_approved(sid, ursula, olivia, usaisi, ukasi, exchange_agreement):
    secondment = _propose(ursula, sid, usaisi, ukasi, exchange_agreement)
    now = timezone.now()
    assert secondment.status == Secondment.Status.PROPOSED and not secondment.is_active_at(now)
    secondment = services.secondment_approve(actor=ursula, secondment=secondment)
    assert secondment.status == Secondment.Status.PROPOSED
    assert not Secondment.objects.active_at(now).exists()
    with pytest.raises(ValidationError) as caught:
        services.secondment_approve(actor=ursula, secondment=secondment)
    assert caught.value.code == "side_already_approved"
    secondment = services.secondment_approve(actor=olivia, secondment=secondment)
    assert secondment.status == Secondment.Status.APPROVED
    assert list(Secondment.objects.active_at(timezone.now())) == [secondment]


def test_the_host_may_propose_too(sid, olivia, usaisi, ukasi, exchange_agreement):
    assert _propose(olivia, sid, usaisi, ukasi, exchange_agreement).proposed_by == olivia


def test_someone_who_administers_neither_side_is_refused_and_audited(sid, alice, usaisi, ukasi, exchange_agreement):
    with pytest.raises(PermissionDenied):
        _propose(alice, sid, usaisi, ukasi, exchange_agreement)
    event = AuditEvent.objects.get(action=Action.SECONDMENT_PROPOSED)
    assert event.outcome == Outcome.DENIED and event.details["reason"] == "not_an_admin_of_either_side"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"agreement": "no_exchanges"}, "agreement_no_exchanges"),
        ({"person": "bob_is_home_not"}, "secondee_not_of_home"),
        ({"ends_at": -1}, "secondment_ends_before_start"),
        ({"ends_at": 400}, "secondment_after_agreement"),
        ({"host": "same"}, "secondment_same_organisation"),
    ],
)
def test_a_proposal_outside_the_rules_is_refused_with_its_reason(
    change, code, sid, alice, ursula, usaisi, ukasi, exchange_agreement
):
    agreement, person, host, extra = exchange_agreement, sid, ukasi, {}
    if change.get("agreement"):
        agreement = AgreementFactory(parties=[ukasi, usaisi])  # personnel_exchanges defaults to no
    if change.get("person"):
        person = alice
    if change.get("host"):
        host = usaisi
    if "ends_at" in change:
        extra["ends_at"] = timezone.now() + change["ends_at"] * DAY
    with pytest.raises(ValidationError) as caught:
        _propose(ursula, person, usaisi, host, agreement, **extra)
    assert caught.value.code == code
    assert not Secondment.objects.exists()
    assert AuditEvent.objects.get(action=Action.SECONDMENT_PROPOSED).details["reason"] == code


def test_overlapping_secondments_of_one_person_are_refused(secondment, sid, ursula, usaisi, ukasi, exchange_agreement):
    with pytest.raises(ValidationError) as caught:
        _propose(ursula, sid, usaisi, ukasi, exchange_agreement)
    assert caught.value.code == "secondment_overlaps"


def test_either_side_ends_it_early(secondment, olivia, ursula):
    ended = services.secondment_end(actor=olivia, secondment=secondment)
    assert ended.status == Secondment.Status.ENDED and not ended.is_active_at(timezone.now())
    with pytest.raises(ValidationError) as caught:
        services.secondment_end(actor=ursula, secondment=secondment)
    assert caught.value.code == "secondment_over"


def test_a_partner_admin_of_neither_side_may_not_end_it(secondment, alice):
    with pytest.raises(PermissionDenied):
        services.secondment_end(actor=alice, secondment=secondment)
    assert Secondment.objects.get().status == Secondment.Status.APPROVED


def test_an_extension_needs_both_sides_again(secondment, olivia, ursula):
    due = secondment.ends_at
    later = due + 30 * DAY
    services.secondment_extension_propose(actor=olivia, secondment=secondment, ends_at=later)
    services.secondment_extension_approve(actor=olivia, secondment=secondment)
    assert Secondment.objects.get().ends_at == due
    services.secondment_extension_approve(actor=ursula, secondment=secondment)
    assert Secondment.objects.get().ends_at == later


def test_an_extension_must_be_later(secondment, olivia):
    with pytest.raises(ValidationError) as caught:
        services.secondment_extension_propose(actor=olivia, secondment=secondment, ends_at=secondment.ends_at)
    assert caught.value.code == "extension_not_later"


def test_both_sides_admins_see_every_step_and_a_third_does_not(
    sid, ursula, olivia, usaisi, ukasi, canada, exchange_agreement
):
    secondment = _propose(olivia, sid, usaisi, ukasi, exchange_agreement)
    services.secondment_approve(actor=olivia, secondment=secondment)
    services.secondment_approve(actor=ursula, secondment=secondment)
    services.secondment_end(actor=olivia, secondment=secondment)
    steps = [
        Action.SECONDMENT_PROPOSED,
        Action.SECONDMENT_APPROVED,
        Action.SECONDMENT_APPROVED,
        Action.SECONDMENT_ENDED,
    ]
    for organisation in (usaisi, ukasi):
        scope = ViewerScope(everything=False, organisation_ids=frozenset({organisation.pk}))
        seen = visible_events(scope).filter(target_type="exchanges.secondment").order_by("seq")
        assert list(seen.values_list("action", flat=True)) == steps
    third = ViewerScope(everything=False, organisation_ids=frozenset({canada.pk}))
    assert not visible_events(third).filter(target_type="exchanges.secondment").exists()


def test_a_secondee_who_is_an_admin_approves_neither_their_secondment_nor_its_extension(
    sid, ursula, olivia, usaisi, ukasi, exchange_agreement
):
    grant_role(sid, Role.ORG_ADMIN, usaisi)
    secondment = _propose(ursula, sid, usaisi, ukasi, exchange_agreement)
    with pytest.raises(PermissionDenied):
        services.secondment_approve(actor=sid, secondment=secondment)
    secondment.refresh_from_db()
    assert secondment.home_approved_at is None
    secondment = services.secondment_approve(actor=ursula, secondment=secondment)  # a colleague does
    secondment = services.secondment_approve(actor=olivia, secondment=secondment)
    services.secondment_extension_propose(actor=ursula, secondment=secondment, ends_at=secondment.ends_at + 30 * DAY)
    with pytest.raises(PermissionDenied):
        services.secondment_extension_approve(actor=sid, secondment=secondment)
    refused = AuditEvent.objects.filter(outcome=Outcome.DENIED, details__reason="self")
    assert refused.count() == 2
