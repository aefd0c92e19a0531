"""A person's credentials: confirming a new authenticator, and the resets that end every
session and every token they hold.

Every reset (MFA reset, password reset or change, deactivation) calls `credentials_end` inside
its own transaction; a new password does so from `User.save` itself, so no path that stores one
(the Django admin, `manage.py changepassword`, a shell) can leave the old sessions and tokens
alive. It raises the person's credentials epoch, which is part of the session
auth hash (`User.get_session_auth_hash`), so Django's own check on the next request signs out
every session made before the reset; and it sends `credentials_revoked`, to which every app
that issues credentials of its own (the API's tokens) subscribes, so those are revoked — and
audited — in the same transaction as the reset.
"""

from __future__ import annotations

import contextvars
import time
from binascii import unhexlify
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key

from audit.models import Action, Outcome
from audit.services import record

from ..models import User
from ..signals import credentials_revoked

AUTHENTICATOR_NAME = "Authenticator"


def credentials_end(*, actor: User | None, user: User, reason: str) -> int:
    """End every session and revoke every other credential of `user`; returns how many
    credentials (API tokens) were revoked. Runs in the caller's transaction, which records the
    reset itself; the caller has already decided the actor may do it."""
    User.objects.filter(pk=user.pk).update(credentials_epoch=F("credentials_epoch") + 1)
    user.refresh_from_db(fields=["credentials_epoch"])
    responses = credentials_revoked.send(sender=User, user=user, actor=actor, reason=reason)
    return sum(int(revoked or 0) for _, revoked in responses)


@dataclass
class _PasswordChange:
    actor: User | None
    via: str
    revoked: int = 0


_password_change: contextvars.ContextVar[_PasswordChange | None] = contextvars.ContextVar(
    "accord_password_change", default=None
)


@contextmanager
def password_change_by(actor: User | None, via: str) -> Iterator[_PasswordChange]:
    """Name who replaces a password inside the block, and how (`via`), for the audit trail of
    the reset `User.save` makes of it; the yielded object counts the tokens it revoked."""
    change = _PasswordChange(actor=actor, via=via)
    token = _password_change.set(change)
    try:
        yield change
    finally:
        _password_change.reset(token)


def password_replaced(user: User) -> int:
    """Called by `User.save` inside the transaction that stored a new password hash, whatever
    stored it: end every session and token made with the old one, and record the change. Paths
    that know their actor name it with `password_change_by`; any other (`manage.py
    changepassword`, a shell) is recorded with no actor, via "other"."""
    change = _password_change.get() or _PasswordChange(actor=None, via="other")
    # Each revoked token is its own event, naming this reset as its reason.
    revoked = credentials_end(actor=change.actor, user=user, reason=f"password_{change.via}")
    change.revoked += revoked
    record(Action.AUTH_PASSWORD_CHANGED, actor=change.actor, target=user, details={"via": change.via})
    return revoked


def password_set(*, actor: User | None, user: User, password: str, via: str) -> int:
    """Give `user` a new (already validated) password, ending every session and token made with
    the old one (`User.save` does it). `via` says how: "change" (signed in) or "reset" (the
    emailed link). The caller keeps its own session alive with `update_session_auth_hash` when it
    should. Returns how many tokens were revoked."""
    with transaction.atomic(), password_change_by(actor, via) as change:
        user.set_password(password)
        user.save(update_fields=["password"])
    return change.revoked


def new_enrolment_secret() -> str:
    """A fresh authenticator secret (hex), for one enrolment page in one session only."""
    return default_key()


def enrolment_device(user: User, secret: str) -> TOTPDevice:
    """The device `secret` would become, unsaved: what the enrolment page shows as a QR code."""
    return TOTPDevice(user=user, name=AUTHENTICATOR_NAME, key=secret, confirmed=False)


def mfa_enrol_confirm(*, user: User, secret: str | None, token: str) -> TOTPDevice | None:
    """Confirm the authenticator holding `secret` with a code it shows; the new device, or None
    (audited) when the code is wrong or the person has meanwhile confirmed another device.

    `secret` comes from the enrolment session that showed it and nowhere else, so a secret seen
    by one session can never be confirmed from another. No unconfirmed secret is ever stored:
    any left from before are discarded here. No secret (`None`) means this session was never
    shown one: refused like a wrong code."""
    if secret is None:
        _enrol_refused(user, "no_secret_in_session")
        return None
    device = enrolment_device(user, secret)
    totp = TOTP(unhexlify(secret.encode()), device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    if not totp.verify(int(token), device.tolerance):
        _enrol_refused(user, "wrong_code")
        return None
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).exists()  # one confirmation at a time
        if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            confirmed_elsewhere = True
        else:
            confirmed_elsewhere = False
            TOTPDevice.objects.filter(user=user, confirmed=False).delete()
            device.confirmed = True
            device.last_t = totp.t()  # the code just used cannot sign in again
            device.drift = totp.drift
            device.save(force_insert=True)
            record(Action.AUTH_MFA_ENROLLED, actor=user, target=user)
    if confirmed_elsewhere:
        _enrol_refused(user, "already_enrolled")
        return None
    return device


def _enrol_refused(user: User, reason: str) -> None:
    details = {"stage": "enrolment", "reason": reason}
    record(Action.AUTH_MFA_FAILED, actor=user, target=user, outcome=Outcome.DENIED, details=details)
