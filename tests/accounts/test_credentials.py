"""Credentials end with their revocation: every reset signs out every session and revokes every
API token on the very next request; an enrolment secret belongs to the one session shown it."""

from __future__ import annotations

import base64
import io
import re
from datetime import timedelta

import pytest
from django.contrib.auth.hashers import make_password
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts.services import credentials_end, mfa_reset, user_deactivate
from api.models import ApiToken
from api.tokens import token_create, token_revoke
from audit.models import Action, AuditEvent, Outcome
from tests.factories import PASSWORD, login_verified, portal_admin_person

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a much better passphrase 42"


@pytest.fixture
def stolen(alice):
    """Alice signed in past MFA in a browser someone else now holds, and her pipeline's token."""
    browser = Client()
    login_verified(browser, alice)
    assert browser.get(reverse("home")).status_code == 200
    secret = token_create(actor=alice, user=alice, name="pipeline", scopes="read", days=30).secret
    pipeline = APIClient()
    pipeline.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert pipeline.get(reverse("api:document_list")).status_code == 200
    return browser, pipeline


def _assert_signed_out(browser: Client) -> None:
    response = browser.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def _assert_token_refused(pipeline: APIClient) -> None:
    response = pipeline.get(reverse("api:document_list"))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_revoked"


def _assert_tokens_revoked_for(alice, reason: str, actor) -> None:
    token = ApiToken.objects.get(user=alice)
    assert token.revoked_at is not None and token.revoked_by_id == actor.pk
    event = AuditEvent.objects.get(action=Action.API_TOKEN_REVOKED, target_id=str(token.code))
    assert event.details["reason"] == reason and event.actor_id == actor.pk


def _admin_ends_credentials(client, admin, member, stolen, url_name: str, reason: str) -> None:
    """`admin` presses the button `url_name` on `member`'s page; the stolen session and token
    are refused on their very next request."""
    browser, pipeline = stolen
    login_verified(client, admin)
    assert client.post(reverse(url_name, kwargs={"code": member.code})).status_code == 302
    _assert_signed_out(browser)
    _assert_token_refused(pipeline)
    _assert_tokens_revoked_for(member, reason, admin)


def test_mfa_reset_by_an_admin_ends_every_session_and_token(client, alice, olivia, stolen):
    _admin_ends_credentials(client, olivia, alice, stolen, "accounts:org_mfa_reset", "mfa_reset")
    browser, _ = stolen
    # The stolen session cannot go on to enrol a device of its own.
    assert browser.get(reverse("accounts:mfa_enrol"))["Location"].startswith(reverse("accounts:login"))
    assert not TOTPDevice.objects.filter(user=alice).exists()


def _reset_link(client, email) -> str:
    client.post(reverse("accounts:password_reset"), {"email": email})
    return re.search(r"https?://[^/]+(/accounts/password/reset/\S+)", mail.outbox[-1].body).group(1)


def test_password_reset_by_the_emailed_link_ends_every_session_and_token(client, alice, stolen):
    browser, pipeline = stolen
    form_url = client.get(_reset_link(client, alice.email), follow=True).redirect_chain[-1][0]
    response = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    _assert_signed_out(browser)
    _assert_token_refused(pipeline)
    _assert_tokens_revoked_for(alice, "password_reset", alice)


def test_password_change_ends_every_other_session_and_every_token_but_keeps_this_one(client, alice, stolen):
    browser, pipeline = stolen
    login_verified(client, alice)
    url = reverse("accounts:password_change")
    response = client.post(
        url, {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    _assert_signed_out(browser)
    _assert_token_refused(pipeline)
    _assert_tokens_revoked_for(alice, "password_change", alice)
    assert client.get(reverse("home")).status_code == 200  # the session that changed it goes on


def test_deactivation_ends_every_session_and_token_and_reactivation_revives_neither(client, alice, olivia, stolen):
    _admin_ends_credentials(client, olivia, alice, stolen, "accounts:org_member_deactivate", "deactivated")
    browser, pipeline = stolen
    alice.is_active = True
    alice.save(update_fields=["is_active"])
    _assert_signed_out(browser)
    _assert_token_refused(pipeline)


@pytest.mark.parametrize(
    "reset",
    [
        lambda alice, admin: mfa_reset(actor=admin, user=alice),
        lambda alice, admin: user_deactivate(actor=admin, user=alice),
    ],
    ids=["mfa_reset", "deactivate"],
)
def test_each_reset_is_one_transaction_with_its_audit_event(alice, olivia, reset):
    token_create(actor=alice, user=alice, name="a", scopes="read", days=1)
    token_create(actor=alice, user=alice, name="b", scopes="read,write", days=1)
    before = alice.credentials_epoch
    reset(alice, olivia)
    alice.refresh_from_db()
    assert alice.credentials_epoch == before + 1
    assert not ApiToken.objects.filter(user=alice, revoked_at__isnull=True).exists()
    assert AuditEvent.objects.filter(action=Action.API_TOKEN_REVOKED, actor_id=olivia.pk).count() == 2


def test_a_refused_reset_revokes_nothing(alice, bob):
    token_create(actor=alice, user=alice, name="a", scopes="read", days=1)
    with pytest.raises(Exception):  # noqa: B017  (bob is no admin: PermissionDenied)
        mfa_reset(actor=bob, user=alice)
    alice.refresh_from_db()
    assert alice.credentials_epoch == 0
    assert ApiToken.objects.get(user=alice).revoked_at is None


def test_already_revoked_and_expired_tokens_are_left_as_they_are(alice, olivia):
    expired = token_create(actor=alice, user=alice, name="old", scopes="read", days=1).token
    long_ago = timezone.now() - timedelta(days=10)
    ApiToken.objects.filter(pk=expired.pk).update(created_at=long_ago, expires_at=long_ago + timedelta(days=1))
    revoked = token_revoke(
        actor=alice, token=token_create(actor=alice, user=alice, name="x", scopes="read", days=1).token
    )
    assert credentials_end(actor=olivia, user=alice, reason="mfa_reset") == 0
    assert ApiToken.objects.get(pk=expired.pk).revoked_at is None
    assert ApiToken.objects.get(pk=revoked.pk).revoked_by_id == alice.pk


# -- enrolment: one secret per session and page -------------------------------------------------


def _shown_secret(response) -> str:
    return re.search(r'class="accord-secret">([A-Z2-7]+)<', response.content.decode()).group(1)


def _code_for(secret: str) -> str:
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    device = TOTPDevice(key=key.hex())
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


@pytest.fixture
def two_sessions(alice):
    """Alice's password in two browsers (hers, and an attacker's), neither past MFA: she has
    no authenticator yet."""
    victim, attacker = Client(), Client()
    victim.force_login(alice)
    attacker.force_login(alice)
    return victim, attacker


def test_each_session_and_page_gets_its_own_secret_and_none_is_stored(two_sessions, alice):
    victim, attacker = two_sessions
    first = _shown_secret(attacker.get(reverse("accounts:mfa_enrol")))
    mine = _shown_secret(victim.get(reverse("accounts:mfa_enrol")))
    again = _shown_secret(attacker.get(reverse("accounts:mfa_enrol")))
    assert len({first, mine, again}) == 3
    assert not TOTPDevice.objects.filter(user=alice).exists()


def test_a_secret_shown_to_one_session_cannot_be_confirmed_from_another(two_sessions, alice):
    victim, attacker = two_sessions
    attacker.get(reverse("accounts:mfa_enrol"))
    secret = _shown_secret(victim.get(reverse("accounts:mfa_enrol")))
    response = attacker.post(reverse("accounts:mfa_enrol"), {"token": _code_for(secret)})
    assert response.status_code == 200 and "not valid" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=alice).exists()
    refusal = AuditEvent.objects.get(action=Action.AUTH_MFA_FAILED, outcome=Outcome.DENIED)
    assert refusal.details == {"stage": "enrolment", "reason": "wrong_code"}
    # The victim confirms her own secret, and the device is hers alone.
    assert victim.post(reverse("accounts:mfa_enrol"), {"token": _code_for(secret)}).status_code == 302
    device = TOTPDevice.objects.get(user=alice, confirmed=True)
    assert base64.b32encode(device.bin_key).decode().rstrip("=") == secret
    assert victim.get(reverse("home")).status_code == 200
    assert attacker.get(reverse("home"))["Location"].startswith(reverse("accounts:mfa_verify"))


def test_a_session_never_shown_a_secret_cannot_confirm_one(two_sessions, alice):
    victim, attacker = two_sessions
    secret = _shown_secret(victim.get(reverse("accounts:mfa_enrol")))
    response = attacker.post(reverse("accounts:mfa_enrol"), {"token": _code_for(secret)})
    assert response.status_code == 200 and "expired" in response.content.decode()
    assert _shown_secret(response) != secret  # a new one of its own to scan
    assert not TOTPDevice.objects.exists()
    refusal = AuditEvent.objects.get(action=Action.AUTH_MFA_FAILED)
    assert refusal.details["reason"] == "no_secret_in_session"


def test_a_new_enrolment_page_discards_the_last_secret(two_sessions, alice):
    victim, _ = two_sessions
    old = _shown_secret(victim.get(reverse("accounts:mfa_enrol")))
    victim.get(reverse("accounts:mfa_enrol"))
    response = victim.post(reverse("accounts:mfa_enrol"), {"token": _code_for(old)})
    assert response.status_code == 200
    assert not TOTPDevice.objects.exists()


def test_an_unconfirmed_device_left_from_before_is_discarded_on_enrolment(two_sessions, alice):
    TOTPDevice.objects.create(user=alice, name="Authenticator", confirmed=False)
    victim, _ = two_sessions
    secret = _shown_secret(victim.get(reverse("accounts:mfa_enrol")))
    assert victim.post(reverse("accounts:mfa_enrol"), {"token": _code_for(secret)}).status_code == 302
    assert list(TOTPDevice.objects.filter(user=alice).values_list("confirmed", flat=True)) == [True]


def test_a_wrong_code_shows_the_same_secret_again(two_sessions):
    victim, _ = two_sessions
    secret = _shown_secret(victim.get(reverse("accounts:mfa_enrol")))
    wrong = "000000" if _code_for(secret) != "000000" else "111111"
    response = victim.post(reverse("accounts:mfa_enrol"), {"token": wrong})
    assert response.status_code == 200 and _shown_secret(response) == secret
    assert victim.post(reverse("accounts:mfa_enrol"), {"token": _code_for(secret)}).status_code == 302


@pytest.fixture
def root(db):
    """A portal admin who may change people and organisations in the Django admin."""
    return portal_admin_person(email="root@accord.example", is_superuser=True)


def test_deactivation_in_the_portal_admin_ends_every_session_and_token(client, alice, stolen, root):
    pat = root
    browser, pipeline = stolen
    login_verified(client, pat)
    url = reverse("admin:accounts_user_change", args=[alice.pk])
    form = {
        "email": alice.email,
        "display_name": alice.display_name,
        "organisation": alice.organisation_id,
        "nationality": alice.nationality_id,
        "is_staff": "",
        "is_superuser": "",
    }
    assert client.post(url, form).status_code == 302
    alice.refresh_from_db()
    assert not alice.is_active
    _assert_signed_out(browser)
    _assert_token_refused(pipeline)
    _assert_tokens_revoked_for(alice, "deactivated", pat)
    assert AuditEvent.objects.get(action=Action.USER_DEACTIVATED).details == {"via": "admin"}


def test_suspending_an_organisation_ends_every_session_and_token_of_its_members(client, alice, olivia, stolen, root):
    browser, pipeline = stolen
    olivias_browser = Client()
    login_verified(olivias_browser, olivia)
    login_verified(client, root)
    organisation = alice.organisation
    url = reverse("admin:accounts_organisation_change", args=[organisation.pk])
    form = {"name": organisation.name, "short_name": organisation.short_name, "country": organisation.country_id}
    assert client.post(url, form).status_code == 302
    _assert_signed_out(browser)
    _assert_signed_out(olivias_browser)
    _assert_token_refused(pipeline)
    _assert_tokens_revoked_for(alice, "organisation_suspended", root)
    event = AuditEvent.objects.get(action=Action.ORG_UPDATED)
    assert event.details == {"is_active": False, "members_signed_out": 2}


def test_a_password_set_in_the_portal_admin_ends_every_session_and_token(client, alice, stolen, root):
    browser, pipeline = stolen
    login_verified(client, root)
    url = reverse("admin:auth_user_password_change", args=[alice.pk])
    form = {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "set_usable_password": "true"}
    assert client.post(url, form).status_code == 302
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    _assert_signed_out(browser)
    _assert_token_refused(pipeline)
    _assert_tokens_revoked_for(alice, "password_admin", root)
    assert AuditEvent.objects.get(action=Action.AUTH_PASSWORD_CHANGED).details == {"via": "admin"}
    assert client.get(reverse("admin:index")).status_code == 200  # the admin's own session goes on


def test_a_portal_admin_setting_their_own_password_keeps_their_session(client, root):
    login_verified(client, root)
    url = reverse("admin:auth_user_password_change", args=[root.pk])
    form = {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "set_usable_password": "true"}
    assert client.post(url, form).status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


def test_an_authenticator_deleted_in_the_portal_admin_ends_every_session_and_token(client, alice, stolen, root):
    """Removing a device in the Django admin is an MFA reset: the stolen session must not live on
    to enrol a device of its own, nor the token to be used."""
    browser, pipeline = stolen
    device = TOTPDevice.objects.get(user=alice)
    login_verified(client, root)
    url = reverse("admin:otp_totp_totpdevice_delete", args=[device.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not TOTPDevice.objects.filter(user=alice).exists()
    _assert_signed_out(browser)
    _assert_token_refused(pipeline)
    _assert_tokens_revoked_for(alice, "mfa_reset", root)
    assert AuditEvent.objects.get(action=Action.AUTH_MFA_RESET).details == {"devices": 1, "via": "admin"}


def test_authenticators_deleted_in_bulk_in_the_portal_admin_end_every_session_and_token(client, alice, stolen, root):
    browser, pipeline = stolen
    device = TOTPDevice.objects.get(user=alice)
    login_verified(client, root)
    form = {"action": "delete_selected", "_selected_action": [device.pk], "post": "yes"}
    assert client.post(reverse("admin:otp_totp_totpdevice_changelist"), form).status_code == 302
    assert not TOTPDevice.objects.filter(user=alice).exists()
    _assert_signed_out(browser)
    _assert_token_refused(pipeline)
    _assert_tokens_revoked_for(alice, "mfa_reset", root)


def test_the_portal_admin_can_neither_read_nor_rekey_nor_add_an_authenticator(client, alice, root):
    device = TOTPDevice.objects.get_or_create(user=alice, name="Authenticator", defaults={"confirmed": True})[0]
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    login_verified(client, root)
    page = client.get(reverse("admin:otp_totp_totpdevice_change", args=[device.pk]))
    assert page.status_code == 200
    assert device.key.encode() not in page.content and secret.encode() not in page.content
    form = {"user": alice.pk, "name": "x", "confirmed": "on", "key": "ab" * 20, "step": 30, "t0": 0, "digits": 6}
    assert client.post(reverse("admin:otp_totp_totpdevice_change", args=[device.pk]), form).status_code == 403
    assert client.post(reverse("admin:otp_totp_totpdevice_add"), form).status_code == 403
    for name in ("admin:otp_totp_totpdevice_config", "admin:otp_totp_totpdevice_qrcode"):
        assert client.get(reverse(name, args=[device.pk])).status_code == 403
    device.refresh_from_db()
    assert device.key != "ab" * 20


def _run_changepassword(monkeypatch, user) -> None:
    from django.contrib.auth.management.commands import changepassword

    monkeypatch.setattr(changepassword.Command, "_get_pass", lambda self, prompt="": NEW_PASSWORD)
    call_command("changepassword", user.email, stdout=io.StringIO())


def _set_in_a_shell(monkeypatch, user) -> None:
    person = type(user).objects.get(pk=user.pk)
    person.set_password(NEW_PASSWORD)
    person.save()


def _unusable_in_a_shell(monkeypatch, user) -> None:
    person = type(user).objects.get(pk=user.pk)
    person.set_unusable_password()
    person.save(update_fields=["password"])


def _hash_assigned_directly(monkeypatch, user) -> None:
    person = type(user).objects.get(pk=user.pk)
    person.password = make_password(NEW_PASSWORD)
    person.save()


@pytest.mark.parametrize(
    "change",
    [_run_changepassword, _set_in_a_shell, _unusable_in_a_shell, _hash_assigned_directly],
    ids=["manage.py changepassword", "set_password and save", "set_unusable_password", "hash assigned"],
)
def test_a_password_stored_by_any_path_ends_every_session_and_token(monkeypatch, alice, stolen, change):
    browser, pipeline = stolen
    before = type(alice).objects.get(pk=alice.pk).credentials_epoch
    change(monkeypatch, alice)
    _assert_signed_out(browser)
    _assert_token_refused(pipeline)
    token = ApiToken.objects.get(user=alice)
    assert token.revoked_at is not None and token.revoked_by_id is None
    event = AuditEvent.objects.get(action=Action.API_TOKEN_REVOKED, target_id=str(token.code))
    assert event.details["reason"] == "password_other"
    assert AuditEvent.objects.get(action=Action.AUTH_PASSWORD_CHANGED).details == {"via": "other"}
    assert type(alice).objects.get(pk=alice.pk).credentials_epoch == before + 1


def test_saving_a_person_without_a_new_password_ends_nothing(alice, stolen):
    browser, pipeline = stolen
    person = type(alice).objects.get(pk=alice.pk)
    person.display_name = "Alice A."
    person.save()
    assert browser.get(reverse("home")).status_code == 200
    assert pipeline.get(reverse("api:document_list")).status_code == 200
    assert not AuditEvent.objects.filter(action=Action.AUTH_PASSWORD_CHANGED).exists()


def test_a_hash_upgrade_at_sign_in_is_not_a_new_password(settings, alice, stolen):
    _, pipeline = stolen
    # A stronger hasher than the stored hash's: checking the password re-hashes it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher", *settings.PASSWORD_HASHERS]
    person = type(alice).objects.get(pk=alice.pk)
    stored = person.password
    assert person.check_password(PASSWORD)
    assert type(alice).objects.get(pk=alice.pk).password != stored
    assert pipeline.get(reverse("api:document_list")).status_code == 200
    assert not AuditEvent.objects.filter(action=Action.AUTH_PASSWORD_CHANGED).exists()
