"""Per-token rate limits, counted in Django's cache (Redis in production)."""

from __future__ import annotations

import logging

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)


class TokenRateThrottle(SimpleRateThrottle):
    """ACCORD_API_RATE requests per period for each token, e.g. "600/min".

    The rate is read per request (not at import, as DRF's default is), so settings apply as
    they are. If the cache is unreachable the request is let through: a broken counter must
    not take the API down with it (the outage is logged).
    """

    scope = "token"

    def get_rate(self):
        return settings.ACCORD_API_RATE

    def get_cache_key(self, request, view):
        token = getattr(request, "auth", None)
        if token is None or getattr(token, "pk", None) is None:
            return None
        return f"accord:throttle:token:{token.pk}"

    def allow_request(self, request, view):
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        try:
            return super().allow_request(request, view)
        except Exception:  # the cache backend's connection errors have no common base class
            logger.warning("rate-limit cache unavailable; request allowed", exc_info=True)
            return True
