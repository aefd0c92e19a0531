"""The exercise pages: anonymous people are sent to sign in; outsiders and participants not
read in get the same audited 404 as for a code that names nothing; readers who may not take a
step get 403; the lead and the signatories walk the protocol to adoption."""

from __future__ import annotations

import json
import uuid

import pytest
from django.urls import reverse

from audit.models import Action, AuditEvent, Outcome
from exercises.models import Exercise, ProtocolVersion
from exercises.services import protocol_draft
from tests.portal.walk import normalise

from .support import TASKS

pytestmark = pytest.mark.django_db

EXERCISE_VIEWS = [("exercises:detail", "get"), ("exercises:advance", "post"), ("exercises:protocol_edit", "get"),
                  ("exercises:protocol_edit", "post")]  # fmt: skip
PROTOCOL_VIEWS = [("exercises:protocol_sign", "post"), ("exercises:protocol_export", "get")]
PLAIN_VIEWS = ["exercises:list", "exercises:create"]


@pytest.fixture
def version(exercise, olivia):
    return protocol_draft(actor=olivia, exercise=exercise, target_model="lab/x", reference_models=[], tasks=TASKS)


def _url(name, exercise, version):
    if name in dict(PROTOCOL_VIEWS):
        return reverse(name, args=[version.code])
    return reverse(name, args=[exercise.code])


@pytest.mark.parametrize("name", PLAIN_VIEWS + [n for n, _ in EXERCISE_VIEWS + PROTOCOL_VIEWS])
def test_anonymous_is_sent_to_login(client, exercise, version, name):
    url = reverse(name) if name in PLAIN_VIEWS else _url(name, exercise, version)
    response = client.get(url) if name not in ("exercises:advance", "exercises:protocol_sign") else client.post(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize(("name", "method"), EXERCISE_VIEWS + PROTOCOL_VIEWS)
@pytest.mark.parametrize("who", ["carl", "bob"])  # an outsider; a participant not read in
def test_outsider_gets_the_404_of_a_missing_code_and_is_audited(
    request, verified_client, exercise, version, name, method, who
):
    person = request.getfixturevalue(who)
    client = verified_client(person)
    url = _url(name, exercise, version)
    missing = url.replace(str(exercise.code), str(uuid.uuid4())).replace(str(version.code), str(uuid.uuid4()))
    before = AuditEvent.objects.count()
    forbidden_answer = getattr(client, method)(url, {"to": "running", "digest": version.digest})
    missing_answer = getattr(client, method)(missing, {"to": "running", "digest": version.digest})
    assert forbidden_answer.status_code == missing_answer.status_code == 404
    # The same page once the volatile parts (UUIDs, nonces, CSRF tokens, request ids) are blanked.
    assert normalise(forbidden_answer.content) == normalise(missing_answer.content)
    assert b"JOINT-EX-9" not in forbidden_answer.content and b"Model X" not in forbidden_answer.content
    denials = AuditEvent.objects.filter(seq__gt=before, actor_id=person.pk, outcome=Outcome.DENIED)
    assert denials.count() == 2
    exercise.refresh_from_db()
    assert exercise.phase == "planning" and not version.signatures.exists()


def test_outsider_lists_no_exercise(verified_client, exercise, carl, bob):
    for person in (carl, bob):
        response = verified_client(person).get(reverse("exercises:list"))
        assert response.status_code == 200
        assert b"JOINT-EX-9" not in response.content
        assert b"You are read in to no exercise." in response.content


def test_outsider_who_is_not_an_admin_cannot_open_the_create_page(verified_client, carl):
    before = AuditEvent.objects.count()
    assert verified_client(carl).get(reverse("exercises:create")).status_code == 403
    assert AuditEvent.objects.filter(seq__gt=before, outcome=Outcome.DENIED, actor_id=carl.pk).exists()


@pytest.mark.parametrize("name", ["exercises:advance", "exercises:protocol_sign"])
def test_get_on_a_post_view_is_405(verified_client, us_reader, exercise, version, name):
    assert verified_client(us_reader).get(_url(name, exercise, version)).status_code == 405


def test_member_sees_the_list_and_the_page_with_its_banner(verified_client, us_reader, exercise, version):
    client = verified_client(us_reader)
    listed = client.get(reverse("exercises:list"))
    assert b"JOINT-EX-9" in listed.content
    page = client.get(reverse("exercises:detail", args=[exercise.code]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Model X" in text and "inspect_evals/cybench" in text
    assert "REL TO USA, GBR // JOINT-EX-9" in text
    assert "Move to running" not in text and "Sign version" not in text  # neither lead nor signatory
    assert AuditEvent.objects.filter(action=Action.EXERCISE_VIEWED, actor_id=us_reader.pk).exists()
    listing = AuditEvent.objects.filter(action=Action.EXERCISE_LISTED, actor_id=us_reader.pk).latest("seq")
    assert listing.details["subjects"] == {"exercises.exercise": [str(exercise.code)]}


@pytest.mark.parametrize(("name", "method"), [("exercises:advance", "post"), ("exercises:protocol_edit", "get"),
                                              ("exercises:protocol_edit", "post"), ("exercises:protocol_sign", "post")])  # fmt: skip
def test_reader_who_may_not_take_the_step_gets_403(verified_client, us_reader, exercise, version, name, method):
    before = AuditEvent.objects.count()
    response = getattr(verified_client(us_reader), method)(_url(name, exercise, version), {"to": "running"})
    assert response.status_code == 403
    assert AuditEvent.objects.filter(seq__gt=before, outcome=Outcome.DENIED, actor_id=us_reader.pk).exists()
    assert ProtocolVersion.objects.get().signatures.count() == 0


def test_lead_drafts_and_both_signatories_adopt_through_the_pages(
    verified_client, client, exercise, uk_lead_author, uk_signatory, us_signatory
):
    from tests.factories import login_verified

    login_verified(client, uk_lead_author)
    form = client.get(reverse("exercises:protocol_edit", args=[exercise.code]))
    assert form.status_code == 200
    response = client.post(
        reverse("exercises:protocol_edit", args=[exercise.code]),
        {"target_model": "lab/x", "reference_models": "lab/r\n", "tasks": json.dumps(TASKS), "notes": ""},
    )
    assert response.status_code == 302
    version = ProtocolVersion.objects.get()
    for person in (uk_signatory, us_signatory):
        login_verified(client, person)
        page = client.get(reverse("exercises:detail", args=[exercise.code]))
        assert f"Sign version 1 for {person.organisation.short_name.upper()}".encode() in page.content
        assert (
            client.post(reverse("exercises:protocol_sign", args=[version.code]), {"digest": version.digest}).status_code
            == 302
        )
    version.refresh_from_db()
    assert version.status == ProtocolVersion.Status.ADOPTED
    login_verified(client, uk_lead_author)
    assert client.post(reverse("exercises:advance", args=[exercise.code]), {"to": "running"}).status_code == 302
    exercise.refresh_from_db()
    assert exercise.phase == "running"


@pytest.mark.parametrize(
    "tasks", ["not json", "[]", json.dumps([{**TASKS[0], "epochs": -1}]), json.dumps({"a": 1})], ids=str
)
def test_bad_protocol_input_is_a_400_with_an_audit_row_and_nothing_written(
    verified_client, uk_lead_author, exercise, tasks
):
    before = AuditEvent.objects.count()
    response = verified_client(uk_lead_author).post(
        reverse("exercises:protocol_edit", args=[exercise.code]), {"target_model": "lab/x", "tasks": tasks}
    )
    assert response.status_code == 400
    assert b"There is a problem" in response.content
    assert AuditEvent.objects.filter(seq__gt=before, action=Action.PROTOCOL_DRAFTED, outcome=Outcome.DENIED).exists()
    assert not ProtocolVersion.objects.exists()


def test_a_stale_signature_from_the_page_says_so(verified_client, uk_lead_author, uk_signatory, exercise, version):
    response = verified_client(uk_signatory).post(
        reverse("exercises:protocol_sign", args=[version.code]), {"digest": "0" * 64}, follow=True
    )
    assert b"changed since it was shown" in response.content
    assert not version.signatures.exists()


def test_lead_admin_sets_up_an_exercise_from_the_page(verified_client, olivia, usaisi, uk_us_agreement):
    from tests.factories import risk_domain, tier

    client = verified_client(olivia)
    assert client.get(reverse("exercises:create")).status_code == 200
    data = {
        "reference": "JOINT-EX-7",
        "title": "Autonomy",
        "agreement": uk_us_agreement.pk,
        "participants": [usaisi.pk],
        "target_developer": "Lab",
        "target_name": "M",
        "target_version": "1",
        "target_access": "public",
        "reference_models": "Lab | R | 2\n",
        "risk_domains": [risk_domain("autonomy").pk],
        "tier": tier("official").pk,
    }
    response = client.post(reverse("exercises:create"), data)
    assert response.status_code == 302
    exercise = Exercise.objects.get(reference="JOINT-EX-7")
    assert response["Location"] == reverse("exercises:detail", args=[exercise.code])
    # A topic outside the agreement: the service refuses, the form says why, nothing is written.
    bad = client.post(
        reverse("exercises:create"), data | {"reference": "JOINT-EX-8", "risk_domains": [risk_domain("cbrn").pk]}
    )
    assert bad.status_code == 400 and b"risk domain outside" in bad.content
    assert not Exercise.objects.filter(reference="JOINT-EX-8").exists()
