from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.services
def test_ciphertext_store_round_trips_through_the_s3_server(s3_storage):
    client, bucket = s3_storage
    name = storages["attachments"].save("blobs/abc", ContentFile(b"\x00ciphertext\xff" * 1000))
    keys = [obj["Key"] for obj in client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == [name]
    with storages["attachments"].open(name, "rb") as fh:
        assert fh.read() == b"\x00ciphertext\xff" * 1000
    storages["attachments"].delete(name)
    assert client.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


@pytest.mark.services
def test_objects_are_private(s3_storage):
    client, bucket = s3_storage
    name = storages["attachments"].save("blobs/private", ContentFile(b"x"))
    grants = client.get_object_acl(Bucket=bucket, Key=name)["Grants"]
    assert all("AllUsers" not in str(g.get("Grantee", {})) for g in grants)
    # Any URL the storage would hand out is signed, never a public one.
    assert "Signature" in storages["attachments"].url(name) or "X-Amz-Signature" in storages["attachments"].url(name)


@pytest.mark.services
def test_readyz_checks_the_s3_bucket(s3_storage, client, settings):
    assert client.get("/readyz").json()["checks"]["storage"] == "ok"
    client_s3, bucket = s3_storage
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            **settings.STORAGES["attachments"],
            "OPTIONS": {**settings.STORAGES["attachments"]["OPTIONS"], "bucket_name": bucket + "-missing"},
        },
    }
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["storage"] == "fail"


def _settings_with(env: dict) -> subprocess.CompletedProcess:
    code = "import django.conf as c; from portal import settings as s; print(s.STORAGES['attachments']['BACKEND'])"
    return subprocess.run(  # noqa: S603 - the test's own interpreter
        [sys.executable, "-c", code],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_s3_setting_selects_the_s3_backend_and_needs_a_bucket():
    done = _settings_with({"ACCORD_STORAGE": "s3", "ACCORD_S3_BUCKET": "b"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "storages.backends.s3.S3Storage"
    missing = _settings_with({"ACCORD_STORAGE": "s3", "ACCORD_S3_BUCKET": ""})
    assert missing.returncode != 0
    assert "ACCORD_S3_BUCKET must be set" in missing.stderr
    wrong = _settings_with({"ACCORD_STORAGE": "ftp"})
    assert "ACCORD_STORAGE must be" in wrong.stderr


@pytest.mark.services
def test_attachment_round_trips_through_s3_and_the_bucket_holds_only_ciphertext(
    s3_storage, verified_client, alice, django_capture_on_commit_callbacks
):
    from sharing.models import Attachment
    from tests.factories import DocumentFactory

    client_s3, bucket = s3_storage
    document = DocumentFactory(author=alice, title="Uplift evaluation", tier="official", status="draft")
    marker = b"PLAINTEXT-MARKER-7f3a9c"
    data = (marker + b" results,row\n") * 150_000  # ~5 MiB: several segments, a multipart upload
    client = verified_client(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("sharing:attachment_upload", args=[document.code]),
            {"file": SimpleUploadedFile("results.csv", data, content_type="text/csv")},
        )
    assert response.status_code == 201, response.content
    attachment = Attachment.objects.get(code=response.json()["code"])
    assert attachment.scan_status == Attachment.ScanStatus.CLEAN

    objects = client_s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert [o["Key"] for o in objects] == [attachment.blob_name]
    stored = client_s3.get_object(Bucket=bucket, Key=attachment.blob_name)["Body"].read()
    assert len(stored) > len(data)  # header and per-segment tags
    assert marker not in stored

    download = client.get(reverse("sharing:attachment_download", args=[attachment.code]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == data
