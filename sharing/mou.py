"""Signed MoU files: encrypted attachments with no document, owned by a party's key.

The draft form carries the file and the parties in one multipart body, but the encrypting
upload handler must know whose key to seal under before it reads the first byte, that is,
before the parties are parsed. So the file is sealed under a provisional key holder chosen
up front and, when that is not the agreement's key holder, re-sealed: decrypted one segment at
a time in memory straight into a new blob under the right key, and the first blob deleted.
Plaintext never reaches storage, a temporary file or a log, as for every attachment.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from accounts.models import Organisation
from outbox.services import enqueue
from vault import crypto, keys
from vault.attachments import BlobWriter, SealedBlob, attachment_storage
from vault.tasks import scan_attachment

from .attachments import record_sealed_blob
from .models import Attachment


def provisional_key_holder(actor) -> int | None:
    """Whose key seals an MoU while the body is read: the admin's own organisation if active,
    else the first active organisation (the blob is re-sealed once the parties are known)."""
    orgs = Organisation.objects.filter(is_active=True)
    own = orgs.filter(pk=actor.organisation_id).values_list("pk", flat=True).first()
    return own or orgs.order_by("pk").values_list("pk", flat=True).first()


def key_holder(actor, parties: Iterable[Organisation]) -> Organisation:
    """The party whose key holds the MoU: the admin's own organisation if it is a party (no
    re-sealing needed), otherwise the first party by name."""
    parties = sorted(parties, key=lambda org: (org.name, org.pk))
    return next((org for org in parties if org.pk == actor.organisation_id), parties[0])


def reseal(sealed: SealedBlob, *, org_id: int) -> SealedBlob:
    """`sealed` under `org_id`'s key. On success the old blob is gone; on failure the new one is."""
    if sealed.org_id == org_id:
        return sealed
    dek = keys.unwrap_dek(
        wrapped=bytes(sealed.wrapped_dek),
        org_id=sealed.org_id,
        kek_version=sealed.kek_version,
        attachment_code=sealed.code,
    )
    writer = BlobWriter(org_id=org_id, segment_size=sealed.segment_size)
    try:
        with attachment_storage().open(sealed.blob_name, "rb") as raw:
            for segment in crypto.decrypt_segments(raw, dek=dek, attachment_code=sealed.code):
                writer.write(segment)
        resealed = writer.finish(filename=sealed.filename, content_type=sealed.content_type)
    except BaseException:
        if not writer.done:
            writer.abort()
        raise
    del dek
    if resealed.sha256 != sealed.sha256 or resealed.size != sealed.size:  # pragma: no cover - a broken cipher
        resealed.discard()
        raise crypto.TamperedCiphertext("re-sealed MoU differs from the upload")
    sealed.discard()
    return resealed


def mou_attachment_create(*, actor, sealed: SealedBlob) -> Attachment:
    """Record a sealed MoU blob (no document; its key holder is `sealed.org_id`) and queue its
    scan. Called inside the transaction that drafts the agreement, so a refused draft leaves no row;
    the caller owns the blob until this returns."""
    with transaction.atomic():
        attachment = record_sealed_blob(
            actor=actor,
            sealed=sealed,
            document=None,
            details={"mou": True, "size": sealed.size, "sha256": sealed.sha256},
        )
        enqueue(scan_attachment.name, args=[str(attachment.code)])
    return attachment
