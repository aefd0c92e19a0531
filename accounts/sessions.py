"""Each person's signed-in sessions: recorded at sign-in, kept in step with the session's key,
listed on their sessions page, and ended there (or by their organisation's admin).

A session is recorded when Django signs someone in (`user_logged_in`), so its cost is paid once,
not per request: the record learns the session's new key when the second factor is proven (the
response that cycles it), and its last-seen time with the idle clock's once-a-minute write.
Ending a session deletes it from the session store, which is what signs it out; a credential
reset (`credentials_end`) ends every record of the person, its epoch having already signed the
sessions themselves out.
"""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from audit.middleware import client_ip
from audit.models import Action
from audit.reasons import Reason
from audit.services import record, refuse

from .access import is_org_admin
from .models import SignedInSession, User
from .roles import is_portal_admin

# The session's own pointer to its record.
SESSION_RECORD = "accord_session_record"
SESSION_KEY_SEEN = "accord_session_key"


def _store():
    return import_module(settings.SESSION_ENGINE).SessionStore


def session_opened(request, user: User) -> None:
    """Record the session `request` has just signed `user` into."""
    if not hasattr(request, "session") or request.session.session_key is None:
        return
    row = SignedInSession.objects.create(
        user=user,
        session_key=request.session.session_key,
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        ip=client_ip(request),
    )
    request.session[SESSION_RECORD] = str(row.code)
    request.session[SESSION_KEY_SEEN] = row.session_key


def session_followed(request) -> None:
    """After a response: keep the record's key in step with a session whose key just changed."""
    code = request.session.get(SESSION_RECORD)
    key = request.session.session_key
    if code and key and request.session.get(SESSION_KEY_SEEN) != key:
        SignedInSession.objects.filter(code=code, ended_at__isnull=True).update(session_key=key)
        request.session[SESSION_KEY_SEEN] = key


def session_seen(request) -> None:
    """The idle clock moved (at most once a minute): so does the record's last-seen time."""
    code = request.session.get(SESSION_RECORD)
    if code:
        SignedInSession.objects.filter(code=code).update(last_seen_at=timezone.now())


def session_closed(request, user: User | None) -> None:
    """The person signed out (or their session expired): the record is ended."""
    code = getattr(request, "session", {}).get(SESSION_RECORD) if request is not None else None
    if code:
        SignedInSession.objects.filter(code=code, ended_at__isnull=True).update(ended_at=timezone.now(), ended_by=user)


def active_sessions(user: User):
    """The person's sessions that are still open: not ended, seen within the idle timeout and
    started within the absolute one. Newest first."""
    now = timezone.now()
    return SignedInSession.objects.filter(
        user=user,
        ended_at__isnull=True,
        last_seen_at__gt=now - settings.SESSION_IDLE_TIMEOUT,
        created_at__gt=now - settings.SESSION_ABSOLUTE_TIMEOUT,
    ).order_by("-last_seen_at")


def may_end(actor: User, user: User) -> bool:
    """A person ends their own sessions; an admin of their organisation or a portal admin, theirs."""
    return actor.pk == user.pk or is_portal_admin(actor) or is_org_admin(actor, user.organisation)


def session_end(*, actor: User, session: SignedInSession) -> None:
    """End one session now: it is signed out on its next request. Audited."""
    if not may_end(actor, session.user):
        refuse(actor, Action.AUTH_SESSION_ENDED, session.user, Reason.NOT_THEIR_OWN, error=PermissionDenied)
    with transaction.atomic():
        _end(actor, [session])
        record(
            Action.AUTH_SESSION_ENDED,
            actor=actor,
            target=session.user,
            details={"session": str(session.code), "ip": session.ip},
        )


def sessions_end_all(*, actor: User, user: User) -> int:
    """End every open session of `user` (an admin's "sign them out everywhere"). Audited."""
    if not may_end(actor, user):
        refuse(actor, Action.AUTH_SESSION_ENDED, user, Reason.NOT_THEIR_OWN, error=PermissionDenied)
    with transaction.atomic():
        sessions = list(SignedInSession.objects.select_for_update().filter(user=user, ended_at__isnull=True))
        _end(actor, sessions)
        record(Action.AUTH_SESSION_ENDED, actor=actor, target=user, details={"all": True, "sessions": len(sessions)})
    return len(sessions)


def _end(actor: User | None, sessions: list[SignedInSession]) -> None:
    store = _store()
    now = timezone.now()
    for session in sessions:
        store(session_key=session.session_key).delete()
    SignedInSession.objects.filter(pk__in=[s.pk for s in sessions]).update(ended_at=now, ended_by=actor)


def on_credentials_revoked(sender, *, user: User, actor: User | None, reason: str, **kwargs) -> int:
    """A credential reset signs every session out (the epoch); their records say so too."""
    SignedInSession.objects.filter(user=user, ended_at__isnull=True).update(ended_at=timezone.now(), ended_by=actor)
    return 0


_BROWSERS = (("Edg/", "Edge"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"), ("Windows", "Windows"))
_SYSTEMS += (("Mac OS X", "macOS"), ("Linux", "Linux"))


def device_of(user_agent: str) -> str:
    """ "Firefox on Windows": enough for a person to recognise their own browser, no more."""
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), "")
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown browser"
