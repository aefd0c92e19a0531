"""The objects of the page a list view just served, for its audit event."""

from __future__ import annotations

from typing import Any


def page_objects(view: Any) -> list:
    """The page a DRF list view's paginator served (empty when it served none)."""
    page = getattr(getattr(view, "paginator", None), "page", None)
    return list(page.object_list) if page is not None else []
