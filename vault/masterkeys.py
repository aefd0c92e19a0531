"""Where the master key lives: a key file (or variable) in the process, or a PKCS#11 token.

Every organisation key (KEK) row records which master key wrapped it (`master_ref`):

- `file`: AES-256-GCM under settings.MASTER_KEY (ACCORD_MASTER_KEY or its key file);
- `pkcs11:<label>:<id hex>`: AES-256-GCM computed *inside* the token (C_Encrypt / C_Decrypt with
  CKM_AES_GCM) by a non-extractable, sensitive AES-256 key whose CKA_LABEL is
  ACCORD_PKCS11_KEY_LABEL and whose CKA_ID numbers its generation. The master key never exists
  in this process; only the 32-byte KEK crosses the PKCS#11 boundary.

New KEKs are wrapped by the configured provider's current key (the token's highest id with the
label); a row is opened by the key its ref names, so an installation can move from the file to
the token, or from one token key to the next, row by row while it keeps serving
(`manage.py keys migrate-to-token`, `keys rotate-master`).

A token that does not answer raises KeyProviderUnavailable, which every view turns into a 503
before anything is written: keys are unwrapped before a blob is opened and wrapped inside the
transaction that stores them.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

logger = logging.getLogger("accord.keys")

FILE_REF = "file"
PKCS11_PREFIX = "pkcs11:"
_NONCE = 12
_ID_BYTES = 4


class KeyUnwrapError(Exception):
    """A key could not be unwrapped: wrong master key, or a wrapped key moved to another row."""


class KeyProviderUnavailable(Exception):
    """The key store (the token) did not answer: nothing was done; the client may retry."""


class _Suspect(Exception):
    """The token's answer was a refusal (no such key, a bad tag) that a token going away also
    gives: asked again on a fresh session, it is the wrapped error; a session that cannot be
    opened again makes it KeyProviderUnavailable."""

    def __init__(self, error: KeyUnwrapError) -> None:
        super().__init__(str(error))
        self.error = error


def _file_key() -> bytes:
    key = settings.MASTER_KEY
    if not isinstance(key, bytes) or len(key) != 32:
        raise KeyUnwrapError(
            "this key was wrapped by the file master key, and none is configured "
            "(ACCORD_MASTER_KEY or ACCORD_MASTER_KEY_FILE)"
        )
    return key


class FileProvider:
    """The master key in process memory (today's default)."""

    name = "file"

    def current_ref(self) -> str:
        _file_key()
        return FILE_REF

    def seal(self, plaintext: bytes, ad: bytes, *, ref: str | None = None) -> tuple[str, bytes]:
        if ref not in (None, FILE_REF):
            raise KeyUnwrapError(f"the file provider cannot wrap under {ref!r}")
        nonce = os.urandom(_NONCE)
        return FILE_REF, nonce + AESGCM(_file_key()).encrypt(nonce, plaintext, ad)

    def open(self, ref: str, wrapped: bytes, ad: bytes) -> bytes:
        return _file_open(wrapped, ad)

    def check(self) -> None:
        _file_key()


def _file_open(wrapped: bytes, ad: bytes) -> bytes:
    try:
        return AESGCM(_file_key()).decrypt(bytes(wrapped[:_NONCE]), bytes(wrapped[_NONCE:]), ad)
    except InvalidTag:
        raise KeyUnwrapError("key failed to unwrap") from None


@dataclass(frozen=True)
class TokenKey:
    ref: str
    key_id: int


class Pkcs11Provider:
    """The master key in a PKCS#11 token, used through python-pkcs11.

    One logged-in session per process, opened on first use and again after a fork or an error;
    calls are serialised by a lock (a gthread worker's threads share the session).
    """

    name = "pkcs11"

    def __init__(self, *, module: str, token: str, pin: str, key_label: str) -> None:
        self.module, self.token_label, self.key_label = module, token, key_label
        self._pin = pin
        self._lock = threading.RLock()
        self._lib = None
        self._session = None
        self._pid = None
        self._keys: dict[int, object] = {}

    # -- sessions ------------------------------------------------------------------------------

    def _open_session(self):
        """A logged-in read-write session, or ImproperlyConfigured naming the setting at fault."""
        import pkcs11

        if self._pid != os.getpid():
            # A forked child inherits the parent's handles, which PKCS#11 says it must not use:
            # forget them and initialise the library again in this process.
            self._session, self._keys, self._lib = None, {}, None
        if self._session is not None:
            return self._session
        try:
            lib = pkcs11.lib(self.module)
            lib.reinitialize()
        except Exception as exc:
            raise ImproperlyConfigured(f"ACCORD_PKCS11_MODULE could not be loaded: {self.module!r} ({exc})") from exc
        try:
            token = lib.get_token(token_label=self.token_label)
        except pkcs11.NoSuchToken:
            raise ImproperlyConfigured(f"ACCORD_PKCS11_TOKEN names no token: {self.token_label!r}") from None
        except pkcs11.MultipleTokensReturned:
            raise ImproperlyConfigured(f"ACCORD_PKCS11_TOKEN names several tokens: {self.token_label!r}") from None
        try:
            session = token.open(user_pin=self._pin, rw=True)
        except (pkcs11.PinIncorrect, pkcs11.PinInvalid, pkcs11.PinLenRange, pkcs11.PinExpired, pkcs11.PinLocked):
            raise ImproperlyConfigured(
                "ACCORD_PKCS11_PIN (or ACCORD_PKCS11_PIN_FILE) does not open the token"
            ) from None
        self._lib, self._session, self._pid = lib, session, os.getpid()
        return session

    def reset(self) -> None:
        with self._lock:
            if self._session is not None and self._pid == os.getpid():
                try:
                    self._session.close()
                except Exception:  # a dead token cannot close its session: forget it all the same
                    logger.info("closing a PKCS#11 session failed; it is dropped", exc_info=True)
            self._session, self._keys = None, {}

    def _run(self, operation):
        """operation(session) with one retry on a fresh session; a token that still fails to
        answer is KeyProviderUnavailable. Errors that mean the token answered (a bad tag) are
        the operation's to raise as KeyUnwrapError."""
        import pkcs11

        with self._lock:
            for attempt in (1, 2):
                try:
                    session = self._open_session()
                except ImproperlyConfigured as exc:
                    # Configuration that worked at start and fails now is a token going away.
                    self.reset()
                    if attempt == 2:
                        raise KeyProviderUnavailable(str(exc)) from exc
                    continue
                except pkcs11.PKCS11Error as exc:
                    self.reset()
                    if attempt == 2:
                        raise KeyProviderUnavailable("the token did not answer") from exc
                    continue
                try:
                    return operation(session)
                except _Suspect as exc:
                    self.reset()
                    if attempt == 2:
                        raise exc.error from None
                except pkcs11.PKCS11Error as exc:
                    self.reset()
                    if attempt == 2:
                        raise KeyProviderUnavailable("the token did not answer") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    # -- keys ----------------------------------------------------------------------------------

    def ref_for(self, key_id: int) -> str:
        return f"{PKCS11_PREFIX}{self.key_label}:{key_id:0{_ID_BYTES * 2}x}"

    def _parse(self, ref: str) -> int:
        try:
            prefix, label, hex_id = ref.rsplit(":", 2)
            if prefix + ":" != PKCS11_PREFIX or label != self.key_label:
                raise ValueError
            return int(hex_id, 16)
        except ValueError:
            raise KeyUnwrapError(f"this key was wrapped by {ref!r}, not by a key labelled {self.key_label!r}") from None

    def _find_all(self, session) -> dict[int, object]:
        from pkcs11 import Attribute, KeyType, ObjectClass

        found = {}
        for key in session.get_objects(
            {Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.KEY_TYPE: KeyType.AES, Attribute.LABEL: self.key_label}
        ):
            key_id = key[Attribute.ID]
            if len(key_id) == _ID_BYTES:
                found[int.from_bytes(key_id, "big")] = key
        return found

    def _key(self, session, key_id: int):
        key = self._keys.get(key_id)
        if key is None:
            key = self._find_all(session).get(key_id)
            if key is None:
                raise _Suspect(KeyUnwrapError(f"the token holds no master key {self.ref_for(key_id)!r}"))
            self._keys[key_id] = key
        return key

    def key_ids(self) -> list[int]:
        return self._run(lambda session: sorted(self._find_all(session)))

    def _current_id(self, session) -> int:
        key_id = max(self._find_all(session), default=None)
        if key_id is None:
            raise _Suspect(
                KeyUnwrapError(
                    f"the token holds no master key labelled {self.key_label!r}: run `manage.py keys create-master`"
                )
            )
        return key_id

    def current_ref(self) -> str:
        return self._run(lambda session: self.ref_for(self._current_id(session)))

    def create_key(self) -> str:
        """Generate the next master key in the token: AES-256, never extractable, never readable."""
        from pkcs11 import Attribute, KeyType, MechanismFlag

        def generate(session):
            existing = self._find_all(session)
            key_id = max(existing, default=0) + 1
            session.generate_key(
                KeyType.AES,
                256,
                label=self.key_label,
                id=key_id.to_bytes(_ID_BYTES, "big"),
                store=True,
                capabilities=MechanismFlag.ENCRYPT | MechanismFlag.DECRYPT,
                template={
                    Attribute.TOKEN: True,
                    Attribute.PRIVATE: True,
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                    Attribute.MODIFIABLE: False,
                    Attribute.WRAP: False,
                    Attribute.UNWRAP: False,
                    Attribute.SIGN: False,
                    Attribute.VERIFY: False,
                    Attribute.DERIVE: False,
                },
            )
            return self.ref_for(key_id)

        return self._run(generate)

    def destroy_key(self, ref: str) -> None:
        key_id = self._parse(ref)

        def destroy(session):
            self._key(session, key_id).destroy()
            self._keys.pop(key_id, None)

        self._run(destroy)

    # -- wrapping ------------------------------------------------------------------------------

    def seal(self, plaintext: bytes, ad: bytes, *, ref: str | None = None) -> tuple[str, bytes]:
        from pkcs11 import GCMParams, Mechanism

        def encrypt(session):
            key_id = self._parse(ref) if ref else self._current_id(session)
            nonce = os.urandom(_NONCE)
            sealed = self._key(session, key_id).encrypt(
                plaintext, mechanism=Mechanism.AES_GCM, mechanism_param=GCMParams(nonce, ad)
            )
            return self.ref_for(key_id), nonce + bytes(sealed)

        return self._run(encrypt)

    def open(self, ref: str, wrapped: bytes, ad: bytes) -> bytes:
        import pkcs11
        from pkcs11 import GCMParams, Mechanism

        key_id = self._parse(ref)
        wrapped = bytes(wrapped)

        def decrypt(session):
            key = self._key(session, key_id)
            try:
                return bytes(
                    key.decrypt(
                        wrapped[_NONCE:], mechanism=Mechanism.AES_GCM, mechanism_param=GCMParams(wrapped[:_NONCE], ad)
                    )
                )
            except (pkcs11.EncryptedDataInvalid, pkcs11.EncryptedDataLenRange, pkcs11.GeneralError):
                # A refused tag (SoftHSM2 says GENERAL_ERROR for it) means the wrapped key is not
                # this row's, unless the token has just gone: asked again on a fresh session.
                raise _Suspect(KeyUnwrapError("key failed to unwrap")) from None

        return self._run(decrypt)

    def check(self) -> None:
        """The token answers and its current key round-trips a value."""
        probe = os.urandom(16)
        ref, sealed = self.seal(probe, b"accord-readyz")
        if self.open(ref, sealed, b"accord-readyz") != probe:
            raise KeyProviderUnavailable("the token returned a wrong answer")


_lock = threading.Lock()
_providers: dict[str, FileProvider | Pkcs11Provider] = {}


def _make(name: str):
    if name == "file":
        return FileProvider()
    config = settings.ACCORD_PKCS11
    if not config:
        raise KeyUnwrapError("this key was wrapped in a PKCS#11 token, and none is configured (ACCORD_KEY_PROVIDER)")
    return Pkcs11Provider(
        module=config["MODULE"], token=config["TOKEN"], pin=config["PIN"], key_label=config["KEY_LABEL"]
    )


def _get(name: str):
    with _lock:
        if name not in _providers:
            _providers[name] = _make(name)
        return _providers[name]


def provider():
    """The configured provider: it wraps every new organisation key."""
    return _get(settings.ACCORD_KEY_PROVIDER)


def provider_for(ref: str):
    return _get("file" if ref == FILE_REF else "pkcs11")


def seal(plaintext: bytes, ad: bytes) -> tuple[str, bytes]:
    return provider().seal(plaintext, ad)


def open_wrapped(ref: str, wrapped: bytes, ad: bytes) -> bytes:
    return provider_for(ref).open(ref, wrapped, ad)


def forget() -> None:
    """Drop every provider (their sessions closed), so the next use reads the settings again."""
    with _lock:
        for item in _providers.values():
            if isinstance(item, Pkcs11Provider):
                item.reset()
        _providers.clear()


def _settings_changed(*, setting, **kwargs) -> None:
    if setting in {"ACCORD_KEY_PROVIDER", "ACCORD_PKCS11", "MASTER_KEY"}:
        forget()


setting_changed.connect(_settings_changed)


def verify_configuration(*, require_key: bool = True) -> None:
    """Stop the process at start, naming the setting, when the token cannot be used as configured."""
    if settings.ACCORD_KEY_PROVIDER != "pkcs11":
        return
    token = provider()
    with token._lock:
        try:
            session = token._open_session()
        except ImproperlyConfigured:
            token.reset()
            raise
        except Exception as exc:
            token.reset()
            raise ImproperlyConfigured(f"ACCORD_PKCS11_TOKEN could not be opened: {exc!r}") from exc
        if require_key and not token._find_all(session):
            raise ImproperlyConfigured(
                f"ACCORD_PKCS11_KEY_LABEL names no AES key in the token: {token.key_label!r} "
                "(create it with `manage.py keys create-master`)"
            )
