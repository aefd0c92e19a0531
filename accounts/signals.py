"""Authentication events go to the audit trail."""

from __future__ import annotations

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import Signal, receiver

from audit.models import Action, Outcome
from audit.services import record

from . import sessions

# Sent inside the transaction of every credential reset (`accounts.services.credentials_end`)
# with `user`, `actor` and `reason`. Apps that issue credentials of their own (the API's tokens)
# revoke them in a receiver and return how many they revoked; `accounts` knows none of them.
credentials_revoked = Signal()


@receiver(user_logged_in)
def _on_login(sender, request, user, **kwargs) -> None:
    record(Action.AUTH_LOGIN, actor=user, target=user, details={"mfa": "pending"})
    if request is not None:
        sessions.session_opened(request, user)


@receiver(user_logged_out)
def _on_logout(sender, request, user, **kwargs) -> None:
    if user is not None:
        record(Action.AUTH_LOGOUT, actor=user, target=user)
        sessions.session_closed(request, user)


@receiver(user_login_failed)
def _on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    # Only the attempted username is kept: never the password, which Django has already masked.
    username = str(credentials.get("username", ""))[:150]
    user = get_user_model().objects.filter(email__iexact=username).first()
    record(
        Action.AUTH_LOGIN_FAILED,
        actor=None,
        target=user if user else ("accounts.user", "", username),
        outcome=Outcome.DENIED,
        organisation_id=user.organisation_id if user else None,
        details={"username": username},
    )


@receiver(user_locked_out)
def _on_lockout(sender, request, username, ip_address, **kwargs) -> None:
    record(
        Action.AUTH_LOCKOUT,
        target=("accounts.user", "", str(username)[:150]),
        outcome=Outcome.DENIED,
        details={"username": str(username)[:150], "ip": ip_address},
    )
