"""KEK rotation re-wraps data keys without touching payloads; keys are bound to their rows."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from audit.models import Action, AuditEvent
from sharing.models import Attachment
from tests.factories import OrganisationFactory
from vault import keys
from vault.attachments import open_plaintext
from vault.models import OrganisationKey


def test_rotation_rewraps_every_dek_and_leaves_payloads_alone(
    make_attachment, media, ukasi, usaisi, django_capture_on_commit_callbacks
):
    files = {make_attachment(f"file {i}\n".encode() * 1000).pk: f"file {i}\n".encode() * 1000 for i in range(3)}
    other = OrganisationKey.objects.create(organisation=usaisi, version=1, wrapped_key=b"untouched")
    blobs = {a.pk: (media / a.blob_name).read_bytes() for a in Attachment.objects.all()}
    wrapped = {a.pk: bytes(a.wrapped_dek) for a in Attachment.objects.all()}

    with django_capture_on_commit_callbacks(execute=True):
        call_command("keys", "rotate", "--org", "ukasi")

    assert list(OrganisationKey.objects.filter(organisation=ukasi).values_list("version", flat=True)) == [2, 1]
    assert OrganisationKey.objects.get(organisation=ukasi, version=1).retired_at is not None
    for attachment in Attachment.objects.all():
        assert attachment.kek_version == 2
        assert bytes(attachment.wrapped_dek) != wrapped[attachment.pk]
        assert (media / attachment.blob_name).read_bytes() == blobs[attachment.pk]
        with open_plaintext(attachment.code) as stream:
            assert stream.read() == files[attachment.pk]
    other.refresh_from_db()
    assert bytes(other.wrapped_key) == b"untouched"
    assert AuditEvent.objects.filter(action=Action.KEY_ROTATED, organisation_id=ukasi.pk).count() == 1
    rewrapped = AuditEvent.objects.get(action=Action.KEY_REWRAPPED)
    assert rewrapped.details == {"kek_version": 2, "rewrapped": 3}
    assert keys.rewrap_organisation(ukasi.pk) == 0  # idempotent
    assert AuditEvent.objects.filter(action=Action.KEY_REWRAPPED).count() == 1


def test_new_uploads_after_rotation_use_the_new_version(make_attachment, ukasi):
    make_attachment()
    keys.kek_rotate(organisation=ukasi)
    assert make_attachment().kek_version == 2


def test_rotation_skips_destroyed_attachments(make_attachment, alice, ukasi, django_capture_on_commit_callbacks):
    from vault.attachments import attachment_destroy

    keep, gone = make_attachment(), make_attachment()
    attachment_destroy(actor=alice, attachment=gone)
    with django_capture_on_commit_callbacks(execute=True):
        keys.kek_rotate(organisation=ukasi)
    gone.refresh_from_db()
    keep.refresh_from_db()
    assert gone.wrapped_dek is None and gone.kek_version == 1
    assert keep.kek_version == 2


def test_rotate_unknown_organisation_is_a_clear_error(db):
    with pytest.raises(CommandError, match="no organisation"):
        call_command("keys", "rotate", "--org", "nobody")


def test_kek_wrapped_for_one_organisation_fails_for_another(db):
    a, b = OrganisationFactory(), OrganisationFactory()
    keys.current_kek_for(a.pk)
    keys.current_kek_for(b.pk)
    row_a = OrganisationKey.objects.get(organisation=a)
    OrganisationKey.objects.filter(organisation=b).update(wrapped_key=row_a.wrapped_key)
    with pytest.raises(keys.KeyUnwrapError):
        keys.kek(b.pk, 1)


def test_wrong_master_key_cannot_unwrap(settings, db):
    org = OrganisationFactory()
    keys.current_kek_for(org.pk)
    settings.MASTER_KEY = b"\x01" * 32
    with pytest.raises(keys.KeyUnwrapError):
        keys.kek(org.pk, 1)


def test_master_key_never_stored(db, settings):
    org = OrganisationFactory()
    _, kek = keys.current_kek_for(org.pk)
    wrapped = bytes(OrganisationKey.objects.get(organisation=org).wrapped_key)
    assert kek not in wrapped and settings.MASTER_KEY not in wrapped


def test_production_refuses_to_start_without_a_master_key(tmp_path):
    import os
    import subprocess
    import sys

    env = {
        "PATH": os.environ.get("PATH", ""),
        "ACCORD_ENV": "production",
        "ACCORD_SECRET_KEY": "x" * 60,
        "ACCORD_VAR_DIR": str(tmp_path),
        "ACCORD_MASTER_KEY_FILE": str(tmp_path / "absent.key"),
        "DATABASE_URL": "postgres://u@127.0.0.1:5432/x",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/4",
        "ACCORD_ALLOWED_HOSTS": "accord.example",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import portal.settings"], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "ACCORD_MASTER_KEY" in result.stderr
    env["ACCORD_MASTER_KEY"] = __import__("base64").b64encode(b"k" * 32).decode()
    ok = subprocess.run(
        [sys.executable, "-c", "import portal.settings"], env=env, capture_output=True, text=True, check=False
    )
    assert ok.returncode == 0, ok.stderr
