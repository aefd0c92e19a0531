"""Key hierarchy: master key → organisation KEKs (versioned) → per-attachment DEKs.

Every wrap is AES-256-GCM with associated data naming what the key belongs to, so a wrapped
key copied onto another row (another organisation, KEK version or attachment) fails to unwrap.
The master key is the configured provider's (vault/masterkeys.py): a key file or variable, or a
non-extractable key in a PKCS#11 token that wraps and unwraps organisation keys inside itself.
Each organisation key row names the master key that wrapped it (`master_ref`), so
`rewrap_master` can move an installation onto another master key row by row.
"""

from __future__ import annotations

import os
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import Organisation
from audit.models import Action
from audit.services import record
from outbox.services import enqueue

from . import masterkeys
from .masterkeys import KeyProviderUnavailable, KeyUnwrapError
from .models import OrganisationKey
from .registry import attachment_model

__all__ = ["KeyProviderUnavailable", "KeyUnwrapError"]

_NONCE = 12


def _seal(key: bytes, plaintext: bytes, ad: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, ad)


def _open(key: bytes, wrapped: bytes, ad: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(bytes(wrapped[:_NONCE]), bytes(wrapped[_NONCE:]), ad)
    except InvalidTag:
        raise KeyUnwrapError("key failed to unwrap") from None


def _kek_ad(org_id: int, version: int) -> bytes:
    return f"accord-kek:v1:org={org_id}:version={version}".encode()


def _dek_ad(org_id: int, version: int, attachment_code: uuid.UUID | str) -> bytes:
    return f"accord-dek:v1:org={org_id}:kek={version}:attachment={uuid.UUID(str(attachment_code))}".encode()


def _create_kek(org_id: int, version: int) -> OrganisationKey:
    kek = os.urandom(32)
    ref, wrapped = masterkeys.seal(kek, _kek_ad(org_id, version))
    return OrganisationKey.objects.create(organisation_id=org_id, version=version, wrapped_key=wrapped, master_ref=ref)


def _unwrap_kek(row: OrganisationKey) -> bytes:
    return masterkeys.open_wrapped(row.master_ref, bytes(row.wrapped_key), _kek_ad(row.organisation_id, row.version))


def current_kek_for(org_id: int) -> tuple[int, bytes]:
    """(version, key) of the organisation's newest KEK, creating version 1 on first use."""
    key = OrganisationKey.objects.filter(organisation_id=org_id).order_by("-version").first()
    if key is None:
        try:
            with transaction.atomic():
                key = _create_kek(org_id, 1)
        except IntegrityError:  # a concurrent upload created it first
            key = OrganisationKey.objects.get(organisation_id=org_id, version=1)
    return key.version, _unwrap_kek(key)


def kek(org_id: int, version: int) -> bytes:
    row = OrganisationKey.objects.filter(organisation_id=org_id, version=version).first()
    if row is None:
        raise KeyUnwrapError(f"no KEK version {version} for organisation {org_id}")
    return _unwrap_kek(row)


def new_dek() -> bytes:
    return os.urandom(32)


def wrap_dek(dek: bytes, *, org_id: int, kek_version: int, kek_key: bytes, attachment_code) -> bytes:
    return _seal(kek_key, dek, _dek_ad(org_id, kek_version, attachment_code))


def unwrap_dek(*, wrapped: bytes, org_id: int, kek_version: int, attachment_code) -> bytes:
    return _open(kek(org_id, kek_version), wrapped, _dek_ad(org_id, kek_version, attachment_code))


def kek_rotate(*, organisation: Organisation, actor=None) -> OrganisationKey:
    """Make a new KEK version for `organisation` and queue the re-wrap of every DEK it holds.

    Earlier versions stay (marked retired) until every DEK has moved: payloads are never
    rewritten, only the small wrapped keys on the attachment rows.
    """
    # vault.tasks imports this module, so importing it at the top would be a cycle.
    from .tasks import rewrap_organisation_deks

    with transaction.atomic():
        # Lock the organisation row so two rotations cannot pick the same version number.
        Organisation.objects.select_for_update().filter(pk=organisation.pk).first()
        latest = OrganisationKey.objects.filter(organisation=organisation).aggregate(v=Max("version"))["v"] or 0
        now = timezone.now()
        OrganisationKey.objects.filter(organisation=organisation, retired_at__isnull=True).update(retired_at=now)
        key = _create_kek(organisation.pk, latest + 1)
        record(
            Action.KEY_ROTATED,
            actor=actor,
            target=organisation,
            organisation_id=organisation.pk,
            details={"kek_version": key.version, "previous_version": latest or None},
        )
        # Through the outbox, in this transaction: a broker that is down at commit delays the
        # re-wrap, never loses it.
        enqueue(rewrap_organisation_deks.name, args=[organisation.pk])
    return key


def rewrap_organisation(org_id: int, *, batch: int = 500) -> int:
    """Re-wrap every live DEK of the organisation under its newest KEK; returns how many moved.

    Idempotent: rows already under the newest version are skipped, so a second run (or a retry
    after a crash half-way) changes nothing more. Destroyed rows (no DEK) are never touched.
    """
    version, new_key = current_kek_for(org_id)
    moved = 0
    while True:
        with transaction.atomic():
            rows = list(
                attachment_model()
                .objects.select_for_update()
                .filter(organisation_id=org_id, wrapped_dek__isnull=False)
                .exclude(kek_version=version)
                .order_by("pk")[:batch]
            )
            for row in rows:
                dek = unwrap_dek(
                    wrapped=bytes(row.wrapped_dek), org_id=org_id, kek_version=row.kek_version, attachment_code=row.code
                )
                row.wrapped_dek = wrap_dek(
                    dek, org_id=org_id, kek_version=version, kek_key=new_key, attachment_code=row.code
                )
                row.kek_version = version
                row.save(update_fields=["wrapped_dek", "kek_version"])
            moved += len(rows)
            if len(rows) < batch:
                if moved:
                    record(
                        Action.KEY_REWRAPPED,
                        target=("accounts.organisation", org_id, ""),
                        organisation_id=org_id,
                        details={"kek_version": version, "rewrapped": moved},
                    )
                return moved


# -- the master key ----------------------------------------------------------------------------


def master_key_counts() -> dict[str, int]:
    """How many organisation keys each master key wraps (by `master_ref`)."""
    rows = OrganisationKey.objects.values_list("master_ref", flat=True)
    counts: dict[str, int] = {}
    for ref in rows:
        counts[ref] = counts.get(ref, 0) + 1
    return dict(sorted(counts.items()))


def rewrap_master(*, target_ref: str, dry_run: bool = False, batch: int = 100, limit: int | None = None) -> int:
    """Re-wrap every organisation key not under `target_ref` with it; returns how many moved
    (or, in a dry run, would move: each is unwrapped to prove its master key still opens it,
    and nothing is written).

    Resumable: each batch is one transaction (its rows locked, re-wrapped, saved, and one audit
    event naming how many moved from which key), so a run stopped anywhere (a token that stops
    answering, a kill) leaves every row wrapped by exactly one master key that opens it, and the
    next run picks up the rows still behind. The KEK itself never changes, so no data key and
    no blob is touched.
    """
    target = masterkeys.provider_for(target_ref)
    moved = 0
    if dry_run:
        for row in OrganisationKey.objects.exclude(master_ref=target_ref).order_by("pk").iterator():
            _unwrap_kek(row)
            moved += 1
            if limit is not None and moved >= limit:
                break
        return moved
    while limit is None or moved < limit:
        size = batch if limit is None else min(batch, limit - moved)
        with transaction.atomic():
            rows = list(
                OrganisationKey.objects.select_for_update().exclude(master_ref=target_ref).order_by("pk")[:size]
            )
            if not rows:
                break
            sources: dict[str, int] = {}
            for row in rows:
                kek = _unwrap_kek(row)
                ref, wrapped = target.seal(kek, _kek_ad(row.organisation_id, row.version), ref=target_ref)
                sources[row.master_ref] = sources.get(row.master_ref, 0) + 1
                row.wrapped_key, row.master_ref = wrapped, ref
                row.save(update_fields=["wrapped_key", "master_ref"])
            record(
                Action.MASTER_KEY_REWRAPPED,
                target=("vault.masterkey", target_ref, ""),
                details={"to": target_ref, "from": dict(sorted(sources.items())), "rewrapped": len(rows)},
            )
        moved += len(rows)
        if len(rows) < size:
            break
    return moved
