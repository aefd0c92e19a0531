"""Session limits, mandatory MFA and no caching of what a signed-in person is shown, enforced on
every request."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django_otp import devices_for_user

from audit.models import Action
from audit.services import record

from .roles import remembered_roles
from .sessions import session_followed, session_seen

SESSION_STARTED = "accord_started"
SESSION_SEEN = "accord_seen"
# Refreshing the idle clock writes the session; once a minute is precise enough for 15 minutes.
SEEN_RESOLUTION_SECONDS = 60


class SessionLimitsMiddleware:
    """Ends a session after SESSION_IDLE_TIMEOUT without a request or SESSION_ABSOLUTE_TIMEOUT
    after sign-in, whichever comes first."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith(RequireMFAMiddleware.BEARER_ONLY_PREFIXES):
            return self.get_response(request)  # the API ignores sessions (bearer tokens only)
        if request.user.is_authenticated:
            now = timezone.now()
            started = request.session.get(SESSION_STARTED)
            seen = request.session.get(SESSION_SEEN)
            if started is None:
                request.session[SESSION_STARTED] = request.session[SESSION_SEEN] = now.timestamp()
            else:
                idle = now - datetime.fromtimestamp(seen or started, tz=UTC)
                age = now - datetime.fromtimestamp(started, tz=UTC)
                if idle > settings.SESSION_IDLE_TIMEOUT or age > settings.SESSION_ABSOLUTE_TIMEOUT:
                    user = request.user
                    logout(request)
                    record(
                        Action.AUTH_SESSION_EXPIRED, actor=user, details={"idle": idle > settings.SESSION_IDLE_TIMEOUT}
                    )
                    messages.info(request, "Your session has ended. Please sign in again.")
                    return redirect(f"{reverse(settings.LOGIN_URL)}?next={request.path}")
                if idle.total_seconds() > SEEN_RESOLUTION_SECONDS:
                    request.session[SESSION_SEEN] = now.timestamp()
                    session_seen(request)
        response = self.get_response(request)
        if request.user.is_authenticated:
            session_followed(request)  # a key cycled by this response (the second factor proven)
        return response


class RequireMFAMiddleware:
    """Every signed-in user must be verified with TOTP or a security key before reaching anything but the MFA
    pages themselves, sign-out and static files."""

    ALLOWED_URL_NAMES = {
        "accounts:mfa_verify",
        "accounts:mfa_enrol",
        "accounts:logout",
        # A security key as the second factor: the ceremony the MFA page starts.
        "otp_webauthn:credential-authentication-begin",
        "otp_webauthn:credential-authentication-complete",
        "otp_webauthn:js-i18n-catalog",
    }
    # The REST API and its schema authenticate by bearer token only and ignore the session, so a
    # half-signed-in browser session must not turn their JSON answers into redirects.
    BEARER_ONLY_PREFIXES = ("/api/v1/", "/api/schema/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if request.path_info.startswith(self.BEARER_ONLY_PREFIXES):
            return self.get_response(request)
        if user.is_authenticated and not user.is_verified():
            match = request.resolver_match or _resolve(request.path_info)
            name = (
                f"{match.namespace}:{match.url_name}"
                if match and match.namespace
                else (match.url_name if match else None)
            )
            if name not in self.ALLOWED_URL_NAMES and not request.path_info.startswith(settings.STATIC_URL):
                has_device = any(True for _ in devices_for_user(user, confirmed=True))
                target = "accounts:mfa_verify" if has_device else "accounts:mfa_enrol"
                return redirect(f"{reverse(target)}?next={request.get_full_path()}")
        return self.get_response(request)


def _resolve(path: str):
    try:
        return resolve(path)
    except Resolver404:
        return None


View = TypeVar("View", bound=Callable)
API_PREFIX = "/api/"


def carries_no_marking(view: View) -> View:
    """Lets NoStoreMiddleware leave a view's own caching alone: only for a response that never
    holds a document's content (a stylesheet of tier colours), whoever asks."""
    view.carries_no_marking = True  # type: ignore[attr-defined]
    return view


class NoStoreMiddleware:
    """`Cache-Control: no-store` and `Pragma: no-cache` on every response to a signed-in person and
    every API response, so no browser, proxy or back button keeps marked content.

    Pages, lists, search, results, charts, the audit trail and its exports, downloads: anything a
    signed-in person sees may carry a marking, so the rule is by audience, not by page, and a new
    view is covered without doing anything. A `no-store` a view set itself (`never_cache` on
    downloads) is kept as it is. Static files never get here (whitenoise answers them first);
    a view marked `carries_no_marking` keeps its own caching.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if self._may_carry_marking(request):
            if "no-store" not in response.get("Cache-Control", ""):
                response["Cache-Control"] = "no-store"
            response["Pragma"] = "no-cache"
        return response

    @staticmethod
    def _may_carry_marking(request) -> bool:
        match = request.resolver_match
        if match is not None and getattr(match.func, "carries_no_marking", False):
            return False
        # Under /api/ the user is whoever the view's token authentication found (DRF replaces
        # the session's), so the prefix decides there, for a 401 as much as for a token's 200.
        if request.path_info.startswith(API_PREFIX):
            return True
        user = getattr(request, "user", None)
        return bool(user is not None and user.is_authenticated)


class RoleMemoMiddleware:
    """Each role question is answered once per request (`accounts.roles.has_role`)."""

    def __init__(self, get_response: Callable):
        self.get_response = get_response

    def __call__(self, request):
        with remembered_roles():
            return self.get_response(request)
