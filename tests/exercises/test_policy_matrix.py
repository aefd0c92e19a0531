"""Who sees an exercise: one declarative row per cell (exercises/policy.py, gates 1 to 6).

The baseline is a US reviewer of a participating institute, cleared to the exercise's tier,
a national of a country it is releasable to, read in to its compartment, under an agreement in
force. Every denied row changes one factor of an allowed row, so dropping any gate turns a row
red. Each row checks both faces (`can_see` and `visible_exercises`) and the gate's answer: the
exercise, or a 404 that is audited and reads exactly like the 404 for a code that names nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pytest
from django.http import Http404
from django.utils import timezone

from accounts.models import ReadIn
from audit.models import Action, AuditEvent, Outcome
from audit.reasons import Reason
from exercises.policy import can_see, exercise_for_member, protocol_version_for_member, visible_exercises
from exercises.services import protocol_draft
from sharing.models import SharingAgreement
from tests.factories import DAY, PersonFactory

from .support import TASKS, read_in

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Row:
    name: str
    expected: Reason
    factors: dict = field(default_factory=dict)


BASELINE = {
    "organisation": "partner",  # partner | lead | outsider | none
    "read_in": "now",  # now | none | revoked | expired | future
    "clearance": "official-sensitive",  # a tier code | none | official
    "nationality": None,  # the organisation's country unless named
    "agreement": "active",  # active | suspended | terminated | past_expiry
    "account": "active",  # active | inactive
}

ROWS = [
    Row("partner reader read in", Reason.ALLOWED),
    Row("lead member read in", Reason.ALLOWED, {"organisation": "lead"}),
    Row("partner cleared above the tier", Reason.ALLOWED, {"clearance": "secret"}),
    Row("partner not read in", Reason.NOT_READ_IN_TO, {"read_in": "none"}),
    Row("lead member not read in", Reason.NOT_READ_IN_TO, {"organisation": "lead", "read_in": "none"}),
    Row("partner read-in revoked", Reason.NOT_READ_IN_TO, {"read_in": "revoked"}),
    Row("partner read-in expired", Reason.NOT_READ_IN_TO, {"read_in": "expired"}),
    Row("partner read in only from tomorrow", Reason.NOT_READ_IN_TO, {"read_in": "future"}),
    Row("outsider organisation read in", Reason.NOT_AN_EXERCISE_PARTICIPANT, {"organisation": "outsider"}),
    Row("person of no organisation", Reason.NO_ORGANISATION, {"organisation": "none"}),
    Row("partner cleared below the tier", Reason.CLEARANCE_BELOW_TIER, {"clearance": "official"}),
    Row("partner without clearance", Reason.CLEARANCE_BELOW_TIER, {"clearance": None}),
    Row("partner of a nationality not releasable", Reason.NATIONALITY_NOT_RELEASABLE, {"nationality": "FRA"}),
    Row("partner under a suspended agreement", Reason.AGREEMENT_NOT_IN_FORCE, {"agreement": "suspended"}),
    Row("partner under a terminated agreement", Reason.AGREEMENT_NOT_IN_FORCE, {"agreement": "terminated"}),
    Row("partner under an agreement past expiry", Reason.AGREEMENT_NOT_IN_FORCE, {"agreement": "past_expiry"}),
    Row("lead member under a suspended agreement", Reason.ALLOWED, {"organisation": "lead", "agreement": "suspended"}),
    Row("inactive partner account", Reason.ACCOUNT_INACTIVE, {"account": "inactive"}),
]


def _reader(row: Row, exercise, organisations):
    factors = BASELINE | row.factors
    organisation = organisations[factors["organisation"]]
    extra = {"nationality": factors["nationality"]} if factors["nationality"] else {}
    if organisation is None:
        extra.setdefault("nationality", "USA")
    person = PersonFactory(organisation=organisation, clearance=factors["clearance"], **extra)
    now = timezone.now()
    readin = {
        "now": {},
        "revoked": {"revoked_at": now - DAY},
        "expired": {"expires_at": now - DAY},
        "future": {"granted_at": now + DAY},
    }.get(factors["read_in"])
    if readin is not None:
        read_in(person, exercise, **({"granted_at": now - 2 * DAY} | readin))
    if factors["account"] == "inactive":
        person.is_active = False
        person.save(update_fields=["is_active"])
    agreement = exercise.agreement
    if factors["agreement"] in ("suspended", "terminated"):
        agreement.status = factors["agreement"]
        agreement.save(update_fields=["status"])
    elif factors["agreement"] == "past_expiry":
        SharingAgreement.objects.filter(pk=agreement.pk).update(effective_from=now - 30 * DAY, expires_at=now - DAY)
    exercise.agreement.refresh_from_db()
    return person


@pytest.fixture
def organisations(ukasi, usaisi, canada):
    return {"partner": usaisi, "lead": ukasi, "outsider": canada, "none": None}


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_matrix(row, exercise, organisations):
    reader = _reader(row, exercise, organisations)
    decision = can_see(reader, exercise)
    assert decision.reason == row.expected
    listed = visible_exercises(reader).filter(pk=exercise.pk).exists()
    assert listed == (row.expected == Reason.ALLOWED)
    before = AuditEvent.objects.count()
    if row.expected == Reason.ALLOWED:
        assert exercise_for_member(reader, exercise.code) == exercise
        return
    with pytest.raises(Http404) as forbidden:
        exercise_for_member(reader, exercise.code)
    with pytest.raises(Http404) as missing:
        exercise_for_member(reader, uuid.uuid4())
    assert str(forbidden.value) == str(missing.value) == "No such exercise."
    denials = AuditEvent.objects.filter(seq__gt=before, action=Action.ACCESS_DENIED, outcome=Outcome.DENIED)
    assert [e.details["reason"] for e in denials.order_by("seq")] == [row.expected.value, Reason.NO_SUCH_EXERCISE]


def test_protocol_versions_follow_the_exercise(exercise, olivia, bob, carl):
    version = protocol_draft(actor=olivia, exercise=exercise, target_model="lab/x", reference_models=[], tasks=TASKS)
    assert protocol_version_for_member(olivia, version.code) == version
    for person in (bob, carl):  # a participant not read in, an outsider
        with pytest.raises(Http404, match="No such protocol version."):
            protocol_version_for_member(person, version.code)
    with pytest.raises(Http404, match="No such protocol version."):
        protocol_version_for_member(bob, "not-a-code")
    read_in(bob, exercise)
    assert protocol_version_for_member(bob, version.code) == version


def test_the_list_is_one_query_whatever_the_number_of_exercises(exercise, us_reader, django_assert_num_queries):
    from .support import make_exercise

    for n in range(3):
        other = make_exercise(exercise.created_by, exercise.agreement, exercise.participants.exclude(
            pk=exercise.lead_id).get(), reference=f"JOINT-EX-{20 + n}")  # fmt: skip
        read_in(us_reader, other)
    # One query: the exercises with every gate as EXISTS conditions (the user is already loaded).
    with django_assert_num_queries(1):
        assert len(list(visible_exercises(us_reader))) == 4


def test_a_revoked_read_in_ends_the_view_at_once(exercise, us_reader):
    assert can_see(us_reader, exercise)
    ReadIn.objects.filter(user=us_reader).update(revoked_at=timezone.now())
    assert not can_see(us_reader, exercise)
    assert not visible_exercises(us_reader).exists()
