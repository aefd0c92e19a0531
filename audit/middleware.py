from __future__ import annotations

import logging
import re
import time
import uuid

from django.conf import settings

from . import context

logger = logging.getLogger("accord.request")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, or the address the trusted proxy appended."""
    proxies = getattr(settings, "ACCORD_TRUSTED_PROXIES", 0)
    if proxies:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    """Gives every request an id (kept from a trusted proxy's X-Request-ID when well formed)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        ctx = context.AuditContext(
            request_id=request_id,
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        )
        token = context.activate(ctx)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            # The path only: query strings can carry search terms, which are sensitive here.
            user = getattr(request, "user", None)
            logger.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                    "user_id": user.pk if user is not None and user.is_authenticated else None,
                },
            )
        finally:
            leftover = context.close(ctx)
            context.deactivate(token)
            if leftover:
                context.current().pending_denials.extend(leftover)
        response["X-Request-ID"] = request_id
        return response
