"""A person's security keys and passkeys (WebAuthn credentials, django-otp-webauthn devices):
naming one just enrolled, renaming, removing. Each change is audited in its own transaction.

The ceremonies themselves (registration, sign-in, step-up) are django-otp-webauthn's views,
wired in `accounts/webauthn.py`.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django_otp_webauthn.models import WebAuthnCredential

from audit.models import Action
from audit.reasons import Reason
from audit.services import record, refuse

from ..models import User

KEY_NAME_MAX = 64


def keys_of(user: User):
    """The person's confirmed security keys and passkeys, most recently used first."""
    return WebAuthnCredential.objects.filter(user=user, confirmed=True).order_by("-last_used_at", "-created_at")


def has_security_key(user: User) -> bool:
    return WebAuthnCredential.objects.filter(user=user, confirmed=True).exists()


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError("Give the key a name you will recognise, such as “YubiKey on my keyring”.")
    if len(name) > KEY_NAME_MAX:
        raise ValidationError(f"A key's name is at most {KEY_NAME_MAX} characters.")
    return name


def security_key_enrolled(*, user: User, key: WebAuthnCredential) -> WebAuthnCredential:
    """Name a key just registered by `user` ("Security key 2" until they rename it) and audit it."""
    with transaction.atomic():
        count = WebAuthnCredential.objects.filter(user=user).count()
        key.name = ("Passkey" if key.discoverable else "Security key") + f" {count}"
        key.save(update_fields=["name"])
        details = {"key": key.name, "passkey": bool(key.discoverable), "aaguid": key.aaguid}
        record(Action.AUTH_KEY_ENROLLED, actor=user, target=user, details=details)
    return key


def _own(actor: User, key: WebAuthnCredential, action: Action) -> None:
    if key.user_id != actor.pk:
        refuse(actor, action, actor, Reason.NOT_THEIR_OWN, error=PermissionDenied)


def security_key_rename(*, actor: User, key: WebAuthnCredential, name: str) -> WebAuthnCredential:
    """Rename one of the actor's own keys."""
    _own(actor, key, Action.AUTH_KEY_RENAMED)
    name = _clean_name(name)
    with transaction.atomic():
        old, key.name = key.name, name
        key.save(update_fields=["name"])
        record(Action.AUTH_KEY_RENAMED, actor=actor, target=actor, details={"from": old, "to": name})
    return key


def security_key_remove(*, actor: User, key: WebAuthnCredential) -> None:
    """Remove one of the actor's own keys: it signs nobody in from now on. A session verified
    with it loses its verification on its next request (django-otp no longer finds the device)."""
    _own(actor, key, Action.AUTH_KEY_REMOVED)
    with transaction.atomic():
        name = key.name
        key.delete()
        record(Action.AUTH_KEY_REMOVED, actor=actor, target=actor, details={"key": name})


def security_keys_delete_all(user: User) -> int:
    """Every key of `user`, deleted in the caller's transaction (an MFA reset); how many."""
    _, deleted = WebAuthnCredential.objects.filter(user=user).delete()
    return deleted.get(WebAuthnCredential._meta.label, 0)
