"""The person's sessions page: every browser signed in as them and every API token they hold,
each of which they can end here.

It lives with the API because it lists tokens as well as sessions (accounts knows nothing of
tokens); ending a token is the tokens page's own revoke.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.models import SignedInSession
from accounts.sessions import SESSION_RECORD, active_sessions, device_of, session_end
from audit.models import Action
from audit.reasons import Reason
from audit.services import refuse

from ..tokens import live_tokens_of


@require_GET
@login_required
@never_cache
def sessions(request: HttpRequest) -> HttpResponse:
    current = request.session.get(SESSION_RECORD)
    rows = [(s, device_of(s.user_agent), str(s.code) == current) for s in active_sessions(request.user)]
    context = {"sessions": rows, "tokens": live_tokens_of(request.user), "now": timezone.now()}
    return render(request, "api/sessions.html", context)


@require_POST
@login_required
def session_end_view(request: HttpRequest, code) -> HttpResponse:
    session = SignedInSession.objects.filter(code=code, user=request.user, ended_at__isnull=True).first()
    if session is None:
        target = ("accounts.signedinsession", str(code), "")
        refuse(request.user, Action.AUTH_SESSION_ENDED, target, Reason.NOT_THEIR_OWN, error=Http404("No such session."))
    session_end(actor=request.user, session=session)
    if str(session.code) == request.session.get(SESSION_RECORD):
        logout(request)
        return redirect("accounts:login")
    messages.success(request, f"Signed out the session from {device_of(session.user_agent)}.")
    return redirect("api:sessions")
