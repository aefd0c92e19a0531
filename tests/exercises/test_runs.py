"""A participant's run: a finding of its own organisation, marked as the exercise is, whose
Inspect logs go through the document attachment path (encrypted, scanned, parsed); who sees it
is the document policy's answer, never taking part alone."""

from __future__ import annotations

import uuid

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from audit.models import Action, AuditEvent, Outcome
from audit.reasons import Reason
from exercises.models import ExerciseRun
from exercises.policy import visible_runs
from exercises.services import exercise_advance, protocol_draft, protocol_sign, run_create
from sharing.models import Document
from tests.api.support import FIXTURES, clean_attachment, parsed_run
from tests.factories import ReleaseFactory, login_verified
from tests.portal.walk import normalise

from .support import TASKS, member

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


@pytest.fixture
def running(exercise, uk_lead_author, uk_signatory, us_signatory):
    version = protocol_draft(actor=uk_lead_author, exercise=exercise, target_model="lab/x", reference_models=[],
                             tasks=TASKS)  # fmt: skip
    for person in (uk_signatory, us_signatory):
        version = protocol_sign(actor=person, version=version, digest=version.digest)
    exercise = exercise_advance(actor=uk_lead_author, exercise=exercise, to="running")
    return exercise, version


@pytest.fixture
def us_author(usaisi, exercise):
    return member(usaisi, exercise, roles=["author"], display_name="Ada Author")


def test_a_run_is_a_draft_finding_of_its_organisation_marked_as_the_exercise(running, us_author, usaisi):
    exercise, version = running
    run = run_create(actor=us_author, exercise=exercise, version=version)
    document = run.document
    assert (run.organisation, run.protocol_version, document.originator) == (usaisi, version, usaisi)
    assert document.status == Document.Status.DRAFT and document.tier == exercise.tier
    assert list(document.compartments.all()) == [exercise.compartment]
    assert {c.pk for c in document.releasable_to.all()} == {"GBR", "USA"}
    assert [d.code for d in document.risk_domains.all()] == ["cyber-offence"]
    assert document.model_name == "Model X" and document.title == "JOINT-EX-9 run by CAISI"
    event = AuditEvent.objects.get(action=Action.EXERCISE_RUN_CREATED, outcome=Outcome.ALLOWED)
    assert event.details == {"run": str(run.code), "document": str(document.code), "version": 1}


def test_the_runs_inspect_log_goes_through_the_attachment_and_parsing_path(running, us_author):
    exercise, version = running
    run = run_create(actor=us_author, exercise=exercise, version=version)
    log = clean_attachment(us_author, run.document, (FIXTURES / "success.eval").read_bytes(), "success.eval")
    parsed = parsed_run(log)
    assert parsed.parse_status == "parsed" and parsed.task


def test_a_partner_sees_a_run_only_once_it_is_released_to_it(running, us_author, uk_lead_author, us_reader, ukasi):
    exercise, version = running
    run = run_create(actor=us_author, exercise=exercise, version=version)
    assert list(visible_runs(us_reader, exercise)) == [run]  # own organisation's (draft) finding
    assert not visible_runs(uk_lead_author, exercise).exists()  # taking part is not enough
    from sharing.services import document_publish

    document_publish(actor=us_author, document=run.document)
    ReleaseFactory(document=run.document, agreement=exercise.agreement, recipient=ukasi)
    assert list(visible_runs(uk_lead_author, exercise)) == [run]


@pytest.mark.parametrize(
    ("who", "error", "reason"),
    [
        ("us_reader", PermissionDenied, Reason.NOT_AN_AUTHOR),  # read in, not an author
        ("hank", PermissionDenied, Reason.NOT_READ_IN_TO),  # an author, not read in
        ("carl", PermissionDenied, Reason.NOT_AN_EXERCISE_PARTICIPANT),
    ],
)
def test_only_a_participants_author_who_sees_it_starts_a_run(request, running, who, error, reason):
    exercise, version = running
    with pytest.raises(error):
        run_create(actor=request.getfixturevalue(who), exercise=exercise, version=version)
    assert not ExerciseRun.objects.exists() and not Document.objects.exists()
    denial = AuditEvent.objects.filter(action=Action.EXERCISE_RUN_CREATED, outcome=Outcome.DENIED).latest("seq")
    assert denial.details["reason"] == reason


def test_runs_start_only_while_the_exercise_is_running(exercise, uk_lead_author, uk_signatory, us_signatory, us_author):
    version = protocol_draft(actor=uk_lead_author, exercise=exercise, target_model="lab/x", reference_models=[],
                             tasks=TASKS)  # fmt: skip
    for person in (uk_signatory, us_signatory):
        version = protocol_sign(actor=person, version=version, digest=version.digest)
    with pytest.raises(ValidationError, match="planning phase"):
        run_create(actor=us_author, exercise=exercise, version=version)
    assert not Document.objects.exists()


def test_a_run_follows_the_adopted_version_only(running, us_author, uk_lead_author):
    exercise, adopted = running
    draft = protocol_draft(actor=uk_lead_author, exercise=exercise, target_model="lab/x", reference_models=[],
                           tasks=TASKS[:1])  # fmt: skip
    with pytest.raises(ValidationError, match="not the version awaiting"):
        run_create(actor=us_author, exercise=exercise, version=draft)
    assert run_create(actor=us_author, exercise=exercise, version=adopted).protocol_version == adopted


def test_anonymous_starting_a_run_is_sent_to_login(client, exercise):
    response = client.post(reverse("exercises:run_create", args=[exercise.code]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("who", ["carl", "hank"])
def test_outsider_starting_a_run_gets_the_404_of_a_missing_code(request, client, running, who):
    exercise, _ = running
    login_verified(client, request.getfixturevalue(who))
    before = AuditEvent.objects.count()
    forbidden = client.post(reverse("exercises:run_create", args=[exercise.code]))
    missing = client.post(reverse("exercises:run_create", args=[uuid.uuid4()]))
    assert forbidden.status_code == missing.status_code == 404
    assert normalise(forbidden.content) == normalise(missing.content)
    assert AuditEvent.objects.filter(seq__gt=before, outcome=Outcome.DENIED).count() == 2
    assert not ExerciseRun.objects.exists()


def test_author_starts_a_run_from_the_page_and_lands_on_the_upload_page(client, running, us_author):
    exercise, _ = running
    login_verified(client, us_author)
    page = client.get(reverse("exercises:detail", args=[exercise.code]))
    assert b"Start a run under version 1" in page.content
    assert client.get(reverse("exercises:run_create", args=[exercise.code])).status_code == 405
    response = client.post(reverse("exercises:run_create", args=[exercise.code]), {"title": "US run 1"})
    run = ExerciseRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("sharing:document_attachments", args=[run.document.code])
    assert run.document.title == "US run 1"
    assert b"US run 1" in client.get(reverse("exercises:detail", args=[exercise.code])).content


def test_a_reader_who_may_not_start_a_run_gets_403_from_the_page(client, running, us_reader):
    exercise, _ = running
    login_verified(client, us_reader)
    assert client.post(reverse("exercises:run_create", args=[exercise.code])).status_code == 403
    assert not ExerciseRun.objects.exists()


def test_the_api_starts_a_run_and_lists_the_runs(as_user, running, us_author):
    exercise, version = running
    client = as_user(us_author)
    response = client.post(reverse("api:exercise_runs", args=[exercise.code]), {"title": "pipeline run"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    run = ExerciseRun.objects.get()
    assert body["code"] == str(run.code) and body["document"] == str(run.document.code)
    assert body["protocol_version"] == str(version.code) and body["version"] == 1 and body["organisation"] == "caisi"
    assert body["upload"] == reverse("api:document_attachments", args=[run.document.code])
    listed = client.get(reverse("api:exercise_runs", args=[exercise.code])).json()
    assert [r["code"] for r in listed] == [str(run.code)]


def test_the_api_refuses_a_run_before_adoption_with_a_clear_400(as_user, exercise, us_author):
    response = as_user(us_author).post(reverse("api:exercise_runs", args=[exercise.code]), {}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["message"]
    assert not ExerciseRun.objects.exists()
