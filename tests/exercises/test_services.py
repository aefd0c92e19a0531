"""Setting up an exercise and moving it through its phases: every rule refuses with an audited
denial and writes nothing; every step is audited."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.compartments import nominable_by, visible_to
from accounts.models import Compartment, ReadIn
from accounts.services import readin_nominate, readin_nomination_approve
from audit.models import Action, AuditEvent, Outcome
from audit.reasons import Reason
from exercises.models import Exercise, Participant
from exercises.policy import can_see
from exercises.services import exercise_advance, protocol_draft, protocol_sign
from tests.factories import DAY, AgreementFactory, domains, tier

from .support import TASKS, make_exercise, member

pytestmark = pytest.mark.django_db


def _denied(action, reason) -> AuditEvent:
    return AuditEvent.objects.filter(action=action, outcome=Outcome.DENIED).latest("seq")


def test_create_makes_a_compartment_owned_by_the_lead_with_the_creator_read_in(exercise, olivia, ukasi, usaisi):
    compartment = exercise.compartment
    assert compartment.code == "joint-ex-9" and compartment.owner == ukasi
    assert ReadIn.objects.valid_now().filter(user=olivia, compartment=compartment).exists()
    assert set(Participant.objects.filter(exercise=exercise).values_list("organisation", flat=True)) == {
        ukasi.pk,
        usaisi.pk,
    }
    assert exercise.lead == ukasi and exercise.phase == Exercise.Phase.PLANNING
    assert {c.pk for c in exercise.releasable_to.all()} == {"GBR", "USA"}
    assert [str(m) for m in exercise.reference_models.all()] == ["Open Lab Model R 1"]
    event = AuditEvent.objects.get(action=Action.EXERCISE_CREATED)
    assert event.target_id == str(exercise.code)
    assert event.details["participants"] == ["caisi", "ukasi"] and event.details["compartment"] == "joint-ex-9"
    assert AuditEvent.objects.filter(action=Action.COMPARTMENT_CREATED, target_id="joint-ex-9").exists()
    assert can_see(olivia, exercise)


def _refused_and_nothing_written(call, error, reason):
    before = (Exercise.objects.count(), Compartment.objects.count())
    with pytest.raises(error):
        call()
    assert (Exercise.objects.count(), Compartment.objects.count()) == before
    denial = AuditEvent.objects.filter(action=Action.EXERCISE_CREATED, outcome=Outcome.DENIED).latest("seq")
    assert denial.details["reason"] == reason


@pytest.mark.parametrize("status", ["suspended", "draft", "terminated"])
def test_create_refuses_an_agreement_not_in_force(olivia, ukasi, usaisi, status):
    agreement = AgreementFactory(parties=[ukasi, usaisi], status=status)
    _refused_and_nothing_written(
        lambda: make_exercise(olivia, agreement, usaisi), ValidationError, Reason.AGREEMENT_NOT_IN_FORCE
    )


def test_create_refuses_an_agreement_past_its_expiry(olivia, ukasi, usaisi):
    agreement = AgreementFactory(parties=[ukasi, usaisi], effective_from=timezone.now() - 9 * DAY,
                                 expires_at=timezone.now() - DAY)  # fmt: skip
    _refused_and_nothing_written(
        lambda: make_exercise(olivia, agreement, usaisi), ValidationError, Reason.AGREEMENT_NOT_IN_FORCE
    )


def test_create_refuses_a_participant_not_party_to_the_agreement(olivia, usaisi, canada, uk_us_agreement):
    _refused_and_nothing_written(
        lambda: make_exercise(olivia, uk_us_agreement, usaisi, canada),
        ValidationError,
        Reason.ORGANISATION_NOT_A_PARTY_TO_AGREEMENT,
    )


def test_create_refuses_a_lead_not_party_to_the_agreement(ukasi, usaisi, canada):
    agreement = AgreementFactory(parties=[usaisi, canada])
    admin = member(ukasi, roles=["org_admin"])
    _refused_and_nothing_written(
        lambda: make_exercise(admin, agreement, usaisi), ValidationError, Reason.ORGANISATION_NOT_A_PARTY_TO_AGREEMENT
    )


def test_create_refuses_a_risk_domain_outside_the_agreements_topics(olivia, usaisi, uk_us_agreement):
    _refused_and_nothing_written(
        lambda: make_exercise(olivia, uk_us_agreement, usaisi, risk_domains=domains("cbrn")),
        ValidationError,
        Reason.RISK_DOMAIN_OUTSIDE_TOPICS,
    )


def test_create_refuses_a_tier_above_the_agreements_ceiling(olivia, usaisi, uk_us_agreement):
    _refused_and_nothing_written(
        lambda: make_exercise(olivia, uk_us_agreement, usaisi, tier=tier("secret")),
        ValidationError,
        Reason.TIER_ABOVE_CEILING,
    )


def test_create_refuses_an_exercise_without_a_partner(olivia, uk_us_agreement):
    _refused_and_nothing_written(
        lambda: make_exercise(olivia, uk_us_agreement), ValidationError, Reason.EXERCISE_NEEDS_A_PARTNER
    )


def test_create_refuses_someone_who_is_not_an_admin_of_the_lead(alice, usaisi, uk_us_agreement):
    _refused_and_nothing_written(
        lambda: make_exercise(alice, uk_us_agreement, usaisi), PermissionDenied, Reason.NOT_AN_ORGANISATION_ADMIN
    )


def test_create_refuses_a_reference_taken(exercise, olivia, usaisi, uk_us_agreement):
    _refused_and_nothing_written(
        lambda: make_exercise(olivia, uk_us_agreement, usaisi, reference="joint-ex-9"),
        ValidationError,
        Reason.EXERCISE_REFERENCE_TAKEN,
    )


def test_create_refuses_a_bad_reference_or_empty_target(olivia, usaisi, uk_us_agreement):
    _refused_and_nothing_written(
        lambda: make_exercise(olivia, uk_us_agreement, usaisi, reference="JOINT EX!"), ValidationError, Reason.INVALID
    )
    _refused_and_nothing_written(
        lambda: make_exercise(olivia, uk_us_agreement, usaisi, target_name=""), ValidationError, Reason.INVALID
    )


def test_partner_admin_nominates_and_the_leads_admin_approves_the_read_in(
    exercise, ursula, bob, olivia, usaisi, canada
):
    # The participant's admin sees the compartment to nominate for; an outsider's does not.
    assert exercise.compartment in nominable_by(usaisi)
    assert exercise.compartment not in visible_to(canada)
    assert not can_see(bob, exercise)
    nomination = readin_nominate(actor=ursula, user=bob, compartment=exercise.compartment)
    readin_nomination_approve(actor=olivia, nomination=nomination)
    assert can_see(bob, exercise)


def _adopt(exercise, lead, *signatories):
    version = protocol_draft(actor=lead, exercise=exercise, target_model="lab/model-x", reference_models=["lab/r"],
                             tasks=TASKS)  # fmt: skip
    for signatory in signatories:
        version = protocol_sign(actor=signatory, version=version, digest=version.digest)
    return version


def test_phases_move_one_step_at_a_time_each_audited(exercise, uk_lead_author, uk_signatory, us_signatory):
    _adopt(exercise, uk_lead_author, uk_signatory, us_signatory)
    for phase in ("running", "analysis", "reporting", "closed"):
        exercise = exercise_advance(actor=uk_lead_author, exercise=exercise, to=phase)
        assert exercise.phase == phase
    moves = AuditEvent.objects.filter(action=Action.EXERCISE_PHASE_CHANGED, outcome=Outcome.ALLOWED).order_by("seq")
    assert [(e.details["from"], e.details["to"]) for e in moves] == [
        ("planning", "running"),
        ("running", "analysis"),
        ("analysis", "reporting"),
        ("reporting", "closed"),
    ]
    with pytest.raises(ValidationError):
        exercise_advance(actor=uk_lead_author, exercise=exercise, to="planning")
    assert _denied(Action.EXERCISE_PHASE_CHANGED, None).details["reason"] == Reason.EXERCISE_PHASE_NOT_NEXT


def test_a_phase_cannot_be_skipped(exercise, uk_lead_author):
    with pytest.raises(ValidationError):
        exercise_advance(actor=uk_lead_author, exercise=exercise, to="analysis")
    exercise.refresh_from_db()
    assert exercise.phase == "planning"
    assert _denied(Action.EXERCISE_PHASE_CHANGED, None).details["reason"] == Reason.EXERCISE_PHASE_NOT_NEXT


def test_running_needs_an_adopted_protocol(exercise, uk_lead_author, uk_signatory):
    _adopt(exercise, uk_lead_author, uk_signatory)  # the US has not signed: not adopted
    with pytest.raises(ValidationError, match="no adopted protocol"):
        exercise_advance(actor=uk_lead_author, exercise=exercise, to="running")
    exercise.refresh_from_db()
    assert exercise.phase == "planning"


def test_only_the_lead_moves_the_phase(exercise, us_reader, us_signatory):
    for person in (us_reader, us_signatory):
        with pytest.raises(PermissionDenied):
            exercise_advance(actor=person, exercise=exercise, to="running")
    assert _denied(Action.EXERCISE_PHASE_CHANGED, None).details["reason"] == Reason.NOT_THE_EXERCISE_LEAD


def test_a_lead_member_without_a_role_does_not_lead(exercise, uma):
    from .support import read_in

    read_in(uma, exercise)
    assert can_see(uma, exercise)
    with pytest.raises(PermissionDenied):
        exercise_advance(actor=uma, exercise=exercise, to="running")


def test_a_lead_author_not_read_in_does_not_lead(exercise, alice):
    with pytest.raises(PermissionDenied):
        exercise_advance(actor=alice, exercise=exercise, to="running")
    assert _denied(Action.EXERCISE_PHASE_CHANGED, None).details["reason"] == Reason.NOT_READ_IN_TO
