"""The WebAuthn ceremonies: django-otp-webauthn's JSON views, with Accord's audit, session and
step-up bookkeeping around them.

- registration (from the security page, in a session already past MFA): the new key is named
  and the enrolment audited;
- authentication, either as the whole sign-in (a passkey on the sign-in page), as the second
  factor after a password, or as a step-up: the session is marked verified with the key
  (`django_otp.login`), given a new id when it is a sign-in, stamped for step-up, and audited.
  A refused ceremony is audited too.
"""

from __future__ import annotations

import json

from django.urls import path
from django.views.i18n import JavaScriptCatalog
from django_otp_webauthn import exceptions
from django_otp_webauthn import views as otp_views
from django_otp_webauthn.models import WebAuthnCredential

from audit.models import Action, Outcome
from audit.services import record

from . import services, stepup


def _refused(request, exc: Exception, stage: str) -> None:
    user = request.user if request.user.is_authenticated else None
    code = getattr(exc, "code", type(exc).__name__)
    target = user if user is not None else ("accounts.user", "", "")
    details = {"method": "webauthn", "stage": stage, "reason": str(code)}
    record(Action.AUTH_MFA_FAILED, actor=user, target=target, outcome=Outcome.DENIED, details=details)


class BeginRegistration(otp_views.BeginCredentialRegistrationView):
    pass


class CompleteRegistration(otp_views.CompleteCredentialRegistrationView):
    def handle_exception(self, exc):
        if isinstance(exc, exceptions.OTPWebAuthnApiError):
            _refused(self.request, exc, "enrolment")
        return super().handle_exception(exc)

    def post(self, *args, **kwargs):
        response = super().post(*args, **kwargs)
        if response.status_code == 200:
            key = WebAuthnCredential.objects.get(pk=json.loads(response.content)["id"], user=self.request.user)
            services.security_key_enrolled(user=self.request.user, key=key)
        return response


class BeginAuthentication(otp_views.BeginCredentialAuthenticationView):
    pass


class CompleteAuthentication(otp_views.CompleteCredentialAuthenticationView):
    def handle_exception(self, exc):
        if isinstance(exc, exceptions.OTPWebAuthnApiError):
            _refused(self.request, exc, "verification")
        return super().handle_exception(exc)

    def complete_auth(self, device):
        signing_in = not self.request.user.is_authenticated
        super().complete_auth(device)
        # A session id seen before the key was proven is worth nothing after it.
        self.request.session.cycle_key()
        stepup.mark_verified(self.request, device)
        details = {"method": "webauthn", "key": device.name, "sign_in": signing_in}
        record(Action.AUTH_MFA_VERIFIED, actor=device.user, target=device.user, details=details)

    def get_success_data(self, device) -> dict:
        return {"id": device.pk, "redirect_url": self.get_success_url()}


# Under the namespace the library's template tags reverse ("otp_webauthn").
urlpatterns = [
    path("registration/begin/", BeginRegistration.as_view(), name="credential-registration-begin"),
    path("registration/complete/", CompleteRegistration.as_view(), name="credential-registration-complete"),
    path("authentication/begin/", BeginAuthentication.as_view(), name="credential-authentication-begin"),
    path("authentication/complete/", CompleteAuthentication.as_view(), name="credential-authentication-complete"),
    path("jsi18n/", JavaScriptCatalog.as_view(packages=["django_otp_webauthn"]), name="js-i18n-catalog"),
]
