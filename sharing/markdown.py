"""Render a document's Markdown body to HTML that is safe to put in a page.

Two locks, either of which would hold on its own:
1. Python-Markdown runs with its raw-HTML block and inline handlers removed, so any HTML an
   author types is shown as text, never passed through as markup.
2. nh3 (ammonia) then cleans the result against a short allowlist of tags and attributes:
   links only to http, https and mailto, each given `rel="noopener noreferrer"`; images only from
   this site (a path starting with a single `/`), so a finding can never make a reader's browser
   call out to another origin; no `style`, no event handlers, no comments.
"""

from __future__ import annotations

import re

import markdown as markdown_lib
import nh3
from django.utils.safestring import SafeString, mark_safe

EXTENSIONS = ["fenced_code", "tables", "sane_lists"]

ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "dd",
    "del",
    "dl",
    "dt",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto"}
# Removed with their content should they ever reach the cleaner.
DROPPED_WITH_CONTENT = {"script", "style", "iframe", "object", "embed", "template", "noscript"}

# A same-origin path: one slash, not two, and not a slash-backslash that browsers read as `//`.
_SAME_ORIGIN_PATH = re.compile(r"^/(?![/\\])[^\s\x00-\x1f\\]*$")


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return value if _SAME_ORIGIN_PATH.match(value) else None
    return value


_cleaner = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    clean_content_tags=DROPPED_WITH_CONTENT,
    attributes=ALLOWED_ATTRIBUTES,
    attribute_filter=_keep_attribute,
    strip_comments=True,
    link_rel="noopener noreferrer",
    url_schemes=URL_SCHEMES,
)


def _markdown() -> markdown_lib.Markdown:
    # A Markdown instance keeps state between conversions and is not thread-safe: one per call.
    md = markdown_lib.Markdown(extensions=EXTENSIONS, output_format="html")
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    return md


def sanitise_html(html: str) -> str:
    return _cleaner.clean(html)


def render_markdown(text: str) -> SafeString:
    """Markdown to sanitised HTML, marked safe for templates."""
    html = sanitise_html(_markdown().convert(text or ""))
    # Safe because every byte has just passed the allowlist cleaner above.
    return mark_safe(html)  # noqa: S308  # nosec B308 B703
