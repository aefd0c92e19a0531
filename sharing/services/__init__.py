"""Every write to the sharing app goes through a service in this package."""

from __future__ import annotations

from .documents import document_create, document_publish, document_update, document_withdraw

__all__ = ["document_create", "document_publish", "document_update", "document_withdraw"]
