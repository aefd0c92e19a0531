"""API token services: make a token (shown once), revoke it, and check one a request presents.

Tokens carry 256 bits of randomness, so one unsalted SHA-256 is enough to store them: nobody can
guess a preimage, and lookups stay one indexed query on the prefix. Comparison of the hash is
constant-time all the same.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import NoReturn

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.roles import Role, has_role, is_portal_admin
from audit.models import Action
from audit.reasons import Reason
from audit.services import record, refuse

from .models import DECIDE_LIFETIME, ApiToken

TOKEN_PREFIX = "accord_"  # noqa: S105  # nosec B105  (a public marker, not a secret)
_TOKEN = re.compile(r"^accord_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
# Writing last_used_at on every request would make every read a write; a minute is precise enough.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_scopes(value) -> str:
    """ "read", "write", "read,write" (any order, any spacing) → the canonical stored form."""
    items = value.split(",") if isinstance(value, str) else list(value)
    scopes = {item.strip().lower() for item in items if item and item.strip()}
    unknown = scopes - set(ApiToken.Scope.values)
    if not scopes or unknown:
        raise ValidationError(
            f"Scopes must be read, write, decide or several (got {', '.join(sorted(unknown)) or 'none'}).",
            code="scopes",
        )
    return ",".join(sorted(scopes))


def max_days() -> int:
    return settings.ACCORD_API_TOKEN_MAX_DAYS


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # the full bearer token; never stored, shown once


def token_create(*, actor, user, name: str, scopes, days: int, key_verified: bool = False) -> NewToken:
    """Make a token for `user` (the actor themself; a command may make one for anyone).

    Only an active user with an organisation gets one, for 1..ACCORD_API_TOKEN_MAX_DAYS days.
    A token with the `decide` scope is made only by the person themself in a session that has
    just been verified with a security key (`key_verified`: `accounts.stepup.verified_within`),
    and lives at most DECIDE_LIFETIME (8 hours), whatever `days` says.
    """
    if actor is not None and actor.pk != user.pk:
        refuse(actor, Action.API_TOKEN_CREATED, user, Reason.NOT_THEIR_OWN, error=PermissionDenied)
    if not user.is_active or user.organisation_id is None:
        refuse(
            actor,
            Action.API_TOKEN_CREATED,
            user,
            Reason.ACCOUNT_INACTIVE,
            error=ValidationError("This account cannot hold API tokens.", code="inactive"),
        )
    if not 1 <= days <= max_days():
        raise ValidationError(f"A token lives between 1 and {max_days()} days.", code="days")
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError("Give the token a name that says where it is used.", code="name")
    scopes = parse_scopes(scopes)
    decides = ApiToken.Scope.DECIDE in scopes.split(",")
    if decides and (actor is None or not key_verified):
        refuse(
            actor,
            Action.API_TOKEN_CREATED,
            user,
            Reason.TOKEN_DECIDE_SCOPE,
            error=ValidationError(
                "A token with the decide scope is made only right after you use your security key.", code="decide"
            ),
        )
    now = timezone.now()
    prefix = secrets.token_hex(6)
    secret = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken(
        user=user,
        name=name[:100],
        prefix=prefix,
        secret_hash=token_hash(secret),
        scopes=scopes,
        created_at=now,
        expires_at=now + (DECIDE_LIFETIME if decides else timedelta(days=days)),
    )
    token.full_clean()
    with transaction.atomic():
        token.save(force_insert=True)
        record(
            Action.API_TOKEN_CREATED,
            actor=actor or user,
            target=token,
            details={"user": user.email, "scopes": token.scopes, "expires_at": token.expires_at.isoformat()},
        )
    return NewToken(token=token, secret=secret)


def may_revoke(actor, token: ApiToken) -> bool:
    """The token's owner, a portal admin, or an admin of the owner's organisation."""
    if actor.pk == token.user_id or is_portal_admin(actor):
        return True
    return has_role(actor, Role.ORG_ADMIN, token.user.organisation)


def token_revoke(*, actor, token: ApiToken) -> ApiToken:
    """Revoke at once; the next request with it answers 401. Revoking twice changes nothing."""
    if actor is not None and not may_revoke(actor, token):
        refuse(actor, Action.API_TOKEN_REVOKED, token, Reason.NOT_THEIR_TOKEN, error=PermissionDenied)
    with transaction.atomic():
        locked = ApiToken.objects.select_for_update().get(pk=token.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.revoked_by = actor
            locked.save(update_fields=["revoked_at", "revoked_by"])
            record(Action.API_TOKEN_REVOKED, actor=actor, target=locked, details={"user_id": locked.user_id})
    return locked


def tokens_revoke_all(*, actor, user, reason: str) -> int:
    """Revoke every live token of `user`, each audited with `reason`, in the caller's
    transaction; returns how many. For the credential resets, which have already decided that
    `actor` may do this (`accounts.services.credentials_end`)."""
    now = timezone.now()
    live = ApiToken.objects.select_for_update().filter(user=user, revoked_at__isnull=True, expires_at__gt=now)
    revoked = 0
    for token in live:
        token.revoked_at = now
        token.revoked_by = actor
        token.save(update_fields=["revoked_at", "revoked_by"])
        record(Action.API_TOKEN_REVOKED, actor=actor, target=token, details={"user_id": user.pk, "reason": reason})
        revoked += 1
    return revoked


def on_credentials_revoked(sender, *, user, actor, reason: str, **kwargs) -> int:
    """`accounts.signals.credentials_revoked`: a reset of `user`'s credentials ends their tokens."""
    return tokens_revoke_all(actor=actor, user=user, reason=reason)


class TokenRefused(Exception):
    """A presented token that does not authenticate; `code` and `message` are safe to show the client."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason.sentence())
        self.code = reason.value
        self.message = reason.sentence()


def token_authenticate(presented: str) -> ApiToken:
    """The live token matching `presented`, its user loaded; TokenRefused (audited) otherwise.

    Expired, revoked and inactive-user are told apart only once the secret has matched, so the
    answer says nothing about tokens the caller does not hold.
    """
    match = _TOKEN.match(presented or "")
    token = None
    if match:
        token = ApiToken.objects.select_related("user").filter(prefix=match.group(1)).first()
    # Hash and compare even when the prefix is unknown, so timing does not tell them apart.
    expected = token.secret_hash if token is not None else "0" * 64
    matches = hmac.compare_digest(expected, token_hash(presented or ""))
    if token is None or not matches:
        _refuse(None, Reason.TOKEN_INVALID, prefix=match.group(1) if match else "")
    now = timezone.now()
    if token.revoked_at is not None:
        _refuse(token, Reason.TOKEN_REVOKED)
    if token.expires_at <= now:
        _refuse(token, Reason.TOKEN_EXPIRED)
    if not token.user.is_active:
        _refuse(token, Reason.USER_INACTIVE)
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def _refuse(token: ApiToken | None, reason: Reason, **details) -> NoReturn:
    target = token if token is not None else ("api.apitoken", details.get("prefix", ""), "")
    actor = token.user if token is not None else None
    refuse(actor, Action.API_TOKEN_REFUSED, target, reason, error=TokenRefused(reason), details=details)


def tokens_of(user):
    return ApiToken.objects.filter(user=user).order_by("-created_at")


def live_tokens_of(user):
    """The person's tokens that still authenticate: not revoked, not expired."""
    return tokens_of(user).filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


def tokens_of_organisation(organisation):
    """Every token of every member of `organisation`, with its holder: one query."""
    return (
        ApiToken.objects.filter(user__organisation=organisation)
        .select_related("user", "revoked_by")
        .order_by("user__email", "-created_at")
    )
