"""Who is acting, from where: the request context every audit event picks up.

Kept in a context variable so that services deep in a call stack record the request id, IP and
user agent of the request (or task) that caused them, without passing the request around.

Scopes are opened by the request middleware, around every Celery task (signal handlers in
`audit.apps`), and by `audit_scope()` for anything else. Code running outside any scope (a
shell, a script) still gets a context: one per thread, kept for the thread's life, so that a
denial remembered there is not dropped with a throwaway object.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection


@dataclass
class AuditContext:
    request_id: str = ""
    ip: str | None = None
    user_agent: str = ""
    # Denials raised inside a transaction that then rolls back must still be written: they wait
    # here and are flushed outside the transaction when the scope ends.
    pending_denials: list = field(default_factory=list)


_current: contextvars.ContextVar[AuditContext | None] = contextvars.ContextVar("audit_context", default=None)
_fallback = threading.local()


def current() -> AuditContext:
    ctx = _current.get()
    if ctx is not None:
        return ctx
    ctx = getattr(_fallback, "ctx", None)
    if ctx is None:
        ctx = _fallback.ctx = AuditContext()
    return ctx


def reset_fallback() -> None:
    """Forget this thread's out-of-scope context. For test isolation: a test's transaction is
    rolled back on purpose, and its denials must not be "rescued" into the next test."""
    _fallback.ctx = None


def active() -> bool:
    return _current.get() is not None


def activate(ctx: AuditContext) -> contextvars.Token:
    return _current.set(ctx)


def deactivate(token: contextvars.Token) -> None:
    _current.reset(token)


def close(ctx: AuditContext) -> list | None:
    """End a scope: write its rolled-back denials, or, when a transaction is still open around
    it (an eager task run inside a request), hand them to the enclosing context instead."""
    # audit.services imports this module to read the current context.
    from .services import flush_pending_denials

    if not ctx.pending_denials:
        return None
    if connection.in_atomic_block:
        parent_pending = ctx.pending_denials
        ctx.pending_denials = []
        return parent_pending
    flush_pending_denials(ctx)
    return None


@contextmanager
def audit_scope(*, request_id: str = "", ip: str | None = None, user_agent: str = "") -> Iterator[AuditContext]:
    """Run a block as one audited unit of work (a command, a script step)."""
    ctx = AuditContext(request_id=request_id, ip=ip, user_agent=user_agent)
    token = activate(ctx)
    try:
        yield ctx
    finally:
        leftover = close(ctx)
        deactivate(token)
        if leftover:
            current().pending_denials.extend(leftover)
