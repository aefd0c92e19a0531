"""Sign-in events reach the audit trail through the receivers in accounts.signals."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import Action, AuditEvent, Outcome
from tests.factories import PASSWORD, totp_device

pytestmark = pytest.mark.django_db


def test_login_and_logout_are_recorded(client, alice):
    totp_device(alice)
    client.post(reverse("accounts:login"), {"username": alice.email, "password": PASSWORD}, REMOTE_ADDR="198.51.100.7")
    login = AuditEvent.objects.get(action=Action.AUTH_LOGIN)
    assert (login.actor_id, login.target_id, login.ip) == (alice.pk, str(alice.code), "198.51.100.7")
    assert login.request_id
    client.post(reverse("accounts:logout"))
    assert AuditEvent.objects.filter(action=Action.AUTH_LOGOUT, actor_id=alice.pk).exists()


def test_failed_login_is_recorded_without_the_password(client, alice):
    client.post(reverse("accounts:login"), {"username": alice.email, "password": "not-the-password"})
    failed = AuditEvent.objects.get(action=Action.AUTH_LOGIN_FAILED)
    assert failed.outcome == Outcome.DENIED
    assert failed.organisation_id == alice.organisation_id
    assert "not-the-password" not in str(failed.details)


def test_failed_login_for_unknown_user_is_recorded(client):
    client.post(reverse("accounts:login"), {"username": "nobody@example.org", "password": "x"})
    failed = AuditEvent.objects.get(action=Action.AUTH_LOGIN_FAILED)
    assert failed.target_label == "nobody@example.org"


def test_lockout_is_recorded(client, alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        client.post(reverse("accounts:login"), {"username": alice.email, "password": "wrong"})
    lockout = AuditEvent.objects.filter(action=Action.AUTH_LOCKOUT).first()
    assert lockout is not None
    assert lockout.outcome == Outcome.DENIED
    assert lockout.details["username"] == alice.email
