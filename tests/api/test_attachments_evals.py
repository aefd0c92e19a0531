"""Attachments and eval results through the API: streamed, encrypted, gated."""

from __future__ import annotations

import hashlib
import io
import os

import pytest
from django.urls import reverse

from audit.models import Action, AuditEvent
from audit.reasons import Reason
from sharing.models import Attachment
from tests.api.support import FIXTURES, clean_attachment, parsed_run
from tests.factories import domains
from tests.sharing.documents_support import new_document
from vault.tasks import scan_attachment

pytestmark = pytest.mark.django_db


def upload(client, document, data: bytes, **extra):
    query = extra.pop("query", "?filename=evidence.txt")
    return client.generic(
        "POST",
        reverse("api:document_attachments", args=[document.code]) + query,
        data,
        content_type=extra.pop("content_type", "text/plain"),
        **extra,
    )


def stored_bytes(media) -> bytes:
    return b"".join(p.read_bytes() for p in media.rglob("*") if p.is_file())


def test_upload_encrypts_the_raw_body_and_download_returns_it(as_user, alice, draft, media):
    plaintext = os.urandom(100_000).hex().encode() + b"THE-PLAINTEXT-MARKER" * 100
    client = as_user(alice)
    response = upload(client, draft, plaintext, query="?filename=run%20log.txt")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["filename"] == "run log.txt" and body["size"] == len(plaintext)
    assert body["sha256"] == hashlib.sha256(plaintext).hexdigest() and body["document"] == str(draft.code)
    # Only ciphertext was written anywhere under the store.
    assert b"THE-PLAINTEXT-MARKER" not in stored_bytes(media)
    attachment = Attachment.objects.get(code=body["code"])
    from vault.tasks import scan_attachment

    scan_attachment(str(attachment.code))
    download = client.get(body["download_url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == plaintext
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["Content-Length"] == str(len(plaintext))
    assert AuditEvent.objects.filter(action=Action.ATTACHMENT_DOWNLOADED, target_id=str(attachment.code)).exists()


def test_upload_takes_the_name_from_content_disposition(as_user, alice, draft):
    response = upload(
        as_user(alice),
        draft,
        b"a,b\n1,2\n",
        query="",
        content_type="text/csv",
        HTTP_CONTENT_DISPOSITION='attachment; filename="scores.csv"',
    )
    assert response.status_code == 201 and response.json()["filename"] == "scores.csv"


@pytest.mark.parametrize(
    ("query", "content_type", "data", "status", "reason"),
    [
        ("", "text/plain", b"data", 400, Reason.NO_FILENAME),
        ("?filename=a.txt", "multipart/form-data; boundary=x", b"--x--", 415, Reason.MULTIPART_BODY),
        ("?filename=a.txt", "text/plain", b"", 400, Reason.EMPTY_FILE),
    ],
)
def test_bad_uploads_are_refused_audited_and_leave_nothing(
    as_user, alice, draft, media, query, content_type, data, status, reason
):
    response = upload(as_user(alice), draft, data, query=query, content_type=content_type)
    assert response.status_code == status
    assert response.json()["error"]["message"]
    assert not Attachment.objects.filter(document=draft).exists()
    assert stored_bytes(media) == b""
    assert AuditEvent.objects.filter(action=Action.ATTACHMENT_REJECTED).last().details["reason"] == reason


def test_upload_over_the_limit_is_413_before_anything_is_stored(as_user, alice, draft, media, settings):
    settings.ACCORD_ATTACHMENT_MAX_BYTES = 1000
    response = upload(as_user(alice), draft, b"x" * 1001)
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"
    assert not Attachment.objects.exists() and stored_bytes(media) == b""
    assert AuditEvent.objects.filter(action=Action.ATTACHMENT_REJECTED).last().details["reason"] == Reason.TOO_LARGE


def test_upload_whose_body_outgrows_its_declared_length_stops_at_the_cap(as_user, alice, draft, media, settings):
    """The cap holds while streaming too: a body larger than Content-Length claims never gets in."""
    from sharing.attachments import attachment_create_from_stream
    from vault.attachments import AttachmentTooLarge

    settings.ACCORD_ATTACHMENT_MAX_BYTES = 1000
    with pytest.raises(AttachmentTooLarge):
        attachment_create_from_stream(actor=alice, document=draft, stream=io.BytesIO(b"x" * 5000), filename="a.txt")
    assert stored_bytes(media) == b""


def test_attachments_list_shows_scan_state(as_user, alice, draft):
    attachment = clean_attachment(alice, draft)
    response = as_user(alice).get(reverse("api:document_attachments", args=[draft.code]))
    assert response.status_code == 200
    [row] = response.json()
    assert row["code"] == str(attachment.code) and row["scan_status"] == "clean" and row["size"] == 13


def test_download_of_an_unscanned_attachment_is_404(as_user, alice, draft):
    response = upload(as_user(alice), draft, b"pending bytes")
    download = as_user(alice).get(response.json()["download_url"])
    assert download.status_code == 404 and download.json()["error"]["code"] == "not_found"


def test_download_sends_the_file_whatever_the_client_accepts(as_user, alice, draft):
    attachment = clean_attachment(alice, draft)
    response = as_user(alice).get(
        reverse("api:attachment_download", args=[attachment.code]), HTTP_ACCEPT="application/octet-stream"
    )
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"hello, world\n"


def test_download_carries_the_portal_download_headers(as_user, alice, draft):
    """One response builder serves both: the API once lacked Cross-Origin-Resource-Policy."""
    attachment = clean_attachment(alice, draft)
    response = as_user(alice).get(reverse("api:attachment_download", args=[attachment.code]))
    assert response.status_code == 200
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["Cache-Control"] == "no-store"


# -- eval results ------------------------------------------------------------------------------


@pytest.fixture
def runs(alice):
    """Two parsed Inspect logs on two documents of different risk domains."""
    cbrn = new_document(alice, title="CBRN evals", risk_domains=domains("cbrn"))
    cyber = new_document(alice, title="Cyber evals", risk_domains=domains("cyber-offence"))
    success = parsed_run(clean_attachment(alice, cbrn, (FIXTURES / "success.eval").read_bytes(), "success.eval"))
    multi = parsed_run(
        clean_attachment(alice, cyber, (FIXTURES / "multi_scorer.json").read_bytes(), "multi_scorer.json")
    )
    return {"cbrn": cbrn, "cyber": cyber, "success": success, "multi": multi}


def test_eval_log_uploaded_through_the_api_becomes_results(as_user, alice, draft):
    client = as_user(alice)
    response = upload(
        client,
        draft,
        (FIXTURES / "success.eval").read_bytes(),
        query="?filename=success.eval",
        content_type="application/zip",
    )
    assert response.status_code == 201
    # As in production: the scan clears the log, then the parse reads it (no commit comes in a test).
    scan_attachment(response.json()["code"])
    run = parsed_run(Attachment.objects.get(code=response.json()["code"]))
    listed = client.get(reverse("api:eval_run_list"), {"document": str(draft.code)}).json()["results"]
    assert [r["code"] for r in listed] == [str(run.code)]
    assert listed[0]["parse_status"] == "parsed" and listed[0]["model"] == run.model
    assert listed[0]["scores"] and listed[0]["document"] == str(draft.code)


def test_eval_runs_filter_by_model_task_and_risk_domain(as_user, alice, runs):
    client = as_user(alice)

    def codes(**params):
        response = client.get(reverse("api:eval_run_list"), params)
        assert response.status_code == 200, response.content
        return {r["code"] for r in response.json()["results"]}

    success, multi = runs["success"], runs["multi"]
    assert codes() == {str(success.code), str(multi.code)}
    assert codes(task=success.task) == {str(success.code)}
    same_model = {str(r.code) for r in (success, multi) if r.model.lower() == success.model.lower()}
    assert str(success.code) in same_model
    assert codes(model=success.model.upper()) == same_model
    assert codes(risk_domain="cbrn") == {str(success.code)}
    assert codes(risk_domain="cyber-offence") == {str(multi.code)}
    assert codes(model="no/such-model") == set()


def test_eval_run_detail_has_scores_and_usage(as_user, alice, runs):
    run = runs["multi"]
    body = as_user(alice).get(reverse("api:eval_run_detail", args=[run.code])).json()
    assert body["task"] == run.task and body["status"] == run.status
    assert len(body["scores"]) == run.scores.count() >= 2
    assert {s["scorer_name"] for s in body["scores"]} == set(run.scores.values_list("scorer_name", flat=True))
    assert body["model_usage"][0]["total_tokens"] == run.model_usage.first().total_tokens


def test_outsider_sees_no_eval_runs_of_another_organisation(as_user, bob, runs):
    assert as_user(bob).get(reverse("api:eval_run_list")).json()["count"] == 0
    assert as_user(bob).get(reverse("api:eval_run_detail", args=[runs["success"].code])).status_code == 404


def test_upload_named_in_the_path_as_curl_sends_it(as_user, alice, draft):
    url = reverse("api:document_attachment_named", args=[draft.code, "run log.txt"])
    response = as_user(alice).generic("POST", url, b"plain text\n", content_type="text/plain")
    assert response.status_code == 201, response.content
    assert response.json()["filename"] == "run log.txt" and response.json()["size"] == 11


def test_upload_never_spools_to_a_temporary_file(as_user, alice, draft, settings, tmp_path, monkeypatch):
    """The body goes from the socket to the encrypting writer: no upload handler, no temp file."""
    import tempfile

    spool = tmp_path / "spool"
    spool.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(spool)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    response = upload(as_user(alice), draft, b"line of text\n" * 50_000)
    assert response.status_code == 201
    assert list(spool.iterdir()) == []
