"""Security keys and passkeys: which roles need a session verified with one (a matrix), the
step-up window (on a frozen clock), the security page, and the `decide` API scope.

The suite's settings carry the demo's ACCORD_PRIVILEGED_TOTP; every test here that is about the
rule turns it off, as production has it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django_otp_webauthn.models import WebAuthnCredential

from accounts import stepup
from accounts.roles import Role, has_role, is_portal_admin, require_role
from accounts.services import mfa_reset, security_key_enrolled
from api.models import ApiToken
from api.tokens import token_create
from audit.models import Action, AuditEvent, Outcome
from audit.reasons import Reason
from sharing.models import Release
from sharing.services.releases import release_request
from tests.factories import (
    PersonFactory,
    login_verified,
    login_with_key,
    portal_admin_person,
    security_key,
    totp_device,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def production(settings):
    """The rule as production has it: TOTP never stands in for a security key."""
    settings.ACCORD_PRIVILEGED_TOTP = False


@pytest.fixture
def clock(monkeypatch):
    """The step-up clock, frozen at NOW."""
    monkeypatch.setattr(stepup, "timezone", SimpleNamespace(now=lambda: NOW))
    return NOW


# -- the role requirement, as a matrix ----------------------------------------------------------

TOTP, KEY, NONE, NO_SESSION = "totp", "key", "none", "no session"

# (role, what the session was verified with, ACCORD_PRIVILEGED_TOTP) → does the holder act in it?
ROLE_MATRIX = [
    (Role.AUTHOR, TOTP, False, True),
    (Role.AUTHOR, KEY, False, True),
    (Role.RELEASE_OFFICER, TOTP, False, False),
    (Role.RELEASE_OFFICER, KEY, False, True),
    (Role.RELEASE_OFFICER, TOTP, True, True),
    (Role.RELEASE_OFFICER, NONE, False, False),
    (Role.RELEASE_OFFICER, NO_SESSION, False, True),
    (Role.ORG_ADMIN, TOTP, False, False),
    (Role.ORG_ADMIN, KEY, False, True),
    (Role.ORG_ADMIN, TOTP, True, True),
    (Role.SIGNATORY, TOTP, False, False),
    (Role.SIGNATORY, KEY, False, True),
    (Role.SIGNATORY, TOTP, True, True),
]


def _as_verified(user, verified_with: str):
    """`user` as a request carries it: django-otp's `otp_device`, or nothing outside a request."""
    if verified_with == TOTP:
        user.otp_device = totp_device(user)
    elif verified_with == KEY:
        user.otp_device = security_key(user)
    elif verified_with == NONE:
        user.otp_device = None
    return user


@pytest.mark.parametrize(("role", "verified_with", "totp_suffices", "acts"), ROLE_MATRIX)
def test_role_requirement_matrix(settings, ukasi, role, verified_with, totp_suffices, acts):
    settings.ACCORD_PRIVILEGED_TOTP = totp_suffices
    holder = _as_verified(PersonFactory(organisation=ukasi, roles=[role]), verified_with)
    assert has_role(holder, role, ukasi) is acts


@pytest.mark.parametrize(
    ("verified_with", "totp_suffices", "admin"),
    [(TOTP, False, False), (KEY, False, True), (TOTP, True, True), (NO_SESSION, False, True)],
)
def test_portal_admin_matrix(settings, verified_with, totp_suffices, admin):
    settings.ACCORD_PRIVILEGED_TOTP = totp_suffices
    staff = _as_verified(portal_admin_person(email="pat@accord.example"), verified_with)
    staff.is_verified = lambda: verified_with != NONE
    assert is_portal_admin(staff) is admin


def test_a_role_not_held_stays_not_held_with_a_key(production, ukasi, alice):
    assert not has_role(_as_verified(alice, KEY), Role.RELEASE_OFFICER, ukasi)


def test_refusal_for_want_of_a_key_says_so_and_is_audited(production, ukasi, rita):
    with pytest.raises(PermissionDenied, match="security key"):
        require_role(_as_verified(rita, TOTP), Role.RELEASE_OFFICER, ukasi, wanted="release queue")
    event = AuditEvent.objects.filter(action=Action.ACCESS_DENIED, actor_id=rita.pk).latest("seq")
    assert event.details["reason"] == Reason.SECURITY_KEY_NEEDED


def test_officer_with_totp_only_cannot_open_the_release_queue_in_production(production, client, rita):
    login_verified(client, rita)
    assert client.get(reverse("sharing:release_queue")).status_code == 403


def test_officer_verified_with_a_key_opens_the_release_queue(production, client, rita):
    login_with_key(client, rita)
    assert client.get(reverse("sharing:release_queue")).status_code == 200


def test_org_admin_with_totp_only_cannot_manage_members_in_production(production, client, olivia):
    login_verified(client, olivia)
    assert client.get(reverse("accounts:org_members")).status_code == 403


def test_the_demo_setting_lets_totp_do(settings, client, rita):
    settings.ACCORD_PRIVILEGED_TOTP = True
    login_verified(client, rita)
    assert client.get(reverse("sharing:release_queue")).status_code == 200


# -- step-up windows, on a frozen clock ---------------------------------------------------------


@pytest.mark.parametrize(
    ("stamp", "ago", "totp_suffices", "fresh"),
    [
        (stepup.WEBAUTHN_AT, timedelta(seconds=0), False, True),
        (stepup.WEBAUTHN_AT, timedelta(minutes=4, seconds=59), False, True),
        (stepup.WEBAUTHN_AT, timedelta(minutes=5), False, True),
        (stepup.WEBAUTHN_AT, timedelta(minutes=5, seconds=1), False, False),
        (stepup.WEBAUTHN_AT, timedelta(hours=2), False, False),
        (stepup.WEBAUTHN_AT, -timedelta(minutes=1), False, False),  # a stamp from the future
        (stepup.TOTP_AT, timedelta(seconds=10), False, False),  # TOTP never counts in production
        (stepup.TOTP_AT, timedelta(seconds=10), True, True),
        (stepup.TOTP_AT, timedelta(minutes=5, seconds=1), True, False),
        (None, None, True, False),
    ],
)
def test_step_up_window(settings, clock, stamp, ago, totp_suffices, fresh):
    settings.ACCORD_PRIVILEGED_TOTP = totp_suffices
    session = {} if stamp is None else {stamp: (clock - ago).timestamp()}
    assert stepup.verified_within(session) is fresh


@pytest.fixture
def requested(alice, finding, uk_us_agreement, usaisi):
    [release] = release_request(
        actor=alice, document=finding, agreement=uk_us_agreement, recipients=[usaisi], justification="Joint work"
    )
    return release


def _approve(client, release):
    queue = "http://testserver" + reverse("sharing:release_queue")
    url = reverse("sharing:release_approve", args=[release.code])
    return client.post(url, {"reason": ""}, HTTP_REFERER=queue)


def _age_key_verification(client, ago: timedelta) -> None:
    session = client.session
    session[stepup.WEBAUTHN_AT] = (datetime.now(UTC) - ago).timestamp()
    session.save()


def test_approval_within_five_minutes_of_the_key_goes_through(production, client, rita, requested):
    login_with_key(client, rita)
    _age_key_verification(client, timedelta(minutes=4, seconds=50))
    response = _approve(client, requested)
    assert response.status_code == 302 and response.url == reverse("sharing:release_queue")
    assert Release.objects.get(pk=requested.pk).status == Release.Status.APPROVED


def test_stale_key_asks_again_then_returns_to_the_form_without_approving(production, client, rita, requested):
    login_with_key(client, rita)
    _age_key_verification(client, timedelta(minutes=6))
    response = _approve(client, requested)
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:step_up") + "?next=")
    assert "releases%2F" in response.url  # back to the queue the form was on
    assert Release.objects.get(pk=requested.pk).status == Release.Status.REQUESTED
    event = AuditEvent.objects.filter(action=Action.AUTH_STEP_UP_NEEDED).get()
    assert event.outcome == Outcome.DENIED and event.details["action"] == "sharing:release_approve"
    page = client.get(response.url)
    assert page.status_code == 200 and b"passkey-verification-button" in page.content


def test_a_step_up_elsewhere_never_follows_an_offsite_referer(production, client, rita, requested):
    login_with_key(client, rita)
    _age_key_verification(client, timedelta(minutes=6))
    url = reverse("sharing:release_approve", args=[requested.code])
    response = client.post(url, {"reason": ""}, HTTP_REFERER="https://evil.example/")
    assert response.url == reverse("accounts:step_up") + "?next=%2F"


def test_audit_export_needs_a_fresh_key_and_comes_back_to_the_export(production, client, olivia):
    login_with_key(client, olivia)
    _age_key_verification(client, timedelta(minutes=10))
    export = reverse("audit:export", args=["csv"])
    response = client.get(export)
    assert response.status_code == 302 and "export.csv" in response.url
    _age_key_verification(client, timedelta(seconds=5))
    assert client.get(export).status_code == 200


def test_mfa_reset_needs_a_fresh_key(production, client, olivia, alice):
    totp_device(alice)
    login_with_key(client, olivia)
    _age_key_verification(client, timedelta(minutes=6))
    client.post(reverse("accounts:org_mfa_reset", args=[alice.code]), {"reason": "lost phone"})
    assert alice.totpdevice_set.exists()


def test_the_demo_step_up_page_takes_an_authenticator_code(settings, client, rita):
    settings.ACCORD_PRIVILEGED_TOTP = True
    login_verified(client, rita)
    page = client.get(reverse("accounts:step_up"), {"next": "/releases/"})
    assert b"ACCORD_PRIVILEGED_TOTP" in page.content and page.context["form"] is not None


def test_the_production_step_up_page_takes_no_code(production, client, rita):
    login_with_key(client, rita)
    page = client.get(reverse("accounts:step_up"), {"next": "/releases/"})
    assert page.context["form"] is None
    assert client.post(reverse("accounts:step_up"), {"token": "123456", "next": "/"}).status_code == 200


# -- the security page ----------------------------------------------------------------------------


def test_security_page_lists_each_key_with_its_name_and_last_use(client, alice):
    used = security_key(alice, "Keyring YubiKey")
    security_key(alice, "Laptop passkey")
    used.last_used_at = datetime(2026, 11, 30, 9, 41, tzinfo=UTC)
    used.save(update_fields=["last_used_at"])
    login_verified(client, alice)
    page = client.get(reverse("accounts:security"))
    assert page.status_code == 200
    assert b"Keyring YubiKey" in page.content and b"Laptop passkey" in page.content
    rows = {row.split(b"</tr>")[0] for row in page.content.split(b"<tr")}
    [yubikey] = [row for row in rows if b"Keyring YubiKey" in row]
    [laptop] = [row for row in rows if b"Laptop passkey" in row]
    assert b"30 Nov 2026" in yubikey and b"never" not in yubikey
    assert b"never" in laptop
    assert b"passkey-register-button" in page.content


def test_enrolling_a_key_names_it_and_is_audited(alice):
    security_key(alice)
    key = security_key_enrolled(user=alice, key=security_key(alice, ""))
    assert key.name == "Security key 2"
    event = AuditEvent.objects.filter(action=Action.AUTH_KEY_ENROLLED, actor_id=alice.pk).get()
    assert event.details["key"] == "Security key 2" and event.details["passkey"] is False


def test_rename_and_remove_a_key_are_audited(client, alice):
    key = security_key(alice, "Old name")
    login_verified(client, alice)
    client.post(reverse("accounts:key_rename", args=[key.credential_id_sha256]), {"name": "  Spare   key "})
    key.refresh_from_db()
    assert key.name == "Spare key"
    assert AuditEvent.objects.filter(action=Action.AUTH_KEY_RENAMED, actor_id=alice.pk).get().details == {
        "from": "Old name",
        "to": "Spare key",
    }
    client.post(reverse("accounts:key_remove", args=[key.credential_id_sha256]))
    assert not WebAuthnCredential.objects.filter(pk=key.pk).exists()
    assert AuditEvent.objects.filter(action=Action.AUTH_KEY_REMOVED, actor_id=alice.pk).exists()


def test_someone_elses_key_is_404_and_audited(client, alice, bob):
    key = security_key(bob)
    login_verified(client, alice)
    assert client.post(reverse("accounts:key_remove", args=[key.credential_id_sha256])).status_code == 404
    assert (
        client.post(reverse("accounts:key_rename", args=[key.credential_id_sha256]), {"name": "x"}).status_code == 404
    )
    assert WebAuthnCredential.objects.filter(pk=key.pk, name="YubiKey").exists()
    assert AuditEvent.objects.filter(action=Action.AUTH_KEY_REMOVED, outcome=Outcome.DENIED).exists()


def test_key_pages_refuse_get_and_the_anonymous(client, alice):
    key = security_key(alice)
    url = reverse("accounts:key_remove", args=[key.credential_id_sha256])
    assert client.post(url).status_code == 302  # to sign-in
    login_verified(client, alice)
    assert client.get(url).status_code == 405


def test_an_mfa_reset_removes_security_keys_too(olivia, alice):
    totp_device(alice)
    security_key(alice)
    assert mfa_reset(actor=olivia, user=alice) == 2
    assert not WebAuthnCredential.objects.filter(user=alice).exists()


def test_the_mfa_page_offers_the_key_to_someone_with_only_a_key(client, alice):
    security_key(alice)
    client.force_login(alice)
    page = client.get(reverse("accounts:mfa_verify"))
    assert page.status_code == 200 and b"passkey-verification-button" in page.content


@pytest.mark.parametrize("role", [Role.RELEASE_OFFICER, Role.ORG_ADMIN, Role.SIGNATORY])
def test_granting_a_key_role_to_someone_without_a_key_says_they_must_enrol(client, olivia, alice, role):
    login_with_key(client, olivia)
    response = client.post(reverse("accounts:org_role_grant", args=[alice.code]), {"role-role": role}, follow=True)
    assert b"must enrol a security key or passkey" in response.content
    assert b"they must enrol one before they can act in their role" in response.content


def test_granting_a_key_role_to_someone_with_a_key_or_a_totp_role_says_nothing_of_enrolling(client, olivia, alice):
    login_with_key(client, olivia)
    url = reverse("accounts:org_role_grant", args=[alice.code])
    response = client.post(url, {"role-role": Role.AUTHOR}, follow=True)
    assert b"must enrol" not in response.content
    security_key(alice)
    response = client.post(url, {"role-role": Role.RELEASE_OFFICER}, follow=True)
    assert b"must enrol" not in response.content


def test_making_someone_portal_staff_in_the_admin_says_they_must_enrol_first(client, alice):
    root = portal_admin_person(email="root@accord.example", is_superuser=True)
    login_with_key(client, root)
    url = reverse("admin:accounts_user_change", args=[alice.pk])
    form = {
        "email": alice.email,
        "display_name": alice.display_name,
        "organisation": alice.organisation_id,
        "nationality": alice.nationality_id,
        "is_active": "on",
        "is_staff": "on",
    }
    response = client.post(url, form, follow=True)
    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.is_staff
    assert b"must enrol a security key or passkey" in response.content
    # Saved again, already staff, or staff with a key: no warning.
    security_key(alice)
    form["display_name"] = "Alice A."
    assert b"must enrol" not in client.post(url, form, follow=True).content


# -- the API's decide scope -----------------------------------------------------------------------


def test_a_decide_token_needs_a_fresh_key_verification(rita):
    with pytest.raises(ValidationError, match="security key"):
        token_create(actor=rita, user=rita, name="ci", scopes="write,decide", days=1)
    refused = AuditEvent.objects.filter(action=Action.API_TOKEN_CREATED, outcome=Outcome.DENIED).get()
    assert refused.details["reason"] == Reason.TOKEN_DECIDE_SCOPE


def test_a_decide_token_lives_eight_hours_at_most(rita):
    new = token_create(actor=rita, user=rita, name="ci", scopes="write,decide", days=30, key_verified=True)
    assert new.token.expires_at - new.token.created_at == timedelta(hours=8)


def test_no_command_line_decide_token(rita):
    with pytest.raises(ValidationError):
        token_create(actor=None, user=rita, name="ci", scopes="decide", days=1, key_verified=True)


def test_the_token_page_makes_a_decide_token_only_right_after_the_key(production, client, rita):
    login_with_key(client, rita)
    form = {"name": "approvals", "write": "on", "decide": "on", "days": "30"}
    assert client.post(reverse("api:tokens"), form).status_code == 200
    assert ApiToken.objects.get(user=rita).scopes == "decide,write"
    _age_key_verification(client, timedelta(minutes=6))
    response = client.post(reverse("api:tokens"), {**form, "name": "later"})
    assert response.status_code == 400 and not ApiToken.objects.filter(name="later").exists()


def test_approving_through_the_api_without_decide_is_403_saying_so(rita, requested):
    from rest_framework.test import APIClient

    secret = token_create(actor=rita, user=rita, name="ci", scopes="read,write", days=1).secret
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = client.post(reverse("api:release_approve", args=[requested.code]), {}, format="json")
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "decide_scope_missing" and "decide" in error["message"]
    assert Release.objects.get(pk=requested.pk).status == Release.Status.REQUESTED


# -- anonymous and outsiders ----------------------------------------------------------------------

KEY_PAGES = ["accounts:key_rename", "accounts:key_remove"]
CEREMONIES = [
    "otp_webauthn:credential-registration-begin",
    "otp_webauthn:credential-registration-complete",
    "otp_webauthn:credential-authentication-complete",
]


@pytest.mark.parametrize("name", ["accounts:security", "accounts:step_up"])
def test_anonymous_is_sent_to_sign_in_from_the_security_pages(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))


@pytest.mark.parametrize("name", KEY_PAGES)
def test_anonymous_key_change_is_sent_to_sign_in(client, alice, name):
    key = security_key(alice)
    response = client.post(reverse(name, args=[key.credential_id_sha256]), {"name": "x"})
    assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))
    assert WebAuthnCredential.objects.filter(pk=key.pk, name="YubiKey").exists()


@pytest.mark.parametrize("name", CEREMONIES)
def test_anonymous_ceremony_without_a_started_one_is_refused(client, name):
    response = client.post(reverse(name), "{}", content_type="application/json")
    assert response.status_code in {400, 401, 403}
    assert not WebAuthnCredential.objects.exists()


def test_anonymous_may_start_a_passkey_sign_in_and_the_i18n_catalog(client):
    begin = client.post(reverse("otp_webauthn:credential-authentication-begin"))
    assert begin.status_code == 200 and begin.json()["userVerification"] == "required"
    assert client.get(reverse("otp_webauthn:js-i18n-catalog")).status_code == 200


def test_outsider_security_page_shows_only_their_own_keys(client, alice, bob):
    security_key(alice, "Alice's key")
    login_verified(client, bob)
    page = client.get(reverse("accounts:security"))
    assert b"Alice&#x27;s key" not in page.content and b"Alice's key" not in page.content
    step_up = client.get(reverse("accounts:step_up"))
    assert step_up.status_code == 200 and b"Alice" not in step_up.content


@pytest.mark.parametrize("name", KEY_PAGES)
def test_outsider_cannot_change_anothers_key(client, alice, bob, name):
    key = security_key(alice)
    login_verified(client, bob)
    assert client.post(reverse(name, args=[key.credential_id_sha256]), {"name": "x"}).status_code == 404
    assert WebAuthnCredential.objects.filter(pk=key.pk, name="YubiKey").exists()


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("otp_webauthn:credential-authentication-begin", "allowCredentials"),
        ("otp_webauthn:credential-registration-begin", "excludeCredentials"),
    ],
)
def test_outsider_ceremony_options_name_only_their_own_keys(client, alice, bob, name, field):
    security_key(alice)
    security_key(bob)
    login_verified(client, bob)
    options = client.post(reverse(name)).json()
    assert len(options[field]) == 1


@pytest.mark.parametrize(
    "name", ["otp_webauthn:credential-registration-complete", "otp_webauthn:credential-authentication-complete"]
)
def test_outsider_cannot_complete_a_ceremony_never_started(client, bob, name):
    login_verified(client, bob)
    response = client.post(reverse(name), "{}", content_type="application/json")
    assert response.status_code in {400, 401, 403}
    assert not WebAuthnCredential.objects.exists()


def test_outsider_gets_the_same_public_i18n_catalog(client, bob):
    anonymous = client.get(reverse("otp_webauthn:js-i18n-catalog")).content
    login_verified(client, bob)
    assert client.get(reverse("otp_webauthn:js-i18n-catalog")).content == anonymous
