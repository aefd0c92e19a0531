"""One design system: every class a template uses is defined, by GOV.UK Frontend's vendored
stylesheet, by Accord's own, or (the tier colours) by the stylesheet the tiers in the database
make. A hand-made look-alike of a GOV.UK class, or a class left behind by a change, fails here."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.urls import reverse

TEMPLATES = settings.BASE_DIR / "templates"
STYLESHEETS = [
    settings.BASE_DIR / "static/vendor/govuk-frontend/govuk-frontend.min.css",
    settings.BASE_DIR / "static/css/accord.css",
]
# A class selector; GOV.UK's override classes escape their "!" (`.govuk-\!-margin-bottom-0`).
SELECTOR = re.compile(r"\.(-?[_a-zA-Z](?:[\w-]|\\.)*)")
CLASS_ATTRIBUTE = re.compile(r'\sclass="([^"]*)"')
TAG = re.compile(r"\{%.*?%\}", re.S)
VARIABLE = re.compile(r"\{\{.*?\}\}", re.S)
HOLE = "\x00"


def defined_in(css: str) -> set[str]:
    # Drop comments and strings first: a URL or a comment is not a selector.
    css = re.sub(r"/\*.*?\*/|\"[^\"]*\"|'[^']*'|url\([^)]*\)", " ", css, flags=re.S)
    return {name.replace("\\", "") for name in SELECTOR.findall(css)}


def used_in_templates() -> dict[str, set[str]]:
    """Each class token a template writes, with the templates that write it. The literal text in
    `{% if %}` branches counts as written; a `{{ variable }}` inside a token leaves a hole."""
    used: dict[str, set[str]] = {}
    for path in sorted(TEMPLATES.rglob("*.html")):
        for value in CLASS_ATTRIBUTE.findall(path.read_text()):
            value = TAG.sub(" ", VARIABLE.sub(HOLE, value))
            for token in value.split():
                used.setdefault(token, set()).add(str(path.relative_to(TEMPLATES)))
    return used


def test_template_classes_are_collected_with_their_conditional_branches():
    assert {"govuk-tag", "govuk-tag--grey", "govuk-tag--red", "govuk-tag--green"} <= set(used_in_templates())
    assert f"accord-tier-{HOLE}" in used_in_templates()


@pytest.mark.django_db
def test_every_class_a_template_uses_is_defined_by_a_stylesheet(client):
    defined = set().union(*(defined_in(path.read_text()) for path in STYLESHEETS))
    defined |= defined_in(client.get(reverse("sharing:tiers_css")).content.decode())
    undefined = {}
    for token, templates in used_in_templates().items():
        if HOLE in token:
            pattern = re.compile(re.escape(token).replace(re.escape(HOLE), r"[\w-]+"))
            found = any(pattern.fullmatch(name) for name in defined)
        else:
            found = token in defined
        if not found:
            undefined[token.replace(HOLE, "{{ … }}")] = sorted(templates)
    assert not undefined, f"classes defined by no stylesheet: {undefined}"


def test_the_look_alike_classes_are_gone():
    # Accord's own classes carry its prefix; the GOV.UK look comes only from GOV.UK's classes.
    ours = defined_in(STYLESHEETS[1].read_text())
    assert {name for name in ours if not name.startswith(("accord-", "govuk-"))} == set()
