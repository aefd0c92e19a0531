"""The person's security page (their authenticator app, security keys and passkeys) and the
step-up page that asks for a key again before a decision."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import devices_for_user
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from audit.models import Action, Outcome
from audit.reasons import Reason
from audit.services import record, refuse

from . import services, stepup
from .forms import KeyNameForm, TokenForm
from .roles import is_webauthn, needs_security_key, totp_suffices
from .views import matching_device, next_url


@require_GET
@never_cache
@login_required
def security(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {
        "keys": services.keys_of(user),
        "has_app": TOTPDevice.objects.filter(user=user, confirmed=True).exists(),
        "needs_key": needs_security_key(user),
        "verified_with_key": is_webauthn(getattr(user, "otp_device", None)),
        "totp_suffices": totp_suffices(),
        "rename_form": KeyNameForm(),
    }
    return render(request, "accounts/security.html", context)


def _own_key(request: HttpRequest, key_id: str, action: Action) -> WebAuthnCredential:
    key = WebAuthnCredential.objects.filter(credential_id_sha256=key_id, user=request.user).first()
    if key is None:
        target = ("django_otp_webauthn.webauthncredential", key_id[:64], "")
        refuse(request.user, action, target, Reason.NOT_THEIR_OWN, error=Http404("No such key."))
    return key


@require_POST
@login_required
def key_rename(request: HttpRequest, key_id: str) -> HttpResponse:
    key = _own_key(request, key_id, Action.AUTH_KEY_RENAMED)
    form = KeyNameForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(form.errors["name"])
        services.security_key_rename(actor=request.user, key=key, name=form.cleaned_data["name"])
    except ValidationError as exc:
        record(Action.AUTH_KEY_RENAMED, actor=request.user, target=request.user, outcome=Outcome.ERROR)
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Renamed to “{key.name}”.")
    return redirect("accounts:security")


@require_POST
@login_required
def key_remove(request: HttpRequest, key_id: str) -> HttpResponse:
    key = _own_key(request, key_id, Action.AUTH_KEY_REMOVED)
    services.security_key_remove(actor=request.user, key=key)
    messages.success(request, f"“{key.name}” is removed: it signs nobody in from now on.")
    return redirect("accounts:security")


@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
@never_cache
@login_required
def step_up(request: HttpRequest) -> HttpResponse:
    """Ask for the security key again (in the demo, an authenticator code will do), then go back."""
    user = request.user
    has_key = services.has_security_key(user)
    totp = [d for d in devices_for_user(user, confirmed=True) if isinstance(d, TOTPDevice)]
    form = TokenForm(request.POST or None) if totp_suffices() and totp else None
    if request.method == "POST" and form is not None and form.is_valid():
        device = matching_device(totp, form.cleaned_data["token"])
        if device is not None:
            stepup.mark_verified(request, device)
            record(Action.AUTH_MFA_VERIFIED, actor=user, target=user, details={"method": "totp", "step_up": True})
            return redirect(next_url(request))
        record(Action.AUTH_MFA_FAILED, actor=user, target=user, outcome=Outcome.DENIED, details={"step_up": True})
        form.add_error("token", "That code is not valid. Codes work once and change every 30 seconds.")
    context = {"has_key": has_key, "form": form, "next": next_url(request), "roles_need_key": needs_security_key(user)}
    return render(request, "accounts/step_up.html", context, status=400 if form is not None and form.errors else 200)
