"""The one write path of the audit trail."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NoReturn

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from . import context, signing
from .chain import (  # noqa: F401  (re-exported: callers and tests use them from here)
    ENCODING_VERSION,
    GENESIS_HASH,
    HASHED_FIELDS,
    canonical_bytes,
    canonical_ip,
    compute_hash,
    content_digest,
    details_json,
    iso_utc,
    link_hash,
    normalise_details,
)
from .models import Action, AuditCheckpoint, AuditEvent, AuditSubject, ChainHead, Outcome, VerificationRun
from .reasons import Reason, Refusal, refusal


def _text(value: Any, limit: int) -> str:
    # PostgreSQL refuses NUL in text; a length over the column is refused there too (SQLite
    # would keep it). Either would turn an audited request into a 500.
    return str(value).replace("\x00", "\ufffd")[:limit]


def event_fields(event: AuditEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in HASHED_FIELDS}


def describe(obj: Any) -> tuple[str, str, str]:
    """(type, id, label) of an audit target: a model instance (its `code` if it has one, else its
    pk) or an explicit triple for things that are not rows, such as an attempted username."""
    if obj is None:
        return "", "", ""
    if isinstance(obj, Model):
        ident = getattr(obj, "code", None) or obj.pk
        return obj._meta.label_lower, str(ident), str(obj)
    if isinstance(obj, tuple) and len(obj) == 3:
        kind, ident, label = obj
        return str(kind), str(ident), str(label)
    raise TypeError(f"cannot describe audit target {obj!r}")


def _actor(actor: Any) -> tuple[int | None, str, int | None]:
    if actor is None:
        return None, "system", None
    if not getattr(actor, "is_authenticated", False):
        return None, "anonymous", None
    label = f"{getattr(actor, 'display_name', '')} <{getattr(actor, 'email', '')}>"
    return actor.pk, label, getattr(actor, "organisation_id", None)


_HEAD_TABLE = ChainHead._meta.db_table
_EVENT_TABLE = AuditEvent._meta.db_table
_INSERT_COLUMNS = (*HASHED_FIELDS, "hash")
_EVENT_ATTNAMES = [f.attname for f in AuditEvent._meta.concrete_fields]
_SELECT_HEAD = {
    # Row lock on the one head row: every other writer waits here until this transaction ends.
    "postgresql": f"SELECT seq, hash FROM {_HEAD_TABLE} WHERE id = 1 FOR UPDATE",  # noqa: S608 (constant names, bound values)  # nosec B608
    # SQLite runs IMMEDIATE transactions: being in one already means holding the write lock.
    "sqlite": f"SELECT seq, hash FROM {_HEAD_TABLE} WHERE id = 1",  # noqa: S608 (constant names, bound values)  # nosec B608
}
# The columns Python fills in; seq, at, prev_hash and hash come from the locked head.
_CONTENT_COLUMNS = [c for c in HASHED_FIELDS if c not in ("seq", "at", "prev_hash")]
_PG_CASTS = {"ip": "%s::inet", "details": "%s::jsonb"}
_PG_APPEND = (
    # One statement, one round trip: lock the head, take the time, form the version-2 link hash
    # (chain.link_hash, the same text hashed by the same SHA-256), insert the event and move the
    # head. The lock is then held for this statement and the commit, nothing else. Under READ
    # COMMITTED a writer that waited for the lock re-reads the head as committed by the one
    # before it (FOR UPDATE re-evaluates the row), so seq + 1 and prev_hash are never stale.
    f"WITH head AS (SELECT seq + 1 AS seq, hash AS prev FROM {_HEAD_TABLE} WHERE id = 1 FOR UPDATE), "  # noqa: S608 (constant names, bound values)  # nosec B608
    # A separate step, so the clock is read after the lock is granted, not before the wait.
    "stamp AS (SELECT seq, prev, clock_timestamp() AS at FROM head), "
    "link AS (SELECT seq, prev, at, encode(sha256(convert_to(prev || '|' || seq::text || '|' || "
    """to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '|' || %s, 'UTF8')), 'hex') AS hash """
    "FROM stamp), "
    f"ins AS (INSERT INTO {_EVENT_TABLE} (seq, at, prev_hash, hash, {', '.join(_CONTENT_COLUMNS)}) "
    f"SELECT seq, at, prev, hash, {', '.join(_PG_CASTS.get(c, '%s') for c in _CONTENT_COLUMNS)} FROM link "
    "RETURNING seq, at, prev_hash, hash) "
    f"UPDATE {_HEAD_TABLE} SET seq = ins.seq, hash = ins.hash FROM ins WHERE {_HEAD_TABLE}.id = 1 "
    "RETURNING ins.seq, ins.at, ins.prev_hash, ins.hash"
)
_SQLITE_INSERT = (
    f"INSERT INTO {_EVENT_TABLE} ({', '.join(_INSERT_COLUMNS)}) VALUES ({', '.join(['%s'] * len(_INSERT_COLUMNS))})"  # noqa: S608 (constant names, bound values)  # nosec B608
)
_SQLITE_MOVE_HEAD = f"UPDATE {_HEAD_TABLE} SET seq = %s, hash = %s WHERE id = 1"  # noqa: S608 (constant names, bound values)  # nosec B608


def _lock_head(cursor) -> tuple[int, str]:
    """(seq, hash) of the chain head, locked until the surrounding transaction ends.

    PostgreSQL: `SELECT ... FOR UPDATE` on the single head row makes every other writer wait
    here, so exactly one transaction at a time appends, and seq + 1 / prev_hash are read after
    the previous writer committed. SQLite: the connection opens IMMEDIATE transactions, so being
    inside a transaction already means holding the database's only write lock.
    """
    cursor.execute(_SELECT_HEAD.get(connection.vendor, _SELECT_HEAD["postgresql"]))
    row = cursor.fetchone()
    if row is None:
        _recreate_head()
        cursor.execute(_SELECT_HEAD.get(connection.vendor, _SELECT_HEAD["postgresql"]))
        row = cursor.fetchone()
    return row[0], row[1]


def _recreate_head() -> None:
    # The row is seeded by a migration; it is only missing after a test-database flush. Rebuilt
    # from the last event so that the chain continues rather than restarting at 1.
    last = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
    seq, head_hash = last if last else (0, GENESIS_HASH)
    ChainHead.objects.get_or_create(pk=1, defaults={"seq": seq, "hash": head_hash})


def _append_pg(fields: dict[str, Any], digest: str, details_text: str) -> str:
    params = [digest, *(details_text if c == "details" else fields[c] for c in _CONTENT_COLUMNS)]
    with connection.cursor() as cursor:
        cursor.execute(_PG_APPEND, params)
        row = cursor.fetchone()
        if row is None:  # no head row (only after a test-database flush): rebuild it, once
            _recreate_head()
            cursor.execute(_PG_APPEND, params)
            row = cursor.fetchone()
    fields["seq"], fields["at"], fields["prev_hash"], event_hash = row
    return event_hash


def _append_sqlite(fields: dict[str, Any], digest: str, details_text: str) -> str:
    with connection.cursor() as cursor:
        head_seq, head_hash = _lock_head(cursor)
        at = timezone.now()
        fields["seq"], fields["at"], fields["prev_hash"] = head_seq + 1, at, head_hash
        event_hash = link_hash(head_hash, head_seq + 1, iso_utc(at), digest)
        params = [fields[name] for name in HASHED_FIELDS]
        params[1] = connection.ops.adapt_datetimefield_value(at)
        params[13] = details_text
        params.append(event_hash)
        cursor.execute(_SQLITE_INSERT, params)
        cursor.execute(_SQLITE_MOVE_HEAD, [head_seq + 1, event_hash])
    return event_hash


def record(
    action: str,
    *,
    actor: Any = None,
    target: Any = None,
    outcome: str = Outcome.ALLOWED,
    details: dict | None = None,
    organisation_id: int | None = None,
    subjects: Mapping[str, Iterable[Any]] | None = None,
) -> AuditEvent:
    """Append one event, in the caller's transaction (or a transaction of its own).

    The caller's transaction commits or rolls back the event together with the change it
    records. `actor` is a user (None for the system itself, AnonymousUser for an anonymous
    request); `target` a model instance or a (type, id, label) triple; `organisation_id`
    defaults to the actor's organisation. `details` must never hold secrets or attachment
    content.

    `subjects` ({target type: ids}) names what a list, search or chart showed besides the
    target: they are stored in the hashed `details["subjects"]` and indexed as `AuditSubject`
    rows in the same transaction (one more insert), so an originator finds every listing of its
    document by index. Callers bound them (the codes of one page).

    The chain head stays locked until the caller's transaction ends, so other writers wait for
    it: record the event as the last step of a service, just before its transaction commits.
    """
    if subjects:
        named = {kind: [_text(ident, 64) for ident in ids] for kind, ids in subjects.items() if ids}
        details = {**(details or {}), "subjects": named}
        if named:
            with transaction.atomic(savepoint=False):
                event = record(action, actor=actor, target=target, outcome=outcome, details=details,
                               organisation_id=organisation_id)  # fmt: skip
                AuditSubject.objects.bulk_create(
                    AuditSubject(seq=event.seq, target_type=_text(kind, 60), target_id=ident)
                    for kind, ids in named.items()
                    for ident in dict.fromkeys(ids)
                )
            return event
    ctx = context.current()
    if ctx.pending_denials and not connection.in_atomic_block:
        flush_pending_denials(ctx)
    actor_id, actor_label, actor_org = _actor(actor)
    target_type, target_id, target_label = describe(target)
    clean_details = normalise_details(details) if details else {}
    fields = {
        "seq": 0,
        "at": None,
        "actor_id": actor_id,
        "actor_label": _text(actor_label, 300),
        "organisation_id": organisation_id if organisation_id is not None else actor_org,
        "action": _text(action, 60),
        "outcome": _text(outcome, 10),
        "target_type": _text(target_type, 60),
        "target_id": _text(target_id, 64),
        "target_label": _text(target_label, 300),
        "request_id": _text(ctx.request_id, 64),
        "ip": canonical_ip(ctx.ip),
        "user_agent": _text(ctx.user_agent, 300),
        "details": clean_details,
        "version": ENCODING_VERSION,
        "prev_hash": "",
    }
    details_text = details_json(clean_details)
    # Everything above, and the content digest, happens before the lock; only seq, time and
    # prev_hash need it. No savepoint: a failed insert leaves the caller's transaction unusable
    # anyway, and a savepoint would cost two more round trips while the lock is held.
    digest = content_digest(fields)
    if connection.vendor == "sqlite":
        # IMMEDIATE transaction: the database's write lock from BEGIN to COMMIT.
        with transaction.atomic(savepoint=False):
            event_hash = _append_sqlite(fields, digest, details_text)
    elif connection.in_atomic_block:
        with transaction.atomic(savepoint=False):
            event_hash = _append_pg(fields, digest, details_text)
    else:
        # Outside a transaction the one statement is a transaction of its own (autocommit):
        # no BEGIN round trip, and the lock is held only while it runs and commits.
        event_hash = _append_pg(fields, digest, details_text)
    # As if read back from the database: positional, the cheaper way to build a model.
    fields["hash"] = event_hash
    return AuditEvent.from_db(connection.alias, _EVENT_ATTNAMES, [fields[name] for name in _EVENT_ATTNAMES])


def record_denial(action: str, *, actor: Any = None, target: Any = None, **kwargs: Any) -> AuditEvent:
    """Record a refused action, and keep it even if the surrounding transaction rolls back.

    Inside a transaction the event is written in order with the rest and also remembered in
    the audit context; when the context ends (the request, the Celery task, an `audit_scope()`
    block) or, outside any scope, at this thread's next append outside a transaction, any
    remembered denial whose row did not survive is written again on its own.
    """
    event = record(action, actor=actor, target=target, outcome=Outcome.DENIED, **kwargs)
    if connection.in_atomic_block:
        ctx = context.current()
        entry = {"hash": event.hash, "action": action, "actor": actor, "target": target, "kwargs": kwargs}
        ctx.pending_denials.append(entry)
        # Once the transaction commits the row is safe; forgetting it keeps the rewrite check
        # (one query per denial) to the rare rolled-back case.
        transaction.on_commit(lambda: _forget(ctx, entry))
    return event


def refuse(
    actor: Any,
    action: str,
    target: Any,
    reason: Reason | Refusal,
    *,
    error: type[Exception] | Exception = ValidationError,
    field: str | None = None,
    details: dict | None = None,
    organisation_id: int | None = None,
) -> NoReturn:
    """Record the refusal as a denial, then raise: the one way to say no.

    `reason` is a code (or a code with the values its sentence names, `Reason.X.because(...)`);
    the event stores the code, its values and `details`. `error` is what the caller answers:
    an exception to raise as it is, or a class raised with the code's sentence
    (`PermissionDenied` for "you may not", `Http404` for "not found", `ValidationError` for "not
    like this", put next to `field` when given).
    """
    why = refusal(reason)
    record_denial(
        action,
        actor=actor,
        target=target,
        details=why.details() | (details or {}),
        organisation_id=organisation_id,
    )
    raise _error(error, why, field)


def _error(error: type[Exception] | Exception, why: Refusal, field: str | None) -> Exception:
    if isinstance(error, Exception):
        return error
    if issubclass(error, ValidationError):
        message = ValidationError(why.sentence, code=why.reason.value)
        return ValidationError({field: [message]}) if field else message
    return error(why.sentence)


def _forget(ctx: context.AuditContext, entry: dict) -> None:
    try:
        ctx.pending_denials.remove(entry)
    except ValueError:
        pass


def flush_pending_denials(ctx: context.AuditContext) -> None:
    """Rewrite the denials whose transaction rolled back. Call outside any transaction."""
    if connection.in_atomic_block:
        return
    pending, ctx.pending_denials = ctx.pending_denials, []
    for entry in pending:
        if AuditEvent.objects.filter(hash=entry["hash"]).exists():
            continue
        details = dict(entry["kwargs"].pop("details", None) or {})
        details["rolled_back"] = True
        record(
            entry["action"],
            actor=entry["actor"],
            target=entry["target"],
            outcome=Outcome.DENIED,
            details=details,
            **entry["kwargs"],
        )


def checkpoint_create(*, actor: Any = None) -> AuditCheckpoint | None:
    """Sign the current head. Holds the chain lock, so the head signed is exactly the event the
    checkpoint's own audit event follows. Returns None when nothing happened since the last
    checkpoint (the head is that checkpoint's own event), so a periodic run adds no noise."""
    key = signing.load()
    with transaction.atomic():
        with connection.cursor() as cursor:
            head_seq, head_hash = _lock_head(cursor)
        if head_seq == 0:
            return None
        last = AuditCheckpoint.objects.order_by("-seq").first()
        if last is not None and head_seq == last.seq + 1:
            newest = AuditEvent.objects.filter(seq=head_seq).values_list("action", flat=True).first()
            if newest == Action.AUDIT_CHECKPOINT:
                return None
        at = timezone.now()
        message = signing.checkpoint_message(seq=head_seq, head_hash=head_hash, at=at, key_id=key.key_id)
        checkpoint = AuditCheckpoint(
            seq=head_seq, head_hash=head_hash, at=at, key_id=key.key_id, signature=signing.sign(key, message)
        )
        checkpoint.full_clean()
        checkpoint.save(force_insert=True)
        record(
            Action.AUDIT_CHECKPOINT,
            actor=actor,
            target=("audit.auditcheckpoint", str(checkpoint.seq), f"checkpoint #{checkpoint.seq}"),
            details={"seq": checkpoint.seq, "head_hash": checkpoint.head_hash, "key_id": key.key_id},
        )
    return checkpoint


def verification_record(*, result: Any, started_at: Any, trigger: str, actor: Any = None) -> VerificationRun:
    """Keep the outcome of a verification (the viewer shows the latest) and audit it."""
    with transaction.atomic():
        run = VerificationRun(
            started_at=started_at,
            finished_at=timezone.now(),
            status=VerificationRun.Status.PASSED if result.ok else VerificationRun.Status.FAILED,
            events_checked=result.events,
            checkpoints_checked=result.checkpoints,
            head_seq=result.head_seq,
            head_hash=result.head_hash,
            first_bad_seq=result.first_bad_seq,
            message=result.message[:2000],
            trigger=trigger[:20],
        )
        run.full_clean()
        run.save()
        record(
            Action.AUDIT_VERIFIED,
            actor=actor,
            outcome=Outcome.ALLOWED if result.ok else Outcome.ERROR,
            target=("audit.verificationrun", str(run.pk), str(run)),
            details={
                "events": result.events,
                "head_seq": result.head_seq,
                "first_bad_seq": result.first_bad_seq,
                "trigger": run.trigger,
            },
        )
    return run
