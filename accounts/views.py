"""Sign-in, MFA enrolment and verification."""

from __future__ import annotations

import base64

import segno
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import Action, Outcome
from audit.services import record

from . import services, stepup
from .forms import AccordPasswordResetForm, EmailAuthenticationForm, TokenForm


class LoginView(auth_views.LoginView):
    form_class = EmailAuthenticationForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("home")

    def form_valid(self, form):
        # Every other session and every API token ends with the old password; this session
        # goes on, as Django's own view keeps it, under the new hash.
        services.password_set(
            actor=self.request.user, user=form.user, password=form.cleaned_data["new_password1"], via="change"
        )
        update_session_auth_hash(self.request, form.user)
        messages.success(self.request, "Your password has been changed. You are signed out everywhere else.")
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetView(auth_views.PasswordResetView):
    """Always answers the same, whether or not the address has an account."""

    form_class = AccordPasswordResetForm
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form):
        email = form.cleaned_data["email"]
        users = list(form.get_users(email))
        target = users[0] if users else ("accounts.user", "", email[:150])
        record(Action.AUTH_PASSWORD_RESET_REQUESTED, target=target, details={"known": bool(users)})
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Sets a new password and nothing more: the person is not signed in, so the next sign-in
    still asks for their authenticator code (a reset link must not stand in for the second factor)."""

    template_name = "accounts/password_reset_confirm.html"
    post_reset_login = False
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        # Every session and API token of the person ends; none is signed in by the reset.
        services.password_set(actor=form.user, user=form.user, password=form.cleaned_data["new_password1"], via="reset")
        del self.request.session[auth_views.INTERNAL_RESET_SESSION_TOKEN]
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


def next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/"
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return "/"


def matching_device(devices: list[TOTPDevice], token: str) -> TOTPDevice | None:
    """The device (not throttled) whose code `token` is, spent by this check; None otherwise."""
    for device in devices:
        allowed, _ = device.verify_is_allowed()
        if allowed and device.verify_token(token):
            return device
    return None


def _complete_mfa(request: HttpRequest, device: TOTPDevice) -> None:
    otp_login(request, device)
    # A new session id once the second factor is proven: a session id seen before MFA is
    # worth nothing after it.
    request.session.cycle_key()
    stepup.mark_verified(request, device)


@sensitive_post_parameters()
@csrf_protect
@never_cache
@login_required
def mfa_verify(request: HttpRequest) -> HttpResponse:
    devices = [d for d in devices_for_user(request.user, confirmed=True) if isinstance(d, TOTPDevice)]
    has_key = services.has_security_key(request.user)
    if not devices and not has_key:
        return redirect("accounts:mfa_enrol")
    if request.user.is_verified():
        return redirect(next_url(request))
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = matching_device(devices, form.cleaned_data["token"])
        if device is not None:
            _complete_mfa(request, device)
            record(Action.AUTH_MFA_VERIFIED, actor=request.user, target=request.user)
            return redirect(next_url(request))
        record(Action.AUTH_MFA_FAILED, actor=request.user, target=request.user, outcome=Outcome.DENIED)
        form.add_error("token", "That code is not valid. Codes work once and change every 30 seconds.")
    context = {"form": form if devices else None, "has_key": has_key, "next": next_url(request)}
    return render(request, "accounts/mfa_verify.html", context)


# The enrolment secret lives in the session that showed it, and only there: every enrolment
# page shown makes a new one and forgets the last; a wrong code re-shows the same one (the person
# has scanned it); confirming it takes this session. Another session never sees it.
ENROLMENT_SESSION_KEY = "accord_mfa_enrolment"


def _held_secret(request: HttpRequest) -> str | None:
    held = request.session.get(ENROLMENT_SESSION_KEY)
    if isinstance(held, dict) and held.get("user") == request.user.pk:
        return held.get("secret")
    return None


def _fresh_secret(request: HttpRequest) -> str:
    secret = services.new_enrolment_secret()
    request.session[ENROLMENT_SESSION_KEY] = {"user": request.user.pk, "secret": secret}
    return secret


@sensitive_post_parameters()
@csrf_protect
@never_cache
@login_required
def mfa_enrol(request: HttpRequest) -> HttpResponse:
    if any(True for _ in devices_for_user(request.user, confirmed=True)):
        return redirect("accounts:mfa_verify")
    form = TokenForm(request.POST or None)
    secret = _held_secret(request) if request.method == "POST" else _fresh_secret(request)
    if request.method == "POST" and form.is_valid():
        device = services.mfa_enrol_confirm(user=request.user, secret=secret, token=form.cleaned_data["token"])
        if device is not None:
            request.session.pop(ENROLMENT_SESSION_KEY, None)
            _complete_mfa(request, device)
            messages.success(request, "Your authenticator app is set up.")
            return redirect(next_url(request))
        if any(True for _ in devices_for_user(request.user, confirmed=True)):
            return redirect("accounts:mfa_verify")
        if secret is not None:
            form.add_error("token", "That code is not valid. Check the time on your device and try again.")
    if secret is None:
        # A confirmation with no secret of this session's own: show a new one to scan.
        secret = _fresh_secret(request)
        form.add_error(None, "This set-up page has expired. Scan the new code and enter the code it shows.")
    device = services.enrolment_device(request.user, secret)
    qr = segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2)
    context = {"form": form, "qr": qr, "secret": _base32(device.bin_key), "next": next_url(request)}
    return render(request, "accounts/mfa_enrol.html", context)


def _base32(key: bytes) -> str:
    return base64.b32encode(key).decode().rstrip("=")
