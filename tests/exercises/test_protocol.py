"""The common protocol: drafted by the lead, adopted only when a signatory of every participant
signed the same version; a change after a signature is a new version that needs them all again."""

from __future__ import annotations

import copy
import hashlib
import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from audit.models import Action, AuditEvent, Outcome
from audit.reasons import Reason
from exercises import protocol as spec
from exercises.models import ProtocolSignature, ProtocolTask, ProtocolVersion
from exercises.services import protocol_draft, protocol_sign

from .support import TASKS

pytestmark = pytest.mark.django_db
Status = ProtocolVersion.Status


def draft(exercise, lead, tasks=TASKS, **kwargs):
    fields = {"target_model": "lab/model-x", "reference_models": ["lab/model-r"], "tasks": tasks} | kwargs
    return protocol_draft(actor=lead, exercise=exercise, **fields)


def _last_denial(action) -> AuditEvent:
    return AuditEvent.objects.filter(action=action, outcome=Outcome.DENIED).latest("seq")


def test_a_draft_pins_each_task_and_hashes_its_sample_ids(exercise, uk_lead_author):
    version = draft(exercise, uk_lead_author)
    assert (version.number, version.status) == (1, Status.DRAFT)
    cybench, gpqa = version.tasks.all()
    # De-duplicated and sorted; ints stay ints (Inspect matches an int id only to an int).
    assert cybench.sample_ids == ["avatar", "back_to_the_past", "chunky"]
    assert gpqa.sample_ids == [1, 2, 3] and gpqa.task_version == "0"
    expected = hashlib.sha256(b'["avatar","back_to_the_past","chunky"]').hexdigest()
    assert cybench.sample_ids_sha256 == expected
    assert (cybench.epochs, cybench.temperature, cybench.max_tokens, cybench.seed) == (3, 0.5, 4096, 42)
    assert (gpqa.temperature, gpqa.max_tokens, gpqa.seed, gpqa.metrics) == (None, None, None, [])
    assert cybench.solver == "basic_agent" and cybench.scorers == ["includes"]
    content = spec.content_of("lab/model-x", ["lab/model-r"], version.tasks.all())
    assert version.digest == hashlib.sha256(spec.canonical(content)).hexdigest()
    assert AuditEvent.objects.get(action=Action.PROTOCOL_DRAFTED).details["digest"] == version.digest


def test_signatures_of_every_participant_on_the_same_version_adopt_it(
    exercise, uk_lead_author, uk_signatory, us_signatory
):
    version = draft(exercise, uk_lead_author)
    version = protocol_sign(actor=uk_signatory, version=version, digest=version.digest)
    assert version.status == Status.DRAFT and version.adopted_at is None
    version = protocol_sign(actor=us_signatory, version=version, digest=version.digest)
    assert version.status == Status.ADOPTED and version.adopted_at is not None
    assert sorted(s.organisation.short_name for s in version.signatures.all()) == ["caisi", "ukasi"]
    assert all(s.digest == version.digest for s in version.signatures.all())
    assert AuditEvent.objects.filter(action=Action.PROTOCOL_SIGNED, outcome=Outcome.ALLOWED).count() == 2
    assert AuditEvent.objects.filter(action=Action.PROTOCOL_ADOPTED, target_id=str(version.code)).count() == 1


def test_an_edit_after_a_signature_is_a_new_version_without_signatures(
    exercise, uk_lead_author, uk_signatory, us_signatory
):
    first = draft(exercise, uk_lead_author)
    protocol_sign(actor=uk_signatory, version=first, digest=first.digest)
    changed = copy.deepcopy(TASKS)
    changed[0]["epochs"] = 5
    second = draft(exercise, uk_lead_author, changed)
    first.refresh_from_db()
    assert (first.status, second.number, second.status) == (Status.SUPERSEDED, 2, Status.DRAFT)
    assert not second.signatures.exists() and first.signatures.count() == 1  # the signed one is kept as signed
    assert second.digest != first.digest
    # The US signing the version it was shown first adopts nothing.
    with pytest.raises(ValidationError, match="not the version awaiting signatures"):
        protocol_sign(actor=us_signatory, version=first, digest=first.digest)
    assert _last_denial(Action.PROTOCOL_SIGNED).details["reason"] == Reason.PROTOCOL_VERSION_NOT_CURRENT
    assert not ProtocolVersion.objects.filter(status=Status.ADOPTED).exists()
    # Both must sign the new one.
    protocol_sign(actor=us_signatory, version=second, digest=second.digest)
    second.refresh_from_db()
    assert second.status == Status.DRAFT
    second = protocol_sign(actor=uk_signatory, version=second, digest=second.digest)
    assert second.status == Status.ADOPTED


def test_a_draft_nobody_signed_changes_in_place(exercise, uk_lead_author):
    first = draft(exercise, uk_lead_author)
    changed = copy.deepcopy(TASKS)
    changed[1]["sample_ids"] = [1, 2, 3, 4]
    again = draft(exercise, uk_lead_author, changed)
    assert again.pk == first.pk and again.number == 1 and again.digest != first.digest
    assert ProtocolVersion.objects.count() == 1
    assert ProtocolTask.objects.filter(version=again).count() == 2


def test_a_change_after_adoption_is_a_new_version_and_the_adopted_one_stays_until_replaced(
    exercise, uk_lead_author, uk_signatory, us_signatory
):
    first = draft(exercise, uk_lead_author)
    for person in (uk_signatory, us_signatory):
        first = protocol_sign(actor=person, version=first, digest=first.digest)
    second = draft(exercise, uk_lead_author, TASKS[:1])
    first.refresh_from_db()
    assert (first.status, second.number, second.status) == (Status.ADOPTED, 2, Status.DRAFT)
    for person in (uk_signatory, us_signatory):
        second = protocol_sign(actor=person, version=second, digest=second.digest)
    first.refresh_from_db()
    assert (first.status, second.status) == (Status.SUPERSEDED, Status.ADOPTED)


def test_a_signature_binds_to_the_digest_shown(exercise, uk_lead_author, uk_signatory):
    version = draft(exercise, uk_lead_author)
    shown = version.digest
    changed = copy.deepcopy(TASKS)
    changed[0]["seed"] = 7
    draft(exercise, uk_lead_author, changed)  # changed in place while the signatory read it
    with pytest.raises(ValidationError, match="changed since it was shown"):
        protocol_sign(actor=uk_signatory, version=version, digest=shown)
    assert not ProtocolSignature.objects.exists()
    assert _last_denial(Action.PROTOCOL_SIGNED).details["reason"] == Reason.PROTOCOL_VERSION_CHANGED


def test_an_organisation_signs_a_version_once(exercise, uk_lead_author, uk_signatory):
    version = draft(exercise, uk_lead_author)
    protocol_sign(actor=uk_signatory, version=version, digest=version.digest)
    with pytest.raises(ValidationError, match="already signed"):
        protocol_sign(actor=uk_signatory, version=version, digest=version.digest)
    assert ProtocolSignature.objects.count() == 1


def test_only_a_participants_signatory_who_sees_the_exercise_signs(exercise, uk_lead_author, us_reader, rory):
    version = draft(exercise, uk_lead_author)
    with pytest.raises(PermissionDenied):
        protocol_sign(actor=us_reader, version=version, digest=version.digest)  # not a signatory
    assert _last_denial(Action.PROTOCOL_SIGNED).details["reason"] == Reason.NOT_A_SIGNATORY
    with pytest.raises(PermissionDenied):
        protocol_sign(actor=rory, version=version, digest=version.digest)  # a signatory, not read in
    assert _last_denial(Action.PROTOCOL_SIGNED).details["reason"] == Reason.NOT_READ_IN_TO
    assert not ProtocolSignature.objects.exists()


def test_only_the_lead_drafts(exercise, us_reader, us_signatory):
    for person in (us_reader, us_signatory):
        with pytest.raises(PermissionDenied):
            draft(exercise, person)
    assert not ProtocolVersion.objects.exists()
    assert _last_denial(Action.PROTOCOL_DRAFTED).details["reason"] == Reason.NOT_THE_EXERCISE_LEAD


def test_an_unchanged_draft_is_refused(exercise, uk_lead_author):
    draft(exercise, uk_lead_author)
    with pytest.raises(ValidationError, match="unchanged"):
        draft(exercise, uk_lead_author)
    assert ProtocolVersion.objects.count() == 1


BAD_TASKS = [
    ([], "1 to 50 tasks"),
    ({"task": "x"}, "1 to 50 tasks"),
    ([{**TASKS[0], "epochs": 0}], "epochs must be a whole number from 1 to 100"),
    ([{**TASKS[0], "epochs": "3"}], "epochs must be a whole number"),
    ([{**TASKS[0], "temperature": 3}], "temperature must be a number from 0 to 2"),
    ([{**TASKS[0], "temperature": True}], "temperature must be a number"),
    ([{**TASKS[0], "max_tokens": -1}], "max_tokens"),
    ([{**TASKS[0], "seed": 2**70}], "seed"),
    ([{**TASKS[0], "sample_ids": []}], "sample_ids must be a list"),
    ([{**TASKS[0], "sample_ids": [1.5]}], "every sample id"),
    ([{**TASKS[0], "sample_ids": [None]}], "every sample id"),
    ([{**TASKS[0], "scorers": []}], "scorers must be a list"),
    ([{**TASKS[0], "task": ""}], "task must be a text"),
    ([{**TASKS[0], "solver": "x" * 201}], "solver must be a text"),
    ([{**TASKS[0], "shell": "rm -rf /"}], "unknown fields: shell"),
    ([TASKS[0], TASKS[0]], "Each task appears once"),
    (["not an object"], "must be an object"),
]


@pytest.mark.parametrize(("tasks", "words"), BAD_TASKS, ids=[w for _, w in BAD_TASKS])
def test_a_bad_protocol_is_refused_clearly_and_nothing_written(exercise, uk_lead_author, tasks, words):
    with pytest.raises(ValidationError, match=words):
        draft(exercise, uk_lead_author, tasks)
    assert not ProtocolVersion.objects.exists() and not ProtocolTask.objects.exists()
    assert _last_denial(Action.PROTOCOL_DRAFTED).details["reason"] == Reason.INVALID


def test_the_target_is_not_also_a_reference(exercise, uk_lead_author):
    with pytest.raises(ValidationError, match="not also a reference"):
        draft(exercise, uk_lead_author, reference_models=["lab/model-x"])


def test_no_protocol_work_once_the_exercise_is_past_running(exercise, uk_lead_author):
    exercise.phase = "analysis"
    exercise.save(update_fields=["phase"])
    with pytest.raises(ValidationError, match="analysis phase"):
        draft(exercise, uk_lead_author)


def test_sample_id_hash_is_the_canonical_json_of_the_sorted_list():
    task = spec.parse_task({**TASKS[0], "sample_ids": ["b", "a", "b"]}, 0)
    assert task.sample_ids == ["a", "b"]
    assert task.sample_ids_sha256 == hashlib.sha256(json.dumps(["a", "b"], separators=(",", ":")).encode()).hexdigest()
