"""Friendly error pages that say what to do next and reveal nothing about what exists.

The 500 (and the 503 for an unreachable database) are `portal.errors.server_error`, which
renders templates/500.html (the page in templates/errors/500.html) without a request context."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template import loader


def _page(request: HttpRequest, template: str, status: int) -> HttpResponse:
    return HttpResponse(loader.render_to_string(template, request=request), status=status)


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    # The exception's message names the failed rule; it is audited, never shown.
    return _page(request, "errors/403.html", 403)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(request, "errors/404.html", 404)


def storage_unavailable() -> HttpResponse:
    """An upload the ciphertext store refused: nothing was saved, so the client may retry. Plain
    text, because the upload script shows a short plain-text answer to the person as it is."""
    return HttpResponse(
        "The file store is unavailable, so nothing was saved. Please try again in a few minutes.",
        status=503,
        content_type="text/plain; charset=utf-8",
        headers={"Retry-After": "60"},
    )


def keys_unavailable() -> HttpResponse:
    """An upload the master key's token could not key: nothing was stored (plain text, as above)."""
    return HttpResponse(
        "The key store is unavailable, so nothing was saved. Please try again in a minute.",
        status=503,
        content_type="text/plain; charset=utf-8",
        headers={"Retry-After": "30"},
    )
