"""API personas and helpers.

Everyone here holds a read+write token unless a test says otherwise, so a refusal is the
policy's (or the scope's) doing, never a missing credential:
- alice: UK analyst, author, OFFICIAL-SENSITIVE — the allowed case for UK documents;
- uma: UK member cleared to OFFICIAL-SENSITIVE but without the author role (reader, no write);
- bob: US reviewer with no release of anything UK — the outsider.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import ApiToken
from api.tokens import token_create
from tests.factories import domains
from tests.sharing.documents_support import new_document


@pytest.fixture(autouse=True)
def media(media):
    """Ciphertext in a folder of the test's own; rate-limit counters start at zero."""
    cache.clear()
    yield media
    cache.clear()


def make_token(user, scopes="read,write", days=30, name="pipeline") -> str:
    """A token made in the portal by `user`, in a session just verified with a security key
    (so it may hold the `decide` scope)."""
    return token_create(actor=user, user=user, name=name, scopes=scopes, days=days, key_verified=True).secret


def bearer(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def api():
    """`api(secret_or_None)` → an APIClient sending that bearer token (or none)."""

    def _client(secret: str | None = None) -> APIClient:
        client = APIClient()
        if secret:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        return client

    return _client


@pytest.fixture
def as_user(api):
    """`as_user(user, scopes="decide,read,write")` → a client with a fresh token of that user."""

    def _client(user, scopes="decide,read,write"):
        return api(make_token(user, scopes=scopes))

    return _client


@pytest.fixture
def expired_secret(alice):
    secret = make_token(alice, name="old")
    token = ApiToken.objects.get(user=alice, name="old")
    ApiToken.objects.filter(pk=token.pk).update(
        created_at=timezone.now() - timedelta(days=40), expires_at=timezone.now() - timedelta(seconds=1)
    )
    return secret


@pytest.fixture
def revoked_secret(alice):
    from api.tokens import token_revoke

    secret = make_token(alice, name="revoked")
    token_revoke(actor=alice, token=ApiToken.objects.get(user=alice, name="revoked"))
    return secret


@pytest.fixture
def draft(alice):
    """A UK draft by alice: OFFICIAL, releasable to the USA, about CBRN."""
    return new_document(alice, risk_domains=domains("cbrn"))
