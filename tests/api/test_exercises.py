"""Exercises and protocol versions through the API: the same gates as the pages, read-only."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from audit.models import Action, AuditEvent, Outcome
from exercises.protocol import export_version
from exercises.services import protocol_draft, protocol_sign
from tests.exercises.support import TASKS, make_exercise, member, read_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def exercise(olivia, usaisi, uk_us_agreement):
    return make_exercise(olivia, uk_us_agreement, usaisi)


@pytest.fixture
def adopted(exercise, olivia, rory, usaisi):
    read_in(rory, exercise)
    version = protocol_draft(
        actor=olivia, exercise=exercise, target_model="lab/x", reference_models=["lab/r"], tasks=TASKS
    )
    for person in (rory, member(usaisi, exercise, roles=["signatory"])):
        version = protocol_sign(actor=person, version=version, digest=version.digest)
    return version


def test_member_lists_and_reads_an_exercise(as_user, bob, exercise, adopted):
    read_in(bob, exercise)
    client = as_user(bob, "read")
    listed = client.get(reverse("api:exercise_list")).json()
    assert listed["count"] == 1
    (item,) = listed["results"]
    assert item["reference"] == "JOINT-EX-9" and item["phase"] == "planning"
    assert item["lead"] == "ukasi" and item["participants"] == ["caisi", "ukasi"]
    assert item["agreement"] == str(exercise.agreement.code)
    assert item["target_model"] == {
        "developer": "Frontier Lab",
        "name": "Model X",
        "version": "2026-11-01",
        "access": "public",
    }
    assert item["reference_models"] == [{"developer": "Open Lab", "name": "Model R", "version": "1"}]
    assert item["risk_domains"] == ["cyber-offence"]
    assert item["banner"] == "OFFICIAL-SENSITIVE // REL TO USA, GBR // JOINT-EX-9"
    assert item["protocol_versions"] == [
        {
            "code": str(adopted.code),
            "number": 1,
            "status": "adopted",
            "digest": adopted.digest,
            "drafted_at": item["protocol_versions"][0]["drafted_at"],
            "adopted_at": item["protocol_versions"][0]["adopted_at"],
            "signed_by": ["ukasi", "caisi"],
        }
    ]
    detail = client.get(reverse("api:exercise_detail", args=[exercise.code])).json()
    assert detail == item
    listing = AuditEvent.objects.filter(action=Action.EXERCISE_LISTED, actor_id=bob.pk).latest("seq")
    assert listing.details["subjects"] == {"exercises.exercise": [str(exercise.code)]}
    assert AuditEvent.objects.filter(action=Action.EXERCISE_VIEWED, actor_id=bob.pk).exists()


def test_protocol_version_is_the_export(as_user, bob, exercise, adopted):
    read_in(bob, exercise)
    response = as_user(bob, "read").get(reverse("api:protocol_detail", args=[adopted.code]))
    assert response.status_code == 200
    assert response.json() == export_version(adopted)
    assert AuditEvent.objects.filter(action=Action.PROTOCOL_EXPORTED, actor_id=bob.pk).exists()


@pytest.mark.parametrize("name", ["api:exercise_detail", "api:protocol_detail"])
def test_participant_not_read_in_gets_the_404_of_a_missing_code(as_user, bob, exercise, adopted, name):
    client = as_user(bob, "read")
    code = exercise.code if name == "api:exercise_detail" else adopted.code
    forbidden = client.get(reverse(name, args=[code]))
    missing = client.get(reverse(name, args=[uuid.uuid4()]))
    assert forbidden.status_code == missing.status_code == 404
    assert forbidden.json() == missing.json()
    assert AuditEvent.objects.filter(actor_id=bob.pk, outcome=Outcome.DENIED, action=Action.ACCESS_DENIED).count() == 2
    assert client.get(reverse("api:exercise_list")).json()["count"] == 0


def test_the_api_writes_nothing_about_exercises(as_user, olivia, exercise):
    client = as_user(olivia)
    for name, code in (("api:exercise_list", None), ("api:exercise_detail", exercise.code)):
        url = reverse(name, args=[code]) if code else reverse(name)
        assert client.post(url, {"title": "x"}, format="json").status_code == 405
        assert client.patch(url, {"title": "x"}, format="json").status_code == 405
