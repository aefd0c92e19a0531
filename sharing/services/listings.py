"""Reads of many documents at once are audited too: one event per page naming what it showed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from audit.models import Action
from audit.services import record

DOCUMENT = "sharing.document"


def documents_listed(*, actor: Any, documents: Iterable[Any], page: str, via: str = "web", **details: Any) -> None:
    """Record that `actor` was shown `documents` (instances or codes) on `page` ("documents",
    "results", "compare", "eval-runs", ...): one `document.listed` event naming their codes, so
    each originator finds the listing in its document's access history. The caller passes one
    page (at most its page size), never a whole queryset."""
    codes = list(dict.fromkeys(str(getattr(document, "code", document)) for document in documents))
    record(
        Action.DOCUMENT_LISTED,
        actor=actor,
        details={"via": via, "page": page, **details},
        subjects={DOCUMENT: codes},
    )
