"""`manage.py audit`: the signing key, checkpoints and their export."""

from __future__ import annotations

import json
import stat

import pytest
from django.core.management import CommandError, call_command

from audit import signing
from audit.models import Action, AuditCheckpoint, AuditEvent
from audit.services import checkpoint_create, record
from audit.tasks import make_checkpoint, verify

pytestmark = pytest.mark.django_db


def test_development_key_is_generated_on_first_use_with_mode_0600(key_dir):
    key = signing.load()
    path = key_dir / signing.KEY_FILENAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert signing.load().key_id == key.key_id


def test_production_requires_an_existing_key(settings, key_dir):
    settings.PRODUCTION = True
    record(Action.AUTH_LOGIN)
    with pytest.raises(signing.SigningKeyMissing):
        signing.load()
    with pytest.raises(CommandError, match="audit keygen"):
        call_command("audit", "checkpoint")
    call_command("audit", "keygen")
    call_command("audit", "checkpoint")
    assert AuditCheckpoint.objects.count() == 1


def test_keygen_refuses_to_replace_a_key():
    call_command("audit", "keygen")
    with pytest.raises(CommandError, match="refusing to replace"):
        call_command("audit", "keygen")


def test_checkpoint_signs_the_head_and_is_itself_audited():
    record(Action.AUTH_LOGIN)
    record(Action.AUTH_LOGOUT)
    call_command("audit", "checkpoint")
    checkpoint = AuditCheckpoint.objects.get()
    assert (checkpoint.seq, checkpoint.head_hash) == (2, AuditEvent.objects.get(position=2).hash)
    message = signing.checkpoint_message(
        seq=2, head_hash=checkpoint.head_hash, at=checkpoint.at, key_id=checkpoint.key_id
    )
    assert signing.signature_valid(signing.load().public, message, checkpoint.signature)
    assert AuditEvent.objects.get(position=3).action == Action.AUDIT_CHECKPOINT


def test_periodic_checkpoint_adds_nothing_when_nothing_happened():
    record(Action.AUTH_LOGIN)
    assert make_checkpoint.delay().get() == 1
    assert make_checkpoint.delay().get() is None
    assert AuditCheckpoint.objects.count() == 1
    record(Action.AUTH_LOGOUT)
    assert checkpoint_create().seq == 3


def test_export_checkpoints_writes_json_with_public_keys(capsys):
    record(Action.AUTH_LOGIN)
    checkpoint_create()
    call_command("audit", "export-checkpoints")
    document = json.loads(capsys.readouterr().out)
    assert document["format"] == "accord-audit-checkpoints/v1"
    assert [c["seq"] for c in document["checkpoints"]] == [1]
    assert list(document["public_keys"]) == [signing.load().key_id]


def test_public_key_command_prints_pem(capsys):
    call_command("audit", "public-key")
    assert capsys.readouterr().out.startswith("-----BEGIN PUBLIC KEY-----")


def test_verify_task_records_its_result():
    from audit.models import VerificationRun

    record(Action.AUTH_LOGIN)
    assert verify.delay().get() is True
    assert VerificationRun.objects.latest().trigger == "task"


def test_beat_schedule_has_checkpoint_and_verify(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"audit.make_checkpoint", "audit.verify_chain"} <= tasks
