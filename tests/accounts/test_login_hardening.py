from __future__ import annotations

import base64
import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core import mail
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.middleware import SESSION_SEEN, SESSION_STARTED
from audit.models import Action, AuditEvent, Outcome
from tests.factories import PASSWORD, PersonFactory, login_verified, totp_device

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/login/"


def _code(device, offset: int = 0) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=offset):06d}"


def _shown_device(body: str) -> TOTPDevice:
    """The authenticator a person would set up from the enrolment page's typed-in key."""
    shown = re.search(r'class="accord-secret">([A-Z2-7]+)<', body).group(1)
    key = base64.b32decode(shown + "=" * (-len(shown) % 8))
    return TOTPDevice(key=key.hex())


def _sign_in(client, user, password=PASSWORD, **extra):
    return client.post(LOGIN, {"username": user.email, "password": password}, **extra)


def _fail(client, email, times, **extra):
    for _ in range(times):
        client.post(LOGIN, {"username": email, "password": "wrong password"}, **extra)


# Sign-in and its audit trail


def test_sign_in_rotates_the_session_id_and_is_audited(client, alice):
    totp_device(alice)
    session = client.session
    session["probe"] = 1
    session.save()
    before = session.session_key
    assert _sign_in(client, alice).status_code == 302
    assert client.session.session_key != before
    event = AuditEvent.objects.get(action=Action.AUTH_LOGIN)
    assert event.actor_id == alice.pk


def test_sign_out_is_audited_and_ends_the_session(client, alice):
    login_verified(client, alice)
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert AuditEvent.objects.filter(action=Action.AUTH_LOGOUT, actor_id=alice.pk).exists()
    assert client.get("/").status_code == 302


def test_email_is_matched_whatever_its_case(client, alice):
    totp_device(alice)
    response = client.post(LOGIN, {"username": "ALICE@UKASI.example", "password": PASSWORD})
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"username": "nobody@nowhere.example", "password": "whatever"}, "correct email address and password"),
        ({"username": "not an email", "password": "x"}, "Enter a valid email address"),
        ({"username": "", "password": ""}, "This field is required"),
    ],
)
def test_unknown_user_and_malformed_forms_get_a_clear_message(client, data, message):
    response = client.post(LOGIN, data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_unknown_user_failure_is_audited_without_the_password(client):
    client.post(LOGIN, {"username": "nobody@nowhere.example", "password": "hunter2-secret"})
    event = AuditEvent.objects.get(action=Action.AUTH_LOGIN_FAILED)
    assert event.outcome == Outcome.DENIED
    assert event.details == {"username": "nobody@nowhere.example"}
    assert "hunter2" not in str(AuditEvent.objects.values_list())


def test_wrong_totp_is_refused_and_audited(client, alice):
    totp_device(alice)
    _sign_in(client, alice)
    response = client.post(
        reverse("accounts:mfa_verify"),
        {"token": "000000" if _code(alice.totpdevice_set.get()) != "000000" else "111111"},
    )
    assert response.status_code == 200
    assert "not valid" in response.content.decode()
    assert AuditEvent.objects.filter(action=Action.AUTH_MFA_FAILED, actor_id=alice.pk, outcome=Outcome.DENIED).exists()
    response = client.post(reverse("accounts:mfa_verify"), {"token": "12ab"})
    assert "Enter the six-digit code" in response.content.decode()
    assert client.get("/").status_code == 302


def test_first_sign_in_without_a_device_goes_to_enrolment_with_a_qr_code(client, alice):
    _sign_in(client, alice)
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("accounts:mfa_enrol"))
    body = response.content.decode()
    assert "data:image/svg+xml" in body
    # The secret exists only on the page and in this session: nothing unconfirmed is stored.
    assert not alice.totpdevice_set.exists()
    device = _shown_device(body)
    assert client.post(reverse("accounts:mfa_enrol"), {"token": _code(device)}).status_code == 302
    assert client.get("/").status_code == 200
    assert AuditEvent.objects.filter(action=Action.AUTH_MFA_ENROLLED, actor_id=alice.pk).exists()


# Lockout (django-axes): per (account, address), with a cool-off


def test_repeated_failures_lock_the_account_from_that_address(client, alice, settings):
    totp_device(alice)
    _fail(client, alice.email, settings.AXES_FAILURE_LIMIT)
    response = _sign_in(client, alice)
    assert response.status_code == 429
    assert "Too many failed attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action=Action.AUTH_LOCKOUT, outcome=Outcome.DENIED).exists()


def test_lockout_is_per_account_and_address(client, alice, settings):
    other = PersonFactory(email="other@ukasi.example", organisation=alice.organisation)
    _fail(client, alice.email, settings.AXES_FAILURE_LIMIT, REMOTE_ADDR="10.0.0.1")
    assert _sign_in(client, alice, REMOTE_ADDR="10.0.0.1").status_code == 429
    assert _sign_in(client, alice, REMOTE_ADDR="10.0.0.2").status_code == 302  # same account, other address
    client.post(reverse("accounts:logout"))
    assert _sign_in(client, other, REMOTE_ADDR="10.0.0.1").status_code == 302  # same address, other account


def test_changing_the_case_of_the_email_does_not_dodge_the_lockout(client, alice, settings):
    _fail(client, alice.email.upper(), settings.AXES_FAILURE_LIMIT)
    assert _sign_in(client, alice).status_code == 429


def test_lockout_ends_after_the_cool_off(client, alice, settings):
    totp_device(alice)
    _fail(client, alice.email, settings.AXES_FAILURE_LIMIT)
    assert _sign_in(client, alice).status_code == 429
    past = timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    AccessAttempt.objects.update(attempt_time=past)
    assert _sign_in(client, alice).status_code == 302


@override_settings(ACCORD_TRUSTED_PROXIES=1)
def test_behind_one_proxy_the_lockout_follows_the_client_not_the_proxy(client, alice, settings):
    proxy = {"REMOTE_ADDR": "10.9.9.9"}
    _fail(client, alice.email, settings.AXES_FAILURE_LIMIT, HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy)
    assert AccessAttempt.objects.get().ip_address == "203.0.113.7"
    # A client cannot escape by forging an earlier X-Forwarded-For entry: the proxy appends the
    # real address last, and that is the one counted.
    forged = "198.51.100.1, 203.0.113.7"
    assert _sign_in(client, alice, HTTP_X_FORWARDED_FOR=forged, **proxy).status_code == 429
    # Another client behind the same proxy is not locked out.
    assert _sign_in(client, alice, HTTP_X_FORWARDED_FOR="203.0.113.8", **proxy).status_code == 302


def test_without_a_trusted_proxy_forwarded_headers_are_ignored(client, alice, settings):
    _fail(client, alice.email, settings.AXES_FAILURE_LIMIT, HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert AccessAttempt.objects.get().ip_address == "127.0.0.1"
    assert _sign_in(client, alice, HTTP_X_FORWARDED_FOR="198.51.100.9").status_code == 429


# Session limits


def _age_session(client, *, idle: timedelta, age: timedelta):
    now = timezone.now()
    session = client.session
    session[SESSION_STARTED] = (now - age).timestamp()
    session[SESSION_SEEN] = (now - idle).timestamp()
    session.save()


@pytest.mark.parametrize(
    ("idle", "age", "still_in"),
    [
        (timedelta(minutes=14), timedelta(hours=1), True),
        (timedelta(minutes=15, seconds=1), timedelta(hours=1), False),
        (timedelta(minutes=1), timedelta(hours=11, minutes=59), True),
        (timedelta(minutes=1), timedelta(hours=12, seconds=1), False),
    ],
)
def test_session_ends_after_15_idle_minutes_or_12_hours(client, alice, idle, age, still_in):
    login_verified(client, alice)
    client.get("/")
    _age_session(client, idle=idle, age=age)
    response = client.get("/")
    assert (response.status_code == 200) is still_in
    if not still_in:
        assert response["Location"].startswith(reverse("accounts:login"))
        assert AuditEvent.objects.filter(action=Action.AUTH_SESSION_EXPIRED, actor_id=alice.pk).exists()
        assert client.get("/").status_code == 302


# Password change and reset


def test_password_change_is_audited_and_keeps_the_session(client, alice):
    login_verified(client, alice)
    url = reverse("accounts:password_change")
    new = "a much better passphrase 42"
    response = client.post(url, {"old_password": "wrong", "new_password1": new, "new_password2": new})
    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    response = client.post(url, {"old_password": PASSWORD, "new_password1": new, "new_password2": new})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action=Action.AUTH_PASSWORD_CHANGED, actor_id=alice.pk).get().details == {
        "via": "change"
    }
    assert client.get("/").status_code == 200


def test_password_change_needs_mfa_first(client, alice):
    totp_device(alice)
    _sign_in(client, alice)
    response = client.get(reverse("accounts:password_change"))
    assert response["Location"].startswith(reverse("accounts:mfa_verify"))


def _reset_link(client, email) -> str:
    client.post(reverse("accounts:password_reset"), {"email": email})
    assert len(mail.outbox) == 1
    return re.search(r"https?://[^/]+(/accounts/password/reset/\S+)", mail.outbox[0].body).group(1)


def test_password_reset_sets_a_password_but_never_bypasses_mfa(client, alice):
    device = totp_device(alice)
    link = _reset_link(client, alice.email)
    assert AuditEvent.objects.filter(action=Action.AUTH_PASSWORD_RESET_REQUESTED, target_id=str(alice.code)).exists()
    response = client.get(link, follow=True)
    new = "a fresh passphrase for alice"
    response = client.post(response.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action=Action.AUTH_PASSWORD_CHANGED, actor_id=alice.pk).get().details == {
        "via": "reset"
    }
    # Not signed in by the reset, and the new password alone still stops at the TOTP page.
    assert client.get("/").status_code == 302
    assert _sign_in(client, alice, password=new).status_code == 302
    assert client.get("/")["Location"].startswith(reverse("accounts:mfa_verify"))
    client.post(reverse("accounts:mfa_verify"), {"token": _code(device)})
    assert client.get("/").status_code == 200


def test_password_reset_link_works_once(client, alice):
    link = _reset_link(client, alice.email)
    target = client.get(link, follow=True).redirect_chain[-1][0]
    new = "a fresh passphrase for alice"
    client.post(target, {"new_password1": new, "new_password2": new})
    response = client.get(link, follow=True)
    assert "This link does not work" in response.content.decode()


def test_password_reset_says_the_same_for_unknown_addresses(client, db):
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@nowhere.example"})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password_reset_done")
    assert mail.outbox == []
    assert AuditEvent.objects.get(action=Action.AUTH_PASSWORD_RESET_REQUESTED).details == {"known": False}


def test_password_reset_sends_nothing_to_a_deactivated_account(client, alice):
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    client.post(reverse("accounts:password_reset"), {"email": alice.email})
    assert mail.outbox == []


# Django admin: portal admins only, and only after TOTP


def test_django_admin_needs_staff_and_a_verified_second_factor(client, alice):
    admin = PersonFactory(email="admin@accord.example", organisation=None, is_staff=True, is_superuser=True)
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith(LOGIN)
    totp_device(admin)
    _sign_in(client, admin)
    assert client.get("/admin/")["Location"].startswith(reverse("accounts:mfa_verify"))
    client.post(reverse("accounts:logout"))
    login_verified(client, admin)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/accounts/organisation/").status_code == 200
    client.post(reverse("accounts:logout"))
    login_verified(client, alice)  # verified, but not staff
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403


def test_admin_site_refuses_an_unverified_staff_request(rf):
    from django.contrib import admin
    from django.contrib.auth.models import AnonymousUser

    staff = PersonFactory(is_staff=True, is_superuser=True, organisation=None)
    request = rf.get("/admin/")
    request.user = staff
    staff.is_verified = lambda: False
    assert admin.site.has_permission(request) is False
    staff.is_verified = lambda: True
    assert admin.site.has_permission(request) is True
    request.user = AnonymousUser()
    assert admin.site.has_permission(request) is False
