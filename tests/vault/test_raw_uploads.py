"""The page's raw-body upload: the file itself as the POST body (what static/js/upload.js sends),
streamed into the encryptor with no multipart parsing, under the form path's rules."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.http import multipartparser
from django.test import Client

from audit.models import Action, AuditEvent
from audit.reasons import Reason
from sharing.models import Attachment
from tests.factories import login_verified
from vault.attachments import open_plaintext

from .test_uploads import database_holds, files_under, holds, marked_text, upload_url


@pytest.fixture
def page(alice):
    """Alice's browser: CSRF enforced, the token read from the page's form as the script does."""
    client = Client(enforce_csrf_checks=True)
    login_verified(client, alice)
    client.get("/")
    client.csrf = client.cookies[django_settings.CSRF_COOKIE_NAME].value
    return client


def send(client, document, data: bytes, *, name: str | None = "notes.txt", csrf=True, **headers):
    extra = {"HTTP_ACCEPT": "application/json"}
    if name is not None:
        extra["HTTP_CONTENT_DISPOSITION"] = f"attachment; filename*=UTF-8''{quote(name, safe='')}"
    if csrf:
        extra["HTTP_X_CSRFTOKEN"] = client.csrf
    extra.update(headers)
    content_type = extra.pop("content_type", "text/plain")
    return client.post(upload_url(document), data=data, content_type=content_type, **extra)


def rejected(reason: Reason) -> AuditEvent:
    event = AuditEvent.objects.get(action=Action.ATTACHMENT_REJECTED)
    assert event.outcome == "denied" and event.details == {"reason": reason.value, "via": "web"} | (
        {"limit": event.details["limit"]} if reason == Reason.TOO_LARGE else {}
    )
    return event


def test_a_raw_body_is_stored_encrypted_without_multipart_parsing(
    page, document, media, temp_dirs, monkeypatch, django_capture_on_commit_callbacks
):
    def no_parsing(*args, **kwargs):
        raise AssertionError("a raw upload must not be parsed as a multipart form")

    monkeypatch.setattr(multipartparser.MultiPartParser, "parse", no_parsing)
    marker = f"MARKER-{uuid.uuid4().hex}".encode()
    data = marked_text(marker, 3 * 1024 * 1024 + 17)
    with django_capture_on_commit_callbacks(execute=True):
        response = send(page, document, data, name="transcript.txt")
    assert response.status_code == 201, response.content
    attachment = Attachment.objects.get(code=response.json()["code"])
    assert (attachment.filename, attachment.size, attachment.declared_type) == (
        "transcript.txt",
        len(data),
        "text/plain",
    )
    assert attachment.scan_status == Attachment.ScanStatus.CLEAN  # scanned like any upload
    with open_plaintext(attachment.code) as stream:
        assert stream.read() == data
    assert holds(marker, media, *temp_dirs) == []
    assert not database_holds(marker)
    uploaded = AuditEvent.objects.get(action=Action.ATTACHMENT_UPLOADED)
    assert uploaded.actor_id == attachment.uploaded_by_id and uploaded.details["size"] == len(data)


def test_a_hostile_name_is_cleaned_as_the_form_path_cleans_it(page, document):
    response = send(page, document, b"MZ...", name="../../etc/report\u202egpj.exe")
    assert response.status_code == 201
    assert Attachment.objects.get().filename == "reportgpj.exe"


def test_without_the_csrf_header_nothing_is_read_or_kept(page, document, media):
    response = send(page, document, b"forged", csrf=False)
    assert response.status_code == 403
    assert not Attachment.objects.exists() and files_under(media) == []


@pytest.mark.parametrize(
    ("kwargs", "status", "reason"),
    [
        ({"name": None}, 400, Reason.NO_FILENAME),
        ({"data": b""}, 400, Reason.EMPTY_FILE),
        ({"data": b"a" * 200_001}, 413, Reason.TOO_LARGE),
    ],
)
def test_refusals_are_audited_and_leave_nothing(page, document, media, settings, kwargs, status, reason):
    settings.ACCORD_ATTACHMENT_MAX_BYTES = 200_000
    data = kwargs.pop("data", b"data")
    response = send(page, document, data, **kwargs)
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/plain")  # the script shows it as it is
    assert not Attachment.objects.exists() and files_under(media) == []
    rejected(reason)


def test_a_file_exactly_at_the_cap_is_accepted(page, document, media, settings):
    settings.ACCORD_ATTACHMENT_MAX_BYTES = 200_000
    response = send(page, document, b"a" * 200_000)
    assert response.status_code == 201
    assert Attachment.objects.get().size == 200_000


def test_an_outsider_gets_404_before_a_byte_is_read(bob, document, media):
    client = Client(enforce_csrf_checks=True)
    login_verified(client, bob)
    client.get("/")
    client.csrf = client.cookies[django_settings.CSRF_COOKIE_NAME].value
    response = send(client, document, b"x")
    assert response.status_code == 404
    assert files_under(media) == []
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, actor_id=bob.pk).exists()


def test_a_form_body_still_takes_the_form_path(page, document):
    """Without JavaScript the browser posts multipart: kept exactly as before."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = page.post(
        upload_url(document), {"csrfmiddlewaretoken": page.csrf, "file": SimpleUploadedFile("a.txt", b"data")}
    )
    assert response.status_code == 201
    assert Attachment.objects.get().filename == "a.txt"
