from __future__ import annotations

import pytest
from django.urls import reverse
from django_otp.oath import totp

from audit.models import Action, AuditEvent
from tests.factories import PASSWORD, totp_device

pytestmark = pytest.mark.django_db


def _code(device) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift):06d}"


def test_anonymous_home_redirects_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_password_alone_does_not_open_the_portal(client, alice):
    totp_device(alice)
    response = client.post(reverse("accounts:login"), {"username": alice.email, "password": PASSWORD})
    assert response.status_code == 302
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:mfa_verify"))


def test_password_and_totp_open_the_portal_and_rotate_the_session(client, alice):
    device = totp_device(alice)
    client.post(reverse("accounts:login"), {"username": alice.email, "password": PASSWORD})
    before = client.session.session_key
    response = client.post(reverse("accounts:mfa_verify"), {"token": _code(device)})
    assert response.status_code == 302
    assert client.session.session_key != before
    assert client.get("/").status_code == 200
    assert AuditEvent.objects.filter(action=Action.AUTH_MFA_VERIFIED, actor_id=alice.pk).exists()


def test_totp_code_cannot_be_replayed(client, alice):
    device = totp_device(alice)
    code = _code(device)
    client.post(reverse("accounts:login"), {"username": alice.email, "password": PASSWORD})
    client.post(reverse("accounts:mfa_verify"), {"token": code})
    client.post(reverse("accounts:logout"))
    client.post(reverse("accounts:login"), {"username": alice.email, "password": PASSWORD})
    response = client.post(reverse("accounts:mfa_verify"), {"token": code})
    assert response.status_code == 200
    assert "not valid" in response.content.decode()
    assert client.get("/").status_code == 302


def test_wrong_password_is_refused_and_audited(client, alice):
    response = client.post(reverse("accounts:login"), {"username": alice.email, "password": "wrong"})
    assert response.status_code == 200
    assert "correct email address and password" in response.content.decode()
    assert AuditEvent.objects.filter(action=Action.AUTH_LOGIN_FAILED, target_id=str(alice.code)).exists()
