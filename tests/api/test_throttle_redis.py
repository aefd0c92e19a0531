"""Rate-limit counters live in Redis in production, so every web process shares one budget."""

from __future__ import annotations

import os
import uuid

import pytest
import redis
from django.urls import reverse

from tests.api.conftest import make_token

pytestmark = [pytest.mark.services, pytest.mark.django_db]


@pytest.fixture
def redis_cache(settings):
    url = os.environ.get("ACCORD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = f"accord-test-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url, "KEY_PREFIX": prefix}
    }
    client = redis.Redis.from_url(url)
    yield client, prefix
    for key in client.scan_iter(f"{prefix}:*"):  # our keys only; the database is shared
        client.delete(key)


def test_the_budget_is_shared_through_redis(api, alice, settings, redis_cache):
    client, prefix = redis_cache
    settings.ACCORD_API_RATE = "3/min"
    secret = make_token(alice)
    url = reverse("api:document_list")
    # Two clients stand in for two web processes: the counter is in Redis, not in either.
    statuses = [api(secret).get(url).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert any(b"throttle" in key for key in client.scan_iter(f"{prefix}:*"))
