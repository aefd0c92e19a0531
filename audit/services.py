"""The one write path of the audit trail."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from . import context
from .models import AuditEvent, ChainHead, Outcome

GENESIS_HASH = "0" * 64
ENCODING_VERSION = 1

# Fields covered by the hash, in encoding order. Changing this list needs a new version.
HASHED_FIELDS = (
    "seq",
    "at",
    "actor_id",
    "actor_label",
    "organisation_id",
    "action",
    "outcome",
    "target_type",
    "target_id",
    "target_label",
    "request_id",
    "ip",
    "user_agent",
    "details",
    "version",
    "prev_hash",
)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_bytes(fields: dict[str, Any]) -> bytes:
    """Version-1 canonical encoding: compact JSON, sorted keys, UTC microsecond timestamps."""
    payload = {name: fields[name] for name in HASHED_FIELDS}
    payload["at"] = _iso(payload["at"])
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def compute_hash(fields: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes(fields)).hexdigest()


def event_fields(event: AuditEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in HASHED_FIELDS}


def _describe(obj: Any) -> tuple[str, str, str]:
    if obj is None:
        return "", "", ""
    if isinstance(obj, Model):
        ident = getattr(obj, "code", None) or obj.pk
        return obj._meta.label_lower, str(ident), str(obj)[:300]
    if isinstance(obj, tuple) and len(obj) == 3:
        kind, ident, label = obj
        return str(kind), str(ident), str(label)[:300]
    raise TypeError(f"cannot describe audit target {obj!r}")


def _actor(actor: Any) -> tuple[int | None, str, int | None]:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None, "anonymous" if actor is not None else "system", None
    org_id = getattr(actor, "organisation_id", None)
    label = f"{actor.display_name} <{actor.email}>"
    return actor.pk, label[:300], org_id


def _lock_head() -> ChainHead:
    if connection.vendor == "postgresql":
        head = ChainHead.objects.select_for_update().filter(pk=1).first()
        if head is None:
            ChainHead.objects.get_or_create(pk=1)
            head = ChainHead.objects.select_for_update().get(pk=1)
        return head
    # SQLite: the connection opens IMMEDIATE write transactions, so holding a transaction is
    # already holding the only write lock.
    head, _ = ChainHead.objects.get_or_create(pk=1)
    return head


def record(
    action: str,
    *,
    actor: Any = None,
    target: Any = None,
    outcome: str = Outcome.ALLOWED,
    details: dict | None = None,
    organisation_id: int | None = None,
) -> AuditEvent:
    """Append one event, in the caller's transaction (or a new one).

    The caller's transaction commits or rolls back the event together with the change it
    records. `details` must never hold secrets or attachment content.
    """
    ctx = context.current()
    actor_id, actor_label, actor_org = _actor(actor)
    target_type, target_id, target_label = _describe(target)
    with transaction.atomic():
        head = _lock_head()
        fields = {
            "seq": head.seq + 1,
            "at": timezone.now(),
            "actor_id": actor_id,
            "actor_label": actor_label,
            "organisation_id": organisation_id if organisation_id is not None else actor_org,
            "action": str(action),
            "outcome": str(outcome),
            "target_type": target_type,
            "target_id": target_id,
            "target_label": target_label,
            "request_id": ctx.request_id,
            "ip": ctx.ip,
            "user_agent": ctx.user_agent,
            "details": json.loads(json.dumps(details or {}, default=str)),
            "version": ENCODING_VERSION,
            "prev_hash": head.hash,
        }
        event = AuditEvent(**fields, hash=compute_hash(fields))
        event.save(force_insert=True)
        ChainHead.objects.filter(pk=1).update(seq=event.seq, hash=event.hash)
    return event


def record_denial(action: str, *, actor: Any = None, target: Any = None, **kwargs: Any) -> AuditEvent:
    """Record a refused action, and keep it even if the surrounding transaction rolls back.

    Inside a transaction the event is written in order with the rest, and remembered in the
    request context; when the request ends, any remembered denial whose row did not survive
    (the transaction rolled back) is written again on its own.
    """
    event = record(action, actor=actor, target=target, outcome=Outcome.DENIED, **kwargs)
    if connection.in_atomic_block:
        context.current().pending_denials.append(
            {"hash": event.hash, "action": action, "actor": actor, "target": target, "kwargs": kwargs}
        )
    return event


def flush_pending_denials(ctx: context.AuditContext) -> None:
    """Rewrite the denials whose transaction rolled back."""
    pending, ctx.pending_denials = ctx.pending_denials, []
    for entry in pending:
        if not AuditEvent.objects.filter(hash=entry["hash"]).exists():
            record(
                entry["action"],
                actor=entry["actor"],
                target=entry["target"],
                outcome=Outcome.DENIED,
                **entry["kwargs"],
            )
