"""Step-up: the few decisions that need the person to have just proven themselves with their
security key, however long ago they signed in.

Approving a release, granting or approving a clearance, reading someone in, signing an
agreement, exporting the audit trail (or a document's access history) and resetting someone's MFA
(also by deleting their authenticator in the Django admin) each need a WebAuthn verification
within STEP_UP_WINDOW. Without one, the request does nothing: the person is sent
to verify and then back to the page they acted from (a POST is never replayed; they submit the
form again, on a page that shows what they are about to do). The actions are named here by URL
name, in one table, and enforced by `StepUpMiddleware` before any view runs; a new decision
(signing a joint report, once it exists) is one new row.

The demo's ACCORD_PRIVILEGED_TOTP (never in production) lets a fresh TOTP code do instead.
Through the API these actions need a token with the `decide` scope, which is made only in a
session that is fresh by this same rule (`api/tokens.py`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from audit.models import Action, Outcome
from audit.reasons import Reason
from audit.services import record

from .roles import is_webauthn, totp_suffices

STEP_UP_WINDOW = timedelta(minutes=5)  # ACCORD_STEP_UP_SECONDS may only shorten it
# When the session last proved each factor (UTC timestamps), written at every verification.
WEBAUTHN_AT = "accord_webauthn_at"
TOTP_AT = "accord_totp_at"

# The decisions that need a fresh verification: URL name → the method that makes them.
STEP_UP_ACTIONS: dict[str, str] = {
    "sharing:release_approve": "POST",
    "sharing:release_update_approve": "POST",
    "sharing:marking_approve": "POST",
    "accounts:org_clearance_grant": "POST",
    "accounts:org_clearance_approve": "POST",
    "accounts:org_clearance_renew": "POST",
    "accounts:org_readin_grant": "POST",
    "accounts:org_nomination_approve": "POST",
    "sharing:agreement_sign": "POST",
    "exercises:protocol_sign": "POST",
    "audit:export": "GET",
    # A document's access history is the audit trail of that document, exported as CSV.
    "sharing:document_access_export": "GET",
    "accounts:org_mfa_reset": "POST",
    # A secondment's approval grants the host's clearance for it; so does approving its extension.
    "exchanges:approve": "POST",
    "exchanges:extension_approve": "POST",
    # A portal admin deleting a person's authenticator in the Django admin resets their MFA
    # (accounts/admin.py); the changelist takes POSTs only for its bulk delete.
    "admin:otp_totp_totpdevice_delete": "POST",
    "admin:otp_totp_totpdevice_changelist": "POST",
}


def mark_verified(request: HttpRequest, device: Any) -> None:
    """Remember in the session that its person has just proven `device`."""
    key = WEBAUTHN_AT if is_webauthn(device) else TOTP_AT
    request.session[key] = timezone.now().timestamp()


def window() -> timedelta:
    return min(STEP_UP_WINDOW, timedelta(seconds=settings.ACCORD_STEP_UP_SECONDS))


def verified_within(session: Any) -> bool:
    """Was the session verified with a security key within the step-up window (or, in the demo,
    with either factor)? A clock that went backwards counts as not fresh."""
    keys = (WEBAUTHN_AT, TOTP_AT) if totp_suffices() else (WEBAUTHN_AT,)
    now = timezone.now().timestamp()
    for key in keys:
        at = session.get(key)
        if isinstance(at, int | float) and 0 <= now - at <= window().total_seconds():
            return True
    return False


def needs_step_up(request: HttpRequest) -> bool:
    """Does this request make one of STEP_UP_ACTIONS without a fresh verification?"""
    match = request.resolver_match
    if match is None or STEP_UP_ACTIONS.get(match.view_name) != request.method:
        return False
    return request.user.is_authenticated and not verified_within(request.session)


def _return_to(request: HttpRequest) -> str:
    """Where to come back to: the page a form was posted from, or the page asked for."""
    target = request.META.get("HTTP_REFERER", "") if request.method == "POST" else request.get_full_path()
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("home")


class StepUpMiddleware:
    """Sends a request for a step-up action without a fresh verification to verify first."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not needs_step_up(request):
            return None
        record(
            Action.AUTH_STEP_UP_NEEDED,
            actor=request.user,
            target=request.user,
            outcome=Outcome.DENIED,
            details={"reason": Reason.STEP_UP_NEEDED.value, "action": request.resolver_match.view_name},
        )
        messages.info(request, "Confirm it is you with your security key or passkey, then do it again.")
        return redirect(f"{reverse('accounts:step_up')}?{urlencode({'next': _return_to(request)})}")
