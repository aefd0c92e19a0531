"""Helpers shared by the document tests: a draft made through the real create service, and the
last audit event (plain functions, so any test module can use them)."""

from __future__ import annotations

from accounts.models import User
from audit.models import AuditEvent
from sharing.models import Document
from sharing.services import document_create
from tests.factories import countries, tier


def new_document(author: User, **overrides) -> Document:
    """A draft by `author` through the real service: OFFICIAL, releasable to the USA."""
    fields = {
        "title": "Tool-use uplift on Frontier-7",
        "summary": "Agents with tools solved more tasks.",
        "body": "## Method\n\nWe ran the suite.",
        "tier": tier("official"),
        "releasable_to": countries("USA"),
        "model_developer": "Example Labs",
        "model_name": "Frontier-7",
        "model_version": "2025-06",
    }
    fields.update(overrides)
    return document_create(actor=author, **fields)


def last_event(action: str | None = None) -> AuditEvent:
    events = AuditEvent.objects.order_by("-seq")
    if action is not None:
        events = events.filter(action=action)
    event = events.first()
    assert event is not None, f"no audit event {action}"
    return event
