"""A person's credentials: the resets that end every session and every token they hold.

Every reset (MFA reset, password reset or change, deactivation) calls `credentials_end` inside
its own transaction. It raises the person's credentials epoch, which is part of the session
auth hash (`User.get_session_auth_hash`), so Django's own check on the next request signs out
every session made before the reset; and it sends `credentials_revoked`, to which every app
that issues credentials of its own (the API's tokens) subscribes, so those are revoked — and
audited — in the same transaction as the reset.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F

from audit.models import Action
from audit.services import record

from ..models import User
from ..signals import credentials_revoked


def credentials_end(*, actor: User | None, user: User, reason: str) -> int:
    """End every session and revoke every other credential of `user`; returns how many
    credentials (API tokens) were revoked. Runs in the caller's transaction, which records the
    reset itself; the caller has already decided the actor may do it."""
    User.objects.filter(pk=user.pk).update(credentials_epoch=F("credentials_epoch") + 1)
    user.refresh_from_db(fields=["credentials_epoch"])
    responses = credentials_revoked.send(sender=User, user=user, actor=actor, reason=reason)
    return sum(int(revoked or 0) for _, revoked in responses)


def password_set(*, actor: User | None, user: User, password: str, via: str) -> int:
    """Give `user` a new (already validated) password and end every session and token made with
    the old one. `via` says how: "change" (signed in) or "reset" (the emailed link). The caller
    keeps its own session alive with `update_session_auth_hash` when it should."""
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        # Each revoked token is its own event, naming this reset as its reason.
        revoked = credentials_end(actor=actor, user=user, reason=f"password_{via}")
        record(Action.AUTH_PASSWORD_CHANGED, actor=actor, target=user, details={"via": via})
    return revoked
