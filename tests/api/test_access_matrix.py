"""Every API endpoint against every persona: anonymous, expired and revoked tokens (401), a
token without the scope (403), an outsider (404, or an empty list), a reader who may not write
(403), and — in the endpoint's own module — the allowed case with its content.

An endpoint added to urls.py without a row here fails `test_every_endpoint_is_in_the_matrix`.
"""

from __future__ import annotations

import pytest
from django.urls import get_resolver, reverse

from audit.models import Action, AuditEvent, Outcome
from audit.reasons import Reason
from sharing.models import Document
from tests.api.support import FIXTURES, clean_attachment, parsed_run

pytestmark = pytest.mark.django_db

# (url name, method, object the URL names, needs write)
ENDPOINTS = [
    ("api:document_list", "get", None, False),
    ("api:document_list", "post", None, True),
    ("api:document_detail", "get", "document", False),
    ("api:document_detail", "patch", "document", True),
    ("api:document_publish", "post", "document", True),
    ("api:document_attachments", "get", "document", False),
    ("api:document_attachments", "post", "document", True),
    ("api:document_attachment_named", "post", "document", True),
    ("api:attachment_download", "get", "attachment", False),
    ("api:eval_run_list", "get", None, False),
    ("api:eval_run_detail", "get", "eval_run", False),
    ("api:release_list", "get", None, False),
    ("api:release_list", "post", None, True),
    ("api:release_detail", "get", "release", False),
    ("api:release_approve", "post", "release", True),
    ("api:release_refuse", "post", "release", True),
    ("api:release_revoke", "post", "approved_release", True),
    ("api:release_update_approve", "post", "approved_release", True),
    ("api:release_update_decline", "post", "approved_release", True),
    ("api:agreement_list", "get", None, False),
    ("api:agreement_detail", "get", "agreement", False),
    ("api:exercise_list", "get", None, False),
    ("api:exercise_detail", "get", "exercise", False),
    ("api:exercise_runs", "get", "exercise", False),
    ("api:exercise_runs", "post", "exercise", True),
    ("api:protocol_detail", "get", "protocol", False),
    ("api:secondment_list", "get", None, False),
]
OBJECT_ENDPOINTS = [e for e in ENDPOINTS if e[2] is not None]
WRITE_ENDPOINTS = [e for e in ENDPOINTS if e[3]]
READ_ENDPOINTS = [e for e in ENDPOINTS if not e[3]]
LIST_ENDPOINTS = [e for e in ENDPOINTS if e[2] is None and not e[3]]
BODIES = {
    ("api:document_list", "post"): lambda w: {"title": "New finding", "tier": "official"},
    ("api:document_detail", "patch"): lambda w: {"title": "Renamed"},
    ("api:release_list", "post"): lambda w: {
        "document": str(w["finding"].code),
        "agreement": str(w["agreement"].code),
        "recipients": ["caisi"],
        "justification": "Joint testing",
    },
    ("api:release_refuse", "post"): lambda w: {"reason": "Not yet"},
    ("api:release_revoke", "post"): lambda w: {"reason": "Superseded"},
    ("api:release_update_approve", "post"): lambda w: {"revision": 3},
    ("api:release_update_decline", "post"): lambda w: {"revision": 3, "reason": "Not this one"},
    ("api:exercise_runs", "post"): lambda w: {"title": "Our run"},
}


@pytest.fixture
def world(alice, rita, olivia, uma, finding, uk_us_agreement, usaisi):
    """A UK draft with a clean attachment and a parsed log; a published UK finding with a
    release to the US awaiting decision; another, approved and in force; a UK-US exercise with
    a protocol draft, Alice and Uma read in."""
    from sharing.services.releases import release_approve, release_request
    from tests.factories import domains, tier
    from tests.sharing.documents_support import new_document

    document = new_document(alice, risk_domains=domains("cbrn"))
    attachment = clean_attachment(alice, document)
    log = clean_attachment(alice, document, (FIXTURES / "success.eval").read_bytes(), "success.eval")
    second = new_document(alice, title="Second finding", tier=tier("official"), risk_domains=domains("cyber-offence"))
    from sharing.services import document_publish

    document_publish(actor=alice, document=second)
    [approved] = release_request(
        actor=alice, document=second, agreement=uk_us_agreement, recipients=[usaisi], justification="Joint testing"
    )
    release_approve(actor=rita, release=approved)
    from exercises.services import protocol_draft
    from tests.exercises.support import TASKS, make_exercise, read_in

    exercise = make_exercise(olivia, uk_us_agreement, usaisi)
    read_in(alice, exercise)
    read_in(uma, exercise)
    protocol = protocol_draft(actor=olivia, exercise=exercise, target_model="lab/x", reference_models=[], tasks=TASKS)
    return {
        "exercise": exercise,
        "protocol": protocol,
        "document": document,
        "attachment": attachment,
        "eval_run": parsed_run(log),
        "finding": finding,
        "agreement": uk_us_agreement,
        "release": release_request(
            actor=alice, document=finding, agreement=uk_us_agreement, recipients=[usaisi], justification="Please"
        )[0],
        "approved_release": approved,
    }


def call(client, name, method, world, kind=None):
    obj = world.get(kind) if kind else None
    if name == "api:document_attachment_named":
        url = reverse(name, args=[obj.code, "x.txt"])
        return client.generic("POST", url, b"some bytes", content_type="application/octet-stream")
    url = reverse(name, args=[obj.code]) if obj is not None else reverse(name)
    if name == "api:document_attachments" and method == "post":
        return client.generic("POST", url + "?filename=x.txt", b"some bytes", content_type="application/octet-stream")
    body = BODIES.get((name, method))
    return getattr(client, method)(url, body(world) if body else None, format="json")


def assert_error(response, status: int, code: str | None = None):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"} and error["message"]
    if code is not None:
        assert error["code"] == code
    return error


@pytest.mark.parametrize(("name", "method", "kind", "write"), ENDPOINTS)
def test_anonymous_gets_401(api, world, name, method, kind, write):
    response = call(api(), name, method, world, kind)
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("name", "method", "kind", "write"), ENDPOINTS)
def test_anonymous_with_expired_token_gets_401(api, world, expired_secret, name, method, kind, write):
    assert_error(call(api(expired_secret), name, method, world, kind), 401, "token_expired")
    assert AuditEvent.objects.filter(action=Action.API_TOKEN_REFUSED, outcome=Outcome.DENIED).exists()


@pytest.mark.parametrize(("name", "method", "kind", "write"), ENDPOINTS)
def test_anonymous_with_revoked_token_gets_401(api, world, revoked_secret, name, method, kind, write):
    assert_error(call(api(revoked_secret), name, method, world, kind), 401, "token_revoked")


@pytest.mark.parametrize(("name", "method", "kind", "write"), WRITE_ENDPOINTS)
def test_read_only_token_cannot_write(as_user, alice, world, name, method, kind, write):
    before = AuditEvent.objects.count()
    assert_error(call(as_user(alice, "read"), name, method, world, kind), 403, "scope_missing")
    denial = AuditEvent.objects.filter(seq__gt=before, action=Action.ACCESS_DENIED).get()
    assert denial.details["reason"] == Reason.TOKEN_SCOPE and denial.details["wanted"] == "write"


@pytest.mark.parametrize(("name", "method", "kind", "write"), READ_ENDPOINTS)
def test_write_only_token_cannot_read(as_user, alice, world, name, method, kind, write):
    assert_error(call(as_user(alice, "write"), name, method, world, kind), 403, "scope_missing")


@pytest.mark.parametrize(("name", "method", "kind", "write"), OBJECT_ENDPOINTS)
def test_outsider_gets_404_and_is_audited(as_user, carl, world, name, method, kind, write):
    before = AuditEvent.objects.count()
    assert_error(call(as_user(carl), name, method, world, kind), 404, "not_found")
    denial = AuditEvent.objects.filter(seq__gt=before, action=Action.ACCESS_DENIED, outcome=Outcome.DENIED)
    assert denial.filter(actor_id=carl.pk).exists()


@pytest.mark.parametrize(("name", "method", "kind", "write"), LIST_ENDPOINTS)
def test_outsider_lists_nothing_of_another_organisation(as_user, carl, world, name, method, kind, write):
    response = call(as_user(carl), name, method, world)
    assert response.status_code == 200
    assert response.json()["count"] == 0 and response.json()["results"] == []


def test_outsider_without_author_role_cannot_create(as_user, bob, world):
    response = call(as_user(bob), "api:document_list", "post", world)
    assert_error(response, 403, "permission_denied")
    assert not Document.objects.filter(title="New finding").exists()


@pytest.mark.parametrize(
    ("name", "method", "kind", "write"), [e for e in WRITE_ENDPOINTS if e[0] != "api:document_list"]
)
def test_reader_without_write_gets_403(as_user, uma, world, name, method, kind, write):
    from sharing.models import Release

    document = world["document"]
    assert_error(call(as_user(uma), name, method, world, kind), 403, "permission_denied")
    document.refresh_from_db()
    assert document.title != "Renamed" and document.status == Document.Status.DRAFT
    assert document.attachments.count() == 2
    assert Release.objects.get(pk=world["release"].pk).status == Release.Status.REQUESTED
    assert Release.objects.get(pk=world["approved_release"].pk).status == Release.Status.APPROVED
    assert not world["exercise"].runs.exists()


def test_reader_without_write_can_read_what_the_policy_allows(as_user, uma, world):
    client = as_user(uma)
    document = world["document"]
    assert client.get(reverse("api:document_detail", args=[document.code])).json()["title"] == document.title
    listed = {d["code"] for d in client.get(reverse("api:document_list")).json()["results"]}
    assert str(document.code) in listed and str(world["finding"].code) in listed


def test_every_endpoint_is_in_the_matrix():
    [api_urls] = [p for p in get_resolver().url_patterns if getattr(p, "namespace", None) == "api"]
    names = {f"api:{pattern.name}" for pattern in api_urls.url_patterns}
    session_or_public = {
        "api:schema",
        "api:docs",
        "api:tokens",
        "api:token_revoke",
        "api:org_tokens",
        "api:org_token_revoke",
        "api:sessions",
        "api:session_end",
        "api:not_found",
    }
    assert names - session_or_public == {name for name, *_ in ENDPOINTS}
