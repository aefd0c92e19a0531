"""The ciphertext store failing in the middle of an upload: a clear error, and nothing left
behind — no attachment row, no blob, an audited refusal."""

from __future__ import annotations

import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import Action, AuditEvent, Outcome
from audit.reasons import Reason
from sharing.models import Attachment
from tests.vault import failing_storage

pytestmark = pytest.mark.django_db


@pytest.fixture
def failing_store(settings, media, monkeypatch):
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {"BACKEND": "tests.vault.failing_storage.FailingStorage", "OPTIONS": {"location": media}},
    }
    monkeypatch.setattr(failing_storage, "FAIL_AFTER_BYTES", None)
    monkeypatch.setattr(failing_storage, "FAIL_AT_OPEN", False)
    return failing_storage


def _files(media) -> list[str]:
    return [os.path.join(d, f) for d, _, files in os.walk(media) for f in files] if media.exists() else []


@pytest.mark.parametrize("when", ["mid-upload", "at open"])
def test_store_failing_during_upload_answers_503_and_leaves_nothing(
    failing_store, document, verified_client, alice, media, monkeypatch, when
):
    if when == "mid-upload":
        monkeypatch.setattr(failing_store, "FAIL_AFTER_BYTES", 1_500_000)
    else:
        monkeypatch.setattr(failing_store, "FAIL_AT_OPEN", True)
    data = os.urandom(3 * 1024 * 1024)
    response = verified_client(alice).post(
        reverse("sharing:attachment_upload", args=[document.code]), {"file": SimpleUploadedFile("big.bin", data)}
    )
    assert response.status_code == 503
    assert "nothing was saved" in response.content.decode()
    assert response["Retry-After"] == "60"
    assert not Attachment.objects.exists()
    assert _files(media) == []
    assert not AuditEvent.objects.filter(action=Action.ATTACHMENT_UPLOADED).exists()
    refusal = AuditEvent.objects.get(action=Action.ATTACHMENT_REJECTED)
    assert refusal.outcome == Outcome.DENIED and refusal.details["reason"] == Reason.STORAGE_UNAVAILABLE


def test_the_same_upload_succeeds_once_the_store_recovers(failing_store, document, verified_client, alice, media):
    client = verified_client(alice)
    url = reverse("sharing:attachment_upload", args=[document.code])
    failing_store.FAIL_AFTER_BYTES = 100_000
    assert client.post(url, {"file": SimpleUploadedFile("a.bin", os.urandom(300_000))}).status_code == 503
    failing_store.FAIL_AFTER_BYTES = None
    response = client.post(url, {"file": SimpleUploadedFile("a.bin", os.urandom(300_000))})
    assert response.status_code == 201
    assert Attachment.objects.count() == 1
    assert len(_files(media)) == 1
