"""The one write path of the audit trail."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn

import psycopg
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from . import context, sequencer, signing
from .chain import (  # noqa: F401  (re-exported: callers and tests use them from here)
    ENCODING_VERSION,
    GENESIS_HASH,
    HASHED_FIELDS,
    V3_FIELDS,
    canonical_bytes,
    canonical_ip,
    compute_hash,
    content_digest,
    content_sql,
    details_json,
    digest_v3,
    iso_utc,
    link_hash,
    normalise_details,
    sha256_hex_sql,
    v3_values,
)
from .models import Action, AuditCheckpoint, AuditEvent, AuditSubject, Outcome, VerificationRun
from .reasons import Reason, Refusal, refusal


def _text(value: Any, limit: int) -> str:
    # PostgreSQL refuses NUL in text; a length over the column is refused there too (SQLite
    # would keep it). Either would turn an audited request into a 500.
    return str(value).replace("\x00", "\ufffd")[:limit]


def event_fields(event: AuditEvent) -> dict[str, Any]:
    names = (*HASHED_FIELDS, "position", "sealed_at", "digest")
    return {name: getattr(event, name) for name in names}


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


_EVENT_TABLE = AuditEvent._meta.db_table
_EVENT_ATTNAMES = [f.attname for f in AuditEvent._meta.concrete_fields]
# The columns an insert fills in (version 3): the content, then its digest. Never a position,
# a link or a hash: those are the sequencer's.
_INSERT_COLUMNS = (*V3_FIELDS, "digest")
_PG_CASTS = {
    "at": "timestamptz", "actor_id": "bigint", "organisation_id": "bigint", "ip": "inet", "details": "jsonb",
    "version": "smallint",
}  # fmt: skip
# One statement, no lock: draw seq from the sequence, and let PostgreSQL compute the content
# digest from the values as it will store them (chain.content_sql), so the verifier's set-wise
# recomputation reads exactly the text that was hashed.
_PG_VALUES = ", ".join(f"%s::{_PG_CASTS.get(c, 'text')} AS {c}" for c in V3_FIELDS if c != "seq")
_PG_SELECT = ", ".join("v." + c for c in V3_FIELDS)
_PG_DIGEST = sha256_hex_sql(content_sql("postgresql", "v"))
_PG_INSERT = (
    f"WITH v AS (SELECT nextval('audit_auditevent_seq_seq') AS seq, {_PG_VALUES}) "  # noqa: S608 (constant names, bound values)  # nosec B608
    f"INSERT INTO {_EVENT_TABLE} ({', '.join(_INSERT_COLUMNS)}) SELECT {_PG_SELECT}, {_PG_DIGEST} FROM v "
    "RETURNING seq, digest"
)
_SQLITE_NEXT_SEQ = f"SELECT COALESCE(MAX(seq), 0) + 1 FROM {_EVENT_TABLE}"  # noqa: S608 (constant names)  # nosec B608
_SQLITE_INSERT = (
    f"INSERT INTO {_EVENT_TABLE} ({', '.join(_INSERT_COLUMNS)}) VALUES ({', '.join(['%s'] * len(_INSERT_COLUMNS))})"  # noqa: S608 (constant names, bound values)  # nosec B608
)


def _insert_pg(fields: dict[str, Any], details_text: str) -> None:
    params = [details_text if c == "details" else fields[c] for c in V3_FIELDS if c != "seq"]
    with connection.cursor() as cursor:
        # A prepared statement, on a server-side binding cursor over the same connection (and
        # transaction): parsing and planning the digest expression cost more than the insert.
        # Needs a pooler that keeps prepared statements (direct connections, PgBouncer ≥ 1.21).
        started = time.monotonic()
        with connection.wrap_database_errors, psycopg.Cursor(cursor.cursor.connection) as prepared:
            prepared.execute(_PG_INSERT, params, prepare=True)
            fields["seq"], fields["digest"] = prepared.fetchone()
        if connection.queries_logged:  # as Django's debug cursor would have (tests count queries)
            connection.queries_log.append({"sql": _PG_INSERT, "time": f"{time.monotonic() - started:.3f}"})


def _insert_sqlite(fields: dict[str, Any], details_text: str) -> None:
    # Inside an IMMEDIATE transaction: the write lock is held, so MAX(seq) + 1 is this row's.
    with connection.cursor() as cursor:
        cursor.execute(_SQLITE_NEXT_SEQ)
        fields["seq"] = cursor.fetchone()[0]
        fields["digest"] = digest_v3(v3_values(fields))
        params = [fields[name] for name in V3_FIELDS]
        params[1] = connection.ops.adapt_datetimefield_value(fields["at"])
        params[13] = details_text
        params.append(fields["digest"])
        cursor.execute(_SQLITE_INSERT, params)


def _insert(fields: dict[str, Any], details_text: str) -> None:
    """Insert the event unsealed; in "inline" mode seal it (and anything pending) at once."""
    how = sequencer.mode()
    if connection.vendor == "sqlite" or how == "inline" or connection.in_atomic_block:
        with transaction.atomic(savepoint=False):
            if connection.vendor == "sqlite":
                _insert_sqlite(fields, details_text)
            else:
                _insert_pg(fields, details_text)
            if how == "inline":
                link = sequencer.seal_locked().get(fields["seq"])
                if link is not None:
                    fields["position"], fields["prev_hash"], fields["hash"], fields["sealed_at"] = link
    else:
        # Outside a transaction the one statement is a transaction of its own (autocommit).
        _insert_pg(fields, details_text)
    if how == "after_commit":
        sequencer.seal_after_commit()


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

    The event is only inserted: no shared lock is taken and nothing else is written, so
    writers never wait for each other. The sequencer links it into the chain later
    (audit/sequencer.py; at once in "inline" mode); until then it is stored, readable and covered
    by its content digest, but has no position, link or hash.
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
        "at": timezone.now(),
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
        "digest": "",
        "position": None,
        "sealed_at": None,
        "prev_hash": None,
        "hash": None,
    }
    details_text = details_json(clean_details)
    _insert(fields, details_text)
    # As if read back from the database: positional, the cheaper way to build a model.
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
        entry = {
            "seq": event.seq,
            "digest": event.digest,
            "action": action,
            "actor": actor,
            "target": target,
            "kwargs": kwargs,
        }
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
        # seq and digest: on SQLite a rolled-back seq is given again, to another event.
        if AuditEvent.objects.filter(seq=entry["seq"], digest=entry["digest"]).exists():
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
    """Seal a batch of what is pending, then sign the head, holding the sequencer's lock, so the head
    signed is exactly where the checkpoint's own audit event will be linked after. Returns None
    when nothing happened since the last checkpoint (the head is that checkpoint, or that
    checkpoint's own event), so a periodic run adds no noise."""
    key = signing.load()
    with transaction.atomic():
        # One batch at most: a checkpoint signs the head as it is, it need not wait for a backlog.
        sequencer.seal_locked()
        with connection.cursor() as cursor:
            head_seq, head_hash = sequencer.lock_head(cursor)
        if head_seq == 0:
            return None
        last = AuditCheckpoint.objects.order_by("-seq").first()
        if last is not None and head_seq == last.seq:
            return None
        if last is not None and head_seq == last.seq + 1:
            newest = AuditEvent.objects.filter(position=head_seq).values_list("action", flat=True).first()
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
            from_seq=getattr(result, "from_seq", 0),
            checkpoint_seq=getattr(result, "checkpoint_seq", None),
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
                "from_seq": run.from_seq,
                "trigger": run.trigger,
            },
        )
    return run
