"""Attachment services and views: round trips, downloads, tampering at rest, destruction."""

from __future__ import annotations

import hashlib
import os

import pytest
from django.urls import reverse

from audit.models import Action, AuditEvent
from sharing.models import Attachment
from tests.factories import PersonFactory
from tests.sharing.conftest import blob_path
from vault.attachments import AttachmentDestroyed, attachment_destroy, open_plaintext
from vault.crypto import TamperedCiphertext
from vault.downloads import repr_digest

SEG = 64 * 1024


def download_url(attachment):
    return reverse("sharing:attachment_download", args=[attachment.code])


def body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.parametrize("size", [0, 1, SEG - 1, SEG, SEG + 1, 3 * 1024 * 1024 + 11])
def test_stream_upload_round_trips_through_open_plaintext(make_attachment, media, size):
    data = os.urandom(size)
    attachment = make_attachment(data, filename="data.bin", content_type="")
    assert attachment.size == size
    assert attachment.sha256 == hashlib.sha256(data).hexdigest()
    with open_plaintext(attachment.code) as stream:
        assert stream.read() == data
    stored = blob_path(media, attachment).read_bytes()
    assert data[:32] not in stored or size < 32


def test_clean_attachment_downloads_with_safe_headers(make_attachment, verified_client, alice):
    data = b"col1,col2\n" * 20000
    attachment = make_attachment(data, filename="résultats «final».csv", content_type="text/csv")
    assert attachment.scan_status == Attachment.ScanStatus.CLEAN
    response = verified_client(alice).get(download_url(attachment))
    assert response.status_code == 200
    assert body(response) == data
    assert response["Content-Type"] == "text/csv"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    assert response["Content-Length"] == str(len(data))
    assert response["Content-Disposition"] == (
        "attachment; filename=\"resultats final.csv\"; filename*=UTF-8''r%C3%A9sultats%20%C2%ABfinal%C2%BB.csv"
    )
    event = AuditEvent.objects.filter(action=Action.ATTACHMENT_DOWNLOADED).get()
    assert event.actor_id == alice.pk and event.target_id == str(attachment.code)


def test_pending_attachment_is_not_downloadable(make_attachment, verified_client, alice):
    attachment = make_attachment()
    Attachment.objects.filter(pk=attachment.pk).update(scan_status=Attachment.ScanStatus.PENDING)
    assert verified_client(alice).get(download_url(attachment)).status_code == 404


def test_rejected_attachment_is_not_downloadable(make_attachment, verified_client, alice):
    attachment = make_attachment(b"MZ\x90\x00binary", filename="tool.exe")
    assert attachment.scan_status == Attachment.ScanStatus.REJECTED
    assert verified_client(alice).get(download_url(attachment)).status_code == 404


def test_partner_without_access_gets_404_and_denial_is_audited(make_attachment, verified_client, bob):
    attachment = make_attachment()
    assert verified_client(bob).get(download_url(attachment)).status_code == 404
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, actor_id=bob.pk).exists()


def test_anonymous_download_goes_to_login(make_attachment, client):
    response = client.get(download_url(make_attachment()))
    assert response.status_code == 302 and "/accounts/login" in response["Location"]


def test_post_on_download_is_405(make_attachment, verified_client, alice):
    assert verified_client(alice).post(download_url(make_attachment())).status_code == 405


def test_blob_swapped_between_attachments_is_refused_and_audited(make_attachment, verified_client, alice, media):
    a = make_attachment(b"first file\n" * 100)
    b = make_attachment(b"other file\n" * 100)  # same size, same organisation and key version
    blob_a, blob_b = blob_path(media, a), blob_path(media, b)
    content_a, content_b = blob_a.read_bytes(), blob_b.read_bytes()
    blob_a.write_bytes(content_b)
    blob_b.write_bytes(content_a)
    response = verified_client(alice).get(download_url(a))
    assert response.status_code == 409
    assert AuditEvent.objects.filter(action=Action.ATTACHMENT_INTEGRITY_FAILED, target_id=str(a.code)).exists()
    with pytest.raises(TamperedCiphertext), open_plaintext(a.code) as stream:
        stream.read()


def test_swapped_wrapped_keys_fail_to_unwrap(make_attachment):
    a, b = make_attachment(b"a" * 10), make_attachment(b"b" * 10)
    Attachment.objects.filter(pk=a.pk).update(wrapped_dek=b.wrapped_dek)
    with pytest.raises(Exception, match="unwrap"), open_plaintext(a.code):
        pass


def test_segment_tampered_at_rest_ends_the_download_and_is_audited(make_attachment, verified_client, alice, media):
    data = os.urandom(4 * SEG)
    attachment = make_attachment(data, filename="blob.bin", content_type="")
    Attachment.objects.filter(pk=attachment.pk).update(scan_status=Attachment.ScanStatus.CLEAN)
    path = blob_path(media, attachment)
    raw = bytearray(path.read_bytes())
    raw[-2 * (SEG + 16)] ^= 0x80  # inside segment 2
    path.write_bytes(bytes(raw))
    response = verified_client(alice).get(download_url(attachment))
    assert response.status_code == 200  # the first segments were sound
    received = body(response)
    assert received == data[: 2 * SEG]  # ends exactly before the bad segment
    # The Repr-Digest sent before the first byte names the whole file, so a client checking it
    # sees the cut (tests/vault/test_repr_digest.py).
    assert response["Repr-Digest"] == repr_digest(hashlib.sha256(data).hexdigest())
    assert repr_digest(hashlib.sha256(received).hexdigest()) != response["Repr-Digest"]
    failure = AuditEvent.objects.get(action=Action.ATTACHMENT_INTEGRITY_FAILED)
    assert "segment 2" in failure.details["error"]


def test_truncated_blob_is_refused_before_streaming(make_attachment, verified_client, alice, media):
    attachment = make_attachment(b"x" * (3 * SEG))
    path = blob_path(media, attachment)
    path.write_bytes(path.read_bytes()[: -(SEG + 16)])
    assert verified_client(alice).get(download_url(attachment)).status_code == 409


def test_destroy_shreds_the_key_and_blob_and_keeps_the_record(
    make_attachment, verified_client, alice, media, django_capture_on_commit_callbacks
):
    attachment = make_attachment(b"secret evidence\n")
    path = blob_path(media, attachment)
    assert path.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = verified_client(alice).post(reverse("sharing:attachment_destroy", args=[attachment.code]))
    assert response.status_code == 204
    attachment.refresh_from_db()
    assert attachment.wrapped_dek is None and attachment.destroyed_by == alice
    assert not path.exists()
    assert verified_client(alice).get(download_url(attachment)).status_code == 404
    with pytest.raises(AttachmentDestroyed), open_plaintext(attachment.code):
        pass
    assert AuditEvent.objects.filter(action=Action.ATTACHMENT_DESTROYED, target_id=str(attachment.code)).count() == 1
    attachment_destroy(actor=alice, attachment=attachment)  # idempotent: no second event
    assert AuditEvent.objects.filter(action=Action.ATTACHMENT_DESTROYED).count() == 1


def test_destroy_needs_the_author_role(make_attachment, verified_client, ukasi):
    reader = PersonFactory(organisation=ukasi, clearance="official")
    attachment = make_attachment()
    response = verified_client(reader).post(reverse("sharing:attachment_destroy", args=[attachment.code]))
    assert response.status_code == 403
    attachment.refresh_from_db()
    assert attachment.wrapped_dek is not None


def test_destroy_by_outsider_is_404(make_attachment, verified_client, bob):
    attachment = make_attachment()
    assert verified_client(bob).post(reverse("sharing:attachment_destroy", args=[attachment.code])).status_code == 404


def test_open_plaintext_is_seekable_for_zip_readers(make_attachment):
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("header.json", '{"eval": {"task": "t"}}')
        archive.writestr("samples/1.json", "x" * 300_000)
    attachment = make_attachment(buffer.getvalue(), filename="run.eval", content_type="")
    assert attachment.scan_status == Attachment.ScanStatus.CLEAN
    with open_plaintext(attachment.code) as stream, zipfile.ZipFile(stream) as archive:
        assert archive.read("header.json") == b'{"eval": {"task": "t"}}'
        assert len(archive.read("samples/1.json")) == 300_000
