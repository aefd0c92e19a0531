"""Sections that apps above sharing add to the document page, registered in their `ready()`.

sharing may not import the apps built on it (evals shows its results here), so the document page
asks this registry instead: each panel is a template and a function giving that template's
context for a document the reader obtained through `document_for_reader`, and the attachments
the page lists. A panel whose function returns None is left out. Panels render in the order
they were registered, below the attachments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from .models import Attachment, Document

# (request, document, attachments listed on the page) -> the template's context, or None.
PanelContext = Callable[[HttpRequest, Document, list[Attachment]], dict[str, Any] | None]


@dataclass(frozen=True)
class DocumentPanel:
    template: str
    context: PanelContext


_panels: list[DocumentPanel] = []


def add_document_panel(template: str, context: PanelContext) -> None:
    """Show `template` on every document page where `context` returns a context."""
    panel = DocumentPanel(template, context)
    if panel not in _panels:
        _panels.append(panel)


def render_document_panels(request: HttpRequest, document: Document, attachments: list[Attachment]) -> list[SafeString]:
    rendered = []
    for panel in _panels:
        context = panel.context(request, document, attachments)
        if context is not None:
            rendered.append(render_to_string(panel.template, context, request=request))
    return rendered
