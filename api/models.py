"""Personal API tokens: the credential pipelines send as `Authorization: Bearer <token>`."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

# Every non-empty subset of the scopes, in its stored (sorted) form.
SCOPE_SETS = ["decide", "read", "write", "decide,read", "decide,write", "read,write", "decide,read,write"]
DECIDE_LIFETIME = timedelta(hours=8)


class ApiToken(models.Model):
    """A token is `accord_<prefix>_<secret>`. Only the prefix (for lookup) and the SHA-256 of the
    whole token are stored: the token itself is shown once, when it is made, and never again."""

    class Scope(models.TextChoices):
        READ = "read", "Read"
        WRITE = "write", "Write"
        # The decisions that need a security key in the portal (accounts/stepup.py); made only
        # right after one, for at most DECIDE_LIFETIME.
        DECIDE = "decide", "Decide"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    # A comma-separated subset of Scope, sorted: "read", "write", "read,write", "decide,read", …
    scopes = models.CharField(max_length=20)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, related_name="+", null=True, blank=True
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("created_at")), name="apitoken_expiry_after"),
            models.CheckConstraint(condition=Q(scopes__in=SCOPE_SETS), name="apitoken_scopes_known"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (accord_{self.prefix}_…)"

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(s for s in self.scopes.split(",") if s)

    def has_scope(self, scope: str) -> bool:
        return scope in self.scope_set

    def is_expired(self, now=None) -> bool:
        return self.expires_at <= (now or timezone.now())

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def is_live(self, now=None) -> bool:
        return not self.is_revoked and not self.is_expired(now)
