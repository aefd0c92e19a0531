"""The master key in a PKCS#11 token (SoftHSM2): journeys, migration, rotation, outage, custody.

Each test makes its own token (tests/vault/softhsm.py). Marked `services`: `make test-services`
runs them, and they fail when SoftHSM2 is missing rather than skip.
"""

from __future__ import annotations

import base64
import io
import os
import subprocess  # noqa: S404 - this project's own management command, killed mid-batch
import sys

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from audit.models import Action, AuditEvent
from sharing.models import Attachment
from tests.factories import AttachmentFactory, DocumentFactory, PersonFactory, login_verified
from vault import keys, masterkeys
from vault.attachments import open_plaintext
from vault.models import OrganisationKey

from .softhsm import KEY_LABEL, make_token

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def run(*args) -> str:
    out = io.StringIO()
    call_command("keys", *args, stdout=out)
    return out.getvalue()


def ref(key_id: int) -> str:
    return f"pkcs11:{KEY_LABEL}:{key_id:08x}"


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def files_under(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_the_master_key_cannot_leave_the_token(softhsm, db):
    from pkcs11 import Attribute, KeyType, ObjectClass
    from pkcs11.exceptions import AttributeSensitive, KeyUnextractable, PKCS11Error

    assert "Created master key " + ref(1) in run("create-master")
    with softhsm.session() as session:
        master = session.get_key(object_class=ObjectClass.SECRET_KEY, label=KEY_LABEL)
        assert master[Attribute.SENSITIVE] is True
        assert master[Attribute.EXTRACTABLE] is False
        assert master[Attribute.NEVER_EXTRACTABLE] is True
        assert master[Attribute.ALWAYS_SENSITIVE] is True
        # Read its value: refused.
        with pytest.raises(AttributeSensitive):
            master[Attribute.VALUE]
        # Wrap it out under a key we hold: refused.
        ours = session.generate_key(KeyType.AES, 256, store=False, template={Attribute.EXTRACTABLE: True})
        with pytest.raises(KeyUnextractable):
            ours.wrap_key(master)
        # Make it extractable after the fact: refused (the key is not modifiable at all; SoftHSM2
        # answers CKR_ACTION_PROHIBITED, which python-pkcs11 leaves as its base error).
        with pytest.raises(PKCS11Error):
            master[Attribute.EXTRACTABLE] = True
        assert master[Attribute.EXTRACTABLE] is False
    # A second create is refused: one master key per label, rotation makes the next.
    with pytest.raises(CommandError, match="already holds"):
        run("create-master")
    assert AuditEvent.objects.filter(action=Action.MASTER_KEY_CREATED).count() == 1


def test_upload_and_download_with_the_key_in_the_token(softhsm, settings, document, verified_client, alice, client):
    run("create-master")
    settings.MASTER_KEY = None  # no key in the process at all
    data = os.urandom(200 * 1024)
    session = verified_client(alice)
    response = session.post(
        reverse("sharing:attachment_upload", args=[document.code]),
        {"file": SimpleUploadedFile("run.bin", data, content_type="application/octet-stream")},
    )
    assert response.status_code == 201, response.content
    attachment = Attachment.objects.get(code=response.json()["code"])
    kek = OrganisationKey.objects.get(organisation=document.originator)
    assert kek.master_ref == ref(1)
    with open_plaintext(attachment.code) as stream:  # what the scanner reads
        assert stream.read() == data
    Attachment.objects.filter(pk=attachment.pk).update(scan_status=Attachment.ScanStatus.CLEAN)
    download = session.get(reverse("sharing:attachment_download", args=[attachment.code]))
    assert download.status_code == 200
    assert body(download) == data
    # Readiness asks the token to wrap and unwrap a probe.
    ready = client.get("/readyz").json()
    assert ready["checks"]["master_key"] == "ok"


def _populate(ukasi, usaisi, alice) -> dict[int, bytes]:
    """Two institutes' files, one with a rotated KEK: keys under the file master key."""
    us_author = PersonFactory(organisation=usaisi, roles=["author"], clearance="official")
    uk_doc = DocumentFactory(author=alice, tier="official", status="draft")
    us_doc = DocumentFactory(author=us_author, tier="official", status="draft")
    files = {}
    for index, document in enumerate([uk_doc, uk_doc, us_doc, us_doc, us_doc]):
        data = f"finding {index}\n".encode() * 500
        files[AttachmentFactory(document=document, data=data, scan=False).pk] = data
    keys.kek_rotate(organisation=ukasi)
    keys.rewrap_organisation(ukasi.pk)
    data = b"after rotation\n" * 100
    files[AttachmentFactory(document=uk_doc, data=data, scan=False).pk] = data
    return files


def _all_open(files: dict[int, bytes]) -> None:
    for attachment in Attachment.objects.all():
        with open_plaintext(attachment.code) as stream:
            assert stream.read() == files[attachment.pk]


def test_migration_from_the_file_key_is_dry_run_resumable_and_audited(
    tmp_path, monkeypatch, settings, ukasi, usaisi, alice
):
    files = _populate(ukasi, usaisi, alice)
    assert OrganisationKey.objects.count() == 3
    before = {row.pk: bytes(row.wrapped_key) for row in OrganisationKey.objects.all()}
    deks = dict(Attachment.objects.values_list("pk", "wrapped_dek"))
    # Switch to the token, the file key still given for the migration.
    token = make_token(tmp_path / "softhsm", monkeypatch)
    settings.ACCORD_KEY_PROVIDER = "pkcs11"
    settings.ACCORD_PKCS11 = token.settings()
    run("create-master")

    out = run("migrate-to-token", "--dry-run")
    assert "Dry run: 3 organisation keys would be re-wrapped" in out
    assert {row.pk: bytes(row.wrapped_key) for row in OrganisationKey.objects.all()} == before
    assert set(OrganisationKey.objects.values_list("master_ref", flat=True)) == {"file"}

    # Interrupted after one batch (a stop, a kill): what moved is whole, the rest still opens.
    out = run("migrate-to-token", "--batch", "1", "--limit", "1")
    assert "Re-wrapped 1 organisation keys" in out and "2 still behind" in out
    assert keys.master_key_counts() == {"file": 2, ref(1): 1}
    _all_open(files)

    # The token goes away half-way through the next run: that batch rolls back, nothing is lost.
    original = masterkeys.Pkcs11Provider.seal
    calls = []

    def unplug_on_second(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            token.unplug()
        return original(self, *args, **kwargs)

    monkeypatch.setattr(masterkeys.Pkcs11Provider, "seal", unplug_on_second)
    with pytest.raises(CommandError, match="Run the same command again to resume"):
        run("migrate-to-token", "--batch", "2")
    token.plug_in()
    monkeypatch.setattr(masterkeys.Pkcs11Provider, "seal", original)
    assert keys.master_key_counts() == {"file": 2, ref(1): 1}
    _all_open(files)

    out = run("migrate-to-token")
    assert "Re-wrapped 2 organisation keys" in out and "0 still behind" in out
    assert keys.master_key_counts() == {ref(1): 3}
    # Only the wrapping changed: no data key, no blob was touched.
    assert dict(Attachment.objects.values_list("pk", "wrapped_dek")) == deks
    events = AuditEvent.objects.filter(action=Action.MASTER_KEY_REWRAPPED)
    assert sum(event.details["rewrapped"] for event in events) == 3
    assert all(event.details["to"] == ref(1) for event in events)
    assert {source for event in events for source in event.details["from"]} == {"file"}

    # The file key can go: everything opens through the token alone.
    settings.MASTER_KEY = None
    _all_open(files)
    assert "Re-wrapped 0 organisation keys" in run("migrate-to-token")


def test_migration_refuses_without_the_file_key(softhsm, settings, make_attachment):
    settings.ACCORD_KEY_PROVIDER = "file"
    make_attachment()  # a KEK under the file key, made before the switch
    settings.ACCORD_KEY_PROVIDER = "pkcs11"
    settings.MASTER_KEY = None
    run("create-master")
    with pytest.raises(CommandError, match="ACCORD_MASTER_KEY_FILE"):
        run("migrate-to-token")


def test_rotation_inside_the_token(softhsm, settings, ukasi, usaisi, alice):
    run("create-master")
    settings.MASTER_KEY = None
    files = _populate(ukasi, usaisi, alice)
    assert keys.master_key_counts() == {ref(1): 3}

    out = run("rotate-master", "--dry-run")
    assert f"Dry run: 3 organisation keys would be re-wrapped with {ref(2)}" in out
    assert keys.master_key_counts() == {ref(1): 3}
    assert masterkeys.provider().key_ids() == [1]

    out = run("rotate-master", "--batch", "2")
    assert f"Created master key {ref(2)}" in out and "Re-wrapped 3 organisation keys" in out
    assert keys.master_key_counts() == {ref(2): 3}
    _all_open(files)
    # New organisation keys are wrapped by the new master key.
    keys.kek_rotate(organisation=usaisi)
    assert OrganisationKey.objects.filter(organisation=usaisi).first().master_ref == ref(2)

    with pytest.raises(CommandError, match="current master key"):
        run("destroy-master", ref(2))
    assert f"Destroyed master key {ref(1)}" in run("destroy-master", ref(1))
    assert masterkeys.provider().key_ids() == [2]
    _all_open(files)
    assert AuditEvent.objects.filter(action=Action.MASTER_KEY_DESTROYED).count() == 1
    status = run("master-status")
    assert f"{ref(2)}: 4 organisation keys (current)" in status


def test_a_token_that_stops_answering_is_a_503_and_nothing_half_written(
    softhsm, settings, document, verified_client, alice, client, media
):
    from api.tokens import token_create

    run("create-master")
    settings.MASTER_KEY = None
    session = verified_client(alice)
    upload_url = reverse("sharing:attachment_upload", args=[document.code])
    kept = session.post(upload_url, {"file": SimpleUploadedFile("a.txt", b"kept")})
    assert kept.status_code == 201
    Attachment.objects.update(scan_status=Attachment.ScanStatus.CLEAN)
    blobs = files_under(media)
    # A new institute, whose first upload would make (and wrap) its first KEK.
    their_doc = DocumentFactory(tier="official", status="draft")
    newcomer = their_doc.author
    last_event = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()

    softhsm.unplug()
    session.raise_request_exception = False
    refused = session.post(upload_url, {"file": SimpleUploadedFile("b.txt", b"refused")})
    assert refused.status_code == 503
    assert refused["Retry-After"] == "30"
    assert "key store is unavailable" in refused.content.decode()

    secret = token_create(actor=alice, user=alice, name="p", scopes="read,write", days=1).secret
    api = client.post(
        f"/api/v1/documents/{document.code}/attachments/?filename=c.txt",
        data=b"refused too",
        content_type="text/plain",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert api.status_code == 503 and api.json()["error"]["code"] == "unavailable"

    download = session.get(reverse("sharing:attachment_download", args=[Attachment.objects.get().code]))
    assert download.status_code == 503
    assert "temporarily unavailable" in download.content.decode()

    newcomer_client = Client()
    login_verified(newcomer_client, newcomer)
    newcomer_client.raise_request_exception = False
    first = newcomer_client.post(
        reverse("sharing:attachment_upload", args=[their_doc.code]), {"file": SimpleUploadedFile("d.txt", b"x")}
    )
    assert first.status_code == 503

    assert client.get("/readyz").json()["checks"]["master_key"] == "fail"
    # Nothing half-written: no row, no blob, no KEK, no download or upload recorded as done.
    assert Attachment.objects.count() == 1
    assert files_under(media) == blobs
    assert not OrganisationKey.objects.filter(organisation=their_doc.originator).exists()
    new = AuditEvent.objects.filter(seq__gt=last_event)
    actions = set(new.values_list("action", flat=True))
    assert Action.ATTACHMENT_UPLOADED not in actions and Action.ATTACHMENT_DOWNLOADED not in actions
    rejected = new.filter(action=Action.ATTACHMENT_REJECTED)
    assert {event.details["reason"] for event in rejected} == {"keys_unavailable"}
    assert rejected.count() == 3

    # The token comes back: the same process serves again without a restart.
    softhsm.plug_in()
    again = session.post(upload_url, {"file": SimpleUploadedFile("b.txt", b"now kept")})
    assert again.status_code == 201
    assert client.get("/readyz").json()["checks"]["master_key"] == "ok"


def test_a_token_that_goes_away_mid_request_is_a_503_and_what_was_written_is_whole(
    softhsm, settings, monkeypatch, media
):
    """The token answers the request's first call (a new institute's first KEK is wrapped inside
    it) and is gone for the next (unwrapping that KEK to seal the file): 503, no attachment, no
    blob, no upload recorded; the KEK row written before is whole, and serves once it is back."""
    run("create-master")
    settings.MASTER_KEY = None
    their_doc = DocumentFactory(tier="official", status="draft")
    newcomer = Client()
    login_verified(newcomer, their_doc.author)
    newcomer.raise_request_exception = False
    upload_url = reverse("sharing:attachment_upload", args=[their_doc.code])
    last_event = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0

    original = masterkeys.Pkcs11Provider.seal

    def seal_then_unplug(self, *args, **kwargs):
        sealed = original(self, *args, **kwargs)
        softhsm.unplug()
        return sealed

    monkeypatch.setattr(masterkeys.Pkcs11Provider, "seal", seal_then_unplug)
    response = newcomer.post(upload_url, {"file": SimpleUploadedFile("d.txt", b"mid-request")})
    monkeypatch.setattr(masterkeys.Pkcs11Provider, "seal", original)
    assert response.status_code == 503 and response["Retry-After"] == "30"
    assert not Attachment.objects.exists()
    assert files_under(media) == []
    new = AuditEvent.objects.filter(seq__gt=last_event)
    assert Action.ATTACHMENT_UPLOADED not in set(new.values_list("action", flat=True))
    assert new.get(action=Action.ATTACHMENT_REJECTED).details["reason"] == "keys_unavailable"

    softhsm.plug_in()
    [kek] = OrganisationKey.objects.filter(organisation=their_doc.originator)
    assert kek.master_ref == ref(1)
    again = newcomer.post(upload_url, {"file": SimpleUploadedFile("d.txt", b"now kept")})
    assert again.status_code == 201
    assert list(OrganisationKey.objects.filter(organisation=their_doc.originator)) == [kek]
    with open_plaintext(Attachment.objects.get().code) as stream:
        assert stream.read() == b"now kept"


def test_a_rotation_stopped_part_way_resumes_onto_the_key_it_made(softhsm, settings, ukasi, usaisi, alice):
    run("create-master")
    settings.MASTER_KEY = None
    files = _populate(ukasi, usaisi, alice)
    out = run("rotate-master", "--batch", "1", "--limit", "1")
    assert f"Created master key {ref(2)}" in out and "2 still behind" in out
    assert keys.master_key_counts() == {ref(1): 2, ref(2): 1}
    _all_open(files)

    # The same command again finishes the move: no third key, nothing left on the first.
    out = run("rotate-master")
    assert f"Resuming the rotation onto {ref(2)}" in out and "Created master key" not in out
    assert "Re-wrapped 2 organisation keys" in out and "0 still behind" in out
    assert masterkeys.provider().key_ids() == [1, 2]
    assert keys.master_key_counts() == {ref(2): 3}
    _all_open(files)
    assert AuditEvent.objects.filter(action=Action.MASTER_KEY_CREATED).count() == 2
    moves = AuditEvent.objects.filter(action=Action.MASTER_KEY_REWRAPPED)
    assert sum(event.details["rewrapped"] for event in moves) == 3
    assert {event.details["to"] for event in moves} == {ref(2)}

    # Once nothing is behind, it rotates again.
    assert f"Created master key {ref(3)}" in run("rotate-master")
    assert keys.master_key_counts() == {ref(3): 3}


KILL_MID_BATCH = """
import os, signal
import django
django.setup()
from django.core.management import call_command
import vault.keys
recorded = vault.keys.record
calls = []
def record(*args, **kwargs):
    # Each batch writes its audit event last, after its rows: on the second, the batch's row is
    # re-wrapped and saved in the open transaction when the process dies.
    calls.append(1)
    if len(calls) == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return recorded(*args, **kwargs)
vault.keys.record = record
call_command("keys", "migrate-to-token", "--batch", "1")
"""


@pytest.mark.django_db(transaction=True)
def test_a_migration_killed_mid_batch_resumes_where_it_stopped(
    reseeded, tmp_path, monkeypatch, settings, ukasi, usaisi, alice
):
    """A real kill (SIGKILL, in a process of its own, on PostgreSQL) half-way through a batch: the
    batches before it stay, the one it was in is rolled back whole, and the same command again
    moves the rest."""
    assert connection.vendor == "postgresql", "needs DATABASE_URL=postgres://… (make test-services)"
    files = _populate(ukasi, usaisi, alice)
    token = make_token(tmp_path / "softhsm", monkeypatch)
    settings.ACCORD_KEY_PROVIDER = "pkcs11"
    settings.ACCORD_PKCS11 = token.settings()
    run("create-master")

    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACCORD_", "DATABASE_URL", "SOFTHSM2_CONF"))}
    env.update(
        token.environment(),
        DJANGO_SETTINGS_MODULE="portal.settings",
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        ACCORD_MASTER_KEY=base64.b64encode(settings.MASTER_KEY).decode(),
        ACCORD_VAR_DIR=str(tmp_path / "var"),
    )
    killed = subprocess.run(  # noqa: S603
        [sys.executable, "-c", KILL_MID_BATCH], cwd=str(settings.BASE_DIR), env=env,
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert killed.returncode == -9, killed.stderr
    assert keys.master_key_counts() == {"file": 2, ref(1): 1}
    [first] = AuditEvent.objects.filter(action=Action.MASTER_KEY_REWRAPPED)
    assert first.details["rewrapped"] == 1
    _all_open(files)

    out = run("migrate-to-token")
    assert "Re-wrapped 2 organisation keys" in out and "0 still behind" in out
    assert keys.master_key_counts() == {ref(1): 3}
    settings.MASTER_KEY = None
    _all_open(files)
