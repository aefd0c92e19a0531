"""The instance's Ed25519 checkpoint-signing key.

The private key lives in `settings.KEY_DIR/audit-signing.key` (PKCS#8 PEM, mode 0600). In the
embedded development setup it is generated on first use. In production it must exist: it is
made once, deliberately, with `python manage.py audit keygen`, because a key silently
regenerated (a lost volume, a new container) would give the instance a new identity that
partners' saved checkpoints no longer match. Public keys of retired signing keys may be kept as
`KEY_DIR/audit-signing-<key id>.pub.pem` so older checkpoints still verify.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .chain import iso_utc

KEY_FILENAME = "audit-signing.key"
RETIRED_GLOB = "audit-signing-*.pub.pem"
CHECKPOINT_DOMAIN = "accord-audit-checkpoint/v1"


class SigningKeyMissing(ImproperlyConfigured):
    pass


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey
    key_id: str

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()


def key_path() -> Path:
    return Path(settings.KEY_DIR) / KEY_FILENAME


def key_id_of(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def generate(path: Path | None = None) -> SigningKey:
    """Write a new key, refusing to overwrite one (O_EXCL): replacing a key is never implicit."""
    path = path or key_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return SigningKey(private=private, key_id=key_id_of(private.public_key()))


def load(*, create: bool | None = None) -> SigningKey:
    """The instance key. `create` defaults to "outside production only"."""
    path = key_path()
    if create is None:
        create = not getattr(settings, "PRODUCTION", False)
    if not path.exists():
        if not create:
            raise SigningKeyMissing(
                f"no audit signing key at {path}: create it once with `python manage.py audit keygen`"
            )
        try:
            return generate(path)
        except FileExistsError:
            pass  # another process made it first: use theirs
    private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise ImproperlyConfigured(f"{path} is not an Ed25519 private key")
    return SigningKey(private=private, key_id=key_id_of(private.public_key()))


def trusted_public_keys() -> dict[str, Ed25519PublicKey]:
    """Key id -> public key, for the current key and any retired ones kept in KEY_DIR."""
    keys: dict[str, Ed25519PublicKey] = {}
    for pem_path in sorted(Path(settings.KEY_DIR).glob(RETIRED_GLOB)):
        public = serialization.load_pem_public_key(pem_path.read_bytes())
        if isinstance(public, Ed25519PublicKey):
            keys[key_id_of(public)] = public
    if key_path().exists():
        current = load(create=False)
        keys[current.key_id] = current.public
    return keys


def checkpoint_message(*, seq: int, head_hash: str, at: datetime | str, key_id: str) -> bytes:
    """The bytes a checkpoint signature covers (domain-separated so it signs nothing else)."""
    at_text = at if isinstance(at, str) else iso_utc(at)
    return f"{CHECKPOINT_DOMAIN}\nseq={seq}\nhead={head_hash}\nat={at_text}\nkey={key_id}\n".encode()


def sign(key: SigningKey, message: bytes) -> str:
    return base64.b64encode(key.private.sign(message)).decode()


def signature_valid(public: Ed25519PublicKey, message: bytes, signature_b64: str) -> bool:
    try:
        public.verify(base64.b64decode(signature_b64, validate=True), message)
    except (InvalidSignature, ValueError):
        return False
    return True
