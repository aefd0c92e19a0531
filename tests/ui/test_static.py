"""The vendored stylesheet never sends the browser for a font it does not have."""

from __future__ import annotations

from django.conf import settings


def test_vendored_stylesheet_names_no_missing_font_files():
    css = (settings.BASE_DIR / "static/vendor/govuk-frontend/govuk-frontend.min.css").read_text()
    assert "/assets/fonts/" not in css
    assert "@font-face" not in css
