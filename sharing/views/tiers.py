"""The tier colours as a stylesheet, so banners are coloured without inline styles (strict CSP)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from accounts.middleware import carries_no_marking
from accounts.models import Tier


def _luminance(hex_colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def text_colour_for(background: str) -> str:
    """Black or white, whichever contrasts more with `background` (WCAG relative luminance)."""
    lum = _luminance(background)
    on_white = 1.05 / (lum + 0.05)
    on_black = (lum + 0.05) / 0.05
    return "#ffffff" if on_white >= on_black else "#0b0c0c"


@carries_no_marking  # colours of tier codes only: cached for five minutes, never marked content
@require_GET
@cache_control(max_age=300, private=True)
def tiers_css(request: HttpRequest) -> HttpResponse:
    # Tier codes are slugs and colours are validated as #rrggbb, so both are safe in CSS.
    rules = [
        f".accord-tier-{tier.code}{{background-color:{tier.colour};color:{text_colour_for(tier.colour)}}}"
        for tier in Tier.objects.all()
    ]
    return HttpResponse("\n".join(rules) + "\n", content_type="text/css; charset=utf-8")
