"""The real HTTP upload path: encrypted as it arrives, capped, and nothing left in clear."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client, RequestFactory
from django.urls import reverse

from audit.models import Action, AuditEvent
from audit.reasons import Reason
from sharing.models import Attachment
from tests.factories import PersonFactory, login_verified
from vault.attachments import content_disposition, open_plaintext, safe_filename


def upload_url(document):
    return reverse("sharing:attachment_upload", args=[document.code])


def files_under(*roots: Path) -> list[Path]:
    return [p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()]


def holds(marker: bytes, *roots: Path) -> list[Path]:
    return [p for p in files_under(*roots) if marker in p.read_bytes()]


def database_dump() -> bytes:
    """Every row of every table as text, as this connection sees it (uncommitted rows too)."""
    connection.ensure_connection()
    if connection.vendor == "sqlite":
        return "\n".join(connection.connection.iterdump()).encode("utf-8", "replace")
    rows: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            # A row cast to text renders bytea as hex, which the caller also searches for.
            cursor.execute(f"SELECT t::text FROM {connection.ops.quote_name(table)} t")  # noqa: S608
            rows.extend(row[0] for row in cursor.fetchall())
    return "\n".join(rows).encode("utf-8", "replace")


def database_holds(marker: bytes) -> bool:
    dump = database_dump()
    return marker in dump or marker.hex().encode() in dump.lower()


def marked_text(marker: bytes, size: int) -> bytes:
    line = b"evaluation transcript line " + marker + b" and some padding text\n"
    return (line * (size // len(line) + 1))[:size]


def test_no_plaintext_reaches_disk_or_database(
    settings, media, temp_dirs, document, verified_client, alice, django_capture_on_commit_callbacks
):
    marker = f"MARKER-{uuid.uuid4().hex}".encode()
    data = marked_text(marker, settings.FILE_UPLOAD_MAX_MEMORY_SIZE + 3 * 1024 * 1024 + 17)
    assert len(data) > settings.FILE_UPLOAD_MAX_MEMORY_SIZE
    client = verified_client(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(upload_url(document), {"file": SimpleUploadedFile("transcript.txt", data, "text/plain")})
    assert response.status_code == 201, response.content
    attachment = Attachment.objects.get()
    assert attachment.scan_status == Attachment.ScanStatus.CLEAN
    with open_plaintext(attachment.code) as stream:
        assert stream.read() == data
    assert files_under(media)  # the ciphertext is there...
    assert holds(marker, media, *temp_dirs) == []  # ...and no plaintext anywhere on disk
    assert not database_holds(marker)


def test_the_marker_search_finds_what_django_default_handler_leaves(settings, temp_dirs):
    """Control: the same search does find the marker in the temp file Django's default writes."""
    marker = f"MARKER-{uuid.uuid4().hex}".encode()
    data = marked_text(marker, settings.FILE_UPLOAD_MAX_MEMORY_SIZE + 1024)
    request = RequestFactory().post("/x", {"file": SimpleUploadedFile("t.txt", data)})
    uploaded = request.FILES["file"]  # default handlers: TemporaryFileUploadHandler for big files
    try:
        assert holds(marker, *temp_dirs)
    finally:
        uploaded.close()


def test_size_cap_stops_the_upload_and_leaves_nothing(settings, media, temp_dirs, document, verified_client, alice):
    settings.ACCORD_ATTACHMENT_MAX_BYTES = 200_000
    data = b"a" * 200_001
    response = verified_client(alice).post(upload_url(document), {"file": SimpleUploadedFile("big.txt", data)})
    assert response.status_code == 413
    assert b"limit" in response.content
    assert not Attachment.objects.exists()
    assert files_under(media, *temp_dirs) == []
    event = AuditEvent.objects.get(action=Action.ATTACHMENT_REJECTED)
    assert event.outcome == "denied" and event.details["reason"] == Reason.TOO_LARGE


def test_file_exactly_at_the_cap_is_accepted(settings, document, verified_client, alice):
    settings.ACCORD_ATTACHMENT_MAX_BYTES = 200_000
    response = verified_client(alice).post(upload_url(document), {"file": SimpleUploadedFile("ok.txt", b"a" * 200_000)})
    assert response.status_code == 201
    assert Attachment.objects.get().size == 200_000


def test_upload_without_file_is_400(document, verified_client, alice, media):
    response = verified_client(alice).post(upload_url(document), {"note": "nothing"})
    assert response.status_code == 400
    assert not Attachment.objects.exists()


def test_only_the_file_field_is_kept(document, verified_client, alice, media):
    response = verified_client(alice).post(
        upload_url(document),
        {"file": SimpleUploadedFile("a.txt", b"kept"), "other": SimpleUploadedFile("b.txt", b"dropped")},
    )
    assert response.status_code == 201
    assert Attachment.objects.count() == 1 and len(files_under(media)) == 1


def test_csrf_failure_leaves_no_blob(document, alice, media):
    client = Client(enforce_csrf_checks=True)
    login_verified(client, alice)
    response = client.post(upload_url(document), {"file": SimpleUploadedFile("a.txt", b"data")})
    assert response.status_code == 403
    assert not Attachment.objects.exists()
    assert files_under(media) == []


def test_upload_with_csrf_token_passes(document, alice, media):
    client = Client(enforce_csrf_checks=True)
    login_verified(client, alice)
    client.get("/")  # sets the CSRF cookie
    token = client.cookies[__import__("django.conf").conf.settings.CSRF_COOKIE_NAME].value
    response = client.post(
        upload_url(document), {"csrfmiddlewaretoken": token, "file": SimpleUploadedFile("a.txt", b"data")}
    )
    assert response.status_code == 201


def test_upload_redirects_to_a_safe_next_url_only(document, verified_client, alice):
    client = verified_client(alice)
    ok = client.post(upload_url(document), {"file": SimpleUploadedFile("a.txt", b"1"), "next": "/documents/x/"})
    assert ok.status_code == 302 and ok["Location"] == "/documents/x/"
    evil = client.post(
        upload_url(document), {"file": SimpleUploadedFile("b.txt", b"2"), "next": "https://evil.example/"}
    )
    assert evil.status_code == 201


def test_outsider_upload_is_404_and_nothing_is_read(document, verified_client, bob, media):
    response = verified_client(bob).post(upload_url(document), {"file": SimpleUploadedFile("a.txt", b"x")})
    assert response.status_code == 404
    assert files_under(media) == []
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, actor_id=bob.pk).exists()


def test_member_without_author_role_gets_403(document, verified_client, ukasi, media):
    reader = PersonFactory(organisation=ukasi, clearance="official")
    response = verified_client(reader).post(upload_url(document), {"file": SimpleUploadedFile("a.txt", b"x")})
    assert response.status_code == 403
    assert files_under(media) == []


def test_get_on_upload_is_405(document, verified_client, alice):
    assert verified_client(alice).get(upload_url(document)).status_code == 405


def test_anonymous_upload_goes_to_login(document, client, media):
    response = client.post(upload_url(document), {"file": SimpleUploadedFile("a.txt", b"x")})
    assert response.status_code == 302 and "/accounts/login" in response["Location"]
    assert files_under(media) == []


def test_upload_is_audited_with_its_hash(document, verified_client, alice):
    verified_client(alice).post(upload_url(document), {"file": SimpleUploadedFile("a.txt", b"abc")})
    event = AuditEvent.objects.get(action=Action.ATTACHMENT_UPLOADED)
    assert event.details["sha256"] == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert event.details["size"] == 3


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system32\\cmd.exe", "cmd.exe"),
        ("report\x00.pdf", "report.pdf"),
        ("line\nbreak\r.txt", "linebreak.txt"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),  # right-to-left override hides ".exe"
        ("zero\u200bwidth.txt", "zerowidth.txt"),
        ("", "attachment"),
        ("..", "attachment"),
        ("...hidden", "hidden"),
        ('a"b;c<d>.csv', "a_b_c_d_.csv"),
        ("  spaced   out  .md ", "spaced out .md"),
    ],
)
def test_hostile_filenames_are_sanitised(given, expected):
    assert safe_filename(given) == expected


def test_long_filename_is_cut_keeping_its_extension():
    name = safe_filename("x" * 300 + ".pdf")
    assert len(name) == 150 and name.endswith("x.pdf")


def test_content_disposition_is_ascii_with_utf8_original():
    header = content_disposition("naïve\u202e.txt")
    header.encode("ascii")
    assert header.startswith("attachment; filename=\"naive.txt\"; filename*=UTF-8''na%C3%AFve%E2%80%AE.txt")


def test_hostile_filename_through_http_gets_random_storage_name(document, verified_client, alice, media):
    name = "../../" + "evil\u202etxt.exe" + "y" * 300 + ".txt"
    response = verified_client(alice).post(upload_url(document), {"file": SimpleUploadedFile(name, b"hi")})
    assert response.status_code == 201
    attachment = Attachment.objects.get()
    assert "\u202e" not in attachment.filename and "/" not in attachment.filename
    assert len(attachment.filename) <= 150 and attachment.filename.endswith(".txt")
    [stored] = files_under(media)
    assert stored.parent == media / "attachments" and "evil" not in stored.name
    assert len(stored.name) == 40
