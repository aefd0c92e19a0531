"""Downloads carry the plaintext's SHA-256 as an RFC 9530 `Repr-Digest`, known before the first
byte, so a client can tell the whole file from one cut short by a tampered segment (that case:
test_attachments.py's tampered-segment test, and the documented checks in
tests/api/test_download_digest_doc.py)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from sharing.models import Attachment
from tests.api.conftest import make_token
from vault.downloads import repr_digest

pytestmark = pytest.mark.django_db

SEG = 64 * 1024


def header_digest(response) -> bytes:
    value = response["Repr-Digest"]
    assert value.startswith("sha-256=:") and value.endswith(":")
    return base64.b64decode(value.removeprefix("sha-256=:").removesuffix(":"), validate=True)


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def api_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(user)}")
    return client


def test_repr_digest_is_the_rfc_9530_form_of_the_recorded_hash():
    assert repr_digest(hashlib.sha256(b'{"hello": "world"}').hexdigest()) == (
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"  # RFC 9530's own example
    )
    assert repr_digest("") == ""


@pytest.mark.parametrize("size", [0, 1, SEG, 3 * SEG + 5])
def test_web_download_body_matches_its_repr_digest(make_attachment, verified_client, alice, size):
    data = (b"model,task,score\n" * (size // 17 + 1))[:size]
    attachment = make_attachment(data, filename="data.csv", content_type="text/csv")
    assert attachment.scan_status == Attachment.ScanStatus.CLEAN
    response = verified_client(alice).get(reverse("sharing:attachment_download", args=[attachment.code]))
    assert response.status_code == 200
    received = body(response)
    assert received == data
    assert header_digest(response) == hashlib.sha256(received).digest()


def test_api_download_carries_the_same_repr_digest(make_attachment, alice):
    data = b"run,score\n" * 9000
    attachment = make_attachment(data, filename="scores.csv", content_type="text/csv")
    response = api_client(alice).get(reverse("api:attachment_download", args=[attachment.code]))
    assert response.status_code == 200
    assert header_digest(response) == hashlib.sha256(body(response)).digest()
    assert response["Repr-Digest"] == repr_digest(attachment.sha256)


def test_a_row_without_a_recorded_hash_sends_no_digest(make_attachment, verified_client, alice):
    attachment = make_attachment(b"old row\n")
    Attachment.objects.filter(pk=attachment.pk).update(sha256="")
    response = verified_client(alice).get(reverse("sharing:attachment_download", args=[attachment.code]))
    assert response.status_code == 200
    assert not response.has_header("Repr-Digest")
