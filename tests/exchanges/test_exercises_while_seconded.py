"""A secondee acting for the host sees an exercise only as the host's own people would: under the
host's clearance cap and through read-ins to compartments the host owns, on the single-exercise
check and the list alike."""

from __future__ import annotations

import pytest

from accounts.affiliations import HostAffiliation, present_as_host_member
from accounts.models import User
from exercises.policy import can_see, visible_exercises
from tests.exercises.support import make_exercise, read_in
from tests.factories import grant_clearance, tier

pytestmark = pytest.mark.django_db


def as_host(user: User, secondment) -> User:
    user = User.objects.get(pk=user.pk)
    present_as_host_member(
        user,
        HostAffiliation(
            secondment_code=str(secondment.code),
            home=secondment.home,
            host=secondment.host,
            role=secondment.role,
            clearance=secondment.clearance,
            ends_at=secondment.ends_at,
        ),
    )
    return user


def faces(user, exercise) -> tuple[bool, bool]:
    return bool(can_see(user, exercise)), visible_exercises(user).filter(pk=exercise.pk).exists()


def test_a_host_exercise_the_secondee_is_read_in_to_is_seen_on_both_faces(
    sid, secondment, olivia, exchange_agreement, usaisi
):
    exercise = make_exercise(olivia, exchange_agreement, usaisi)
    read_in(sid, exercise)
    assert faces(as_host(sid, secondment), exercise) == (True, True)


def test_the_hosts_grant_caps_the_clearance_on_both_faces(sid, secondment, olivia, exchange_agreement, usaisi):
    grant_clearance(sid, "secret")  # the home attests SECRET; the host granted only OFFICIAL-SENSITIVE
    secondment.clearance = tier("official-sensitive")
    secondment.save(update_fields=["clearance"])
    exercise = make_exercise(olivia, exchange_agreement, usaisi, tier=tier("secret"))
    read_in(sid, exercise)
    assert faces(as_host(sid, secondment), exercise) == (False, False)


def test_a_read_in_to_a_home_owned_compartment_does_not_count_at_the_host(
    sid, secondment, ursula, exchange_agreement, ukasi
):
    home_led = make_exercise(ursula, exchange_agreement, ukasi, reference="JOINT-EX-8")  # its compartment is the US's
    read_in(sid, home_led)
    assert faces(sid, home_led) == (True, True)  # acting for home, it is theirs to see
    assert faces(as_host(sid, secondment), home_led) == (False, False)
