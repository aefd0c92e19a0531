"""Who is acting, from where: the request context every audit event picks up.

Kept in a context variable so that services deep in a call stack record the request id, IP and
user agent of the request (or task) that caused them, without passing the request around.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field


@dataclass
class AuditContext:
    request_id: str = ""
    ip: str | None = None
    user_agent: str = ""
    # Denials raised inside a transaction that then rolls back must still be written: they wait
    # here and are flushed outside the transaction when the request ends.
    pending_denials: list = field(default_factory=list)


_current: contextvars.ContextVar[AuditContext | None] = contextvars.ContextVar("audit_context", default=None)


def current() -> AuditContext:
    ctx = _current.get()
    return ctx if ctx is not None else AuditContext()


def activate(ctx: AuditContext) -> contextvars.Token:
    return _current.set(ctx)


def deactivate(token: contextvars.Token) -> None:
    _current.reset(token)
