"""The sessions page: each person's signed-in browsers and API tokens, each ended there; an
organisation admin ends a member's sessions; every ending is audited and signs the session out."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import SignedInSession
from accounts.sessions import device_of, sessions_end_all
from api.models import ApiToken
from api.tokens import token_create
from audit.models import Action, AuditEvent, Outcome
from tests.factories import PASSWORD, login_with_key, totp_device

pytestmark = pytest.mark.django_db

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"


def _signed_in(user, user_agent: str = FIREFOX, address: str = "127.0.0.1") -> Client:
    """A browser signed in through the sign-in page, then past MFA (as login_verified leaves it)."""
    from django_otp import DEVICE_ID_SESSION_KEY

    client = Client(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=address)
    response = client.post(reverse("accounts:login"), {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = totp_device(user).persistent_id
    session.save()
    return client


def test_sign_in_records_the_session_and_the_page_lists_it(alice):
    client = _signed_in(alice, address="198.51.100.7")
    other = _signed_in(alice, "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36", "203.0.113.42")
    page = client.get(reverse("api:sessions"))
    assert page.status_code == 200
    # Each session's device, address and when it signed in.
    assert b"Firefox on Windows" in page.content and b"Chrome on Linux" in page.content
    assert b"198.51.100.7" in page.content and b"203.0.113.42" in page.content
    for row in SignedInSession.objects.filter(user=alice):
        signed_in_at = timezone.localtime(row.created_at).strftime("%-d %b %Y %H:%M").encode()
        assert signed_in_at in page.content
    assert page.content.count(b"this session") == 1
    assert other.get(reverse("home")).status_code == 200


def test_ending_another_session_signs_it_out_and_is_audited(alice):
    mine, theirs = _signed_in(alice), _signed_in(alice, "Chrome/131.0 (Linux)")
    other = SignedInSession.objects.get(user=alice, user_agent="Chrome/131.0 (Linux)")
    response = mine.post(reverse("api:session_end", args=[other.code]))
    assert response.status_code == 302 and response.url == reverse("api:sessions")
    assert theirs.get(reverse("home")).status_code == 302  # sent to sign in
    assert mine.get(reverse("home")).status_code == 200
    other.refresh_from_db()
    assert other.ended_at is not None and other.ended_by == alice
    assert AuditEvent.objects.filter(action=Action.AUTH_SESSION_ENDED, actor_id=alice.pk).exists()


def test_ending_this_session_signs_out(alice):
    client = _signed_in(alice)
    mine = SignedInSession.objects.get(user=alice)
    response = client.post(reverse("api:session_end", args=[mine.code]))
    assert response.url == reverse("accounts:login")
    assert client.get(reverse("home")).status_code == 302


def test_the_page_lists_live_tokens_and_revoking_one_ends_it(alice):
    client = _signed_in(alice)
    new = token_create(actor=alice, user=alice, name="nightly pipeline", scopes="read", days=5)
    row = b'<td class="govuk-table__cell">nightly pipeline</td>'
    assert row in client.get(reverse("api:sessions")).content
    client.post(reverse("api:token_revoke", args=[new.token.code]))
    assert ApiToken.objects.get(pk=new.token.pk).revoked_at is not None
    assert row not in client.get(reverse("api:sessions")).content


def test_signing_out_ends_the_record(alice):
    client = _signed_in(alice)
    client.post(reverse("accounts:logout"))
    assert SignedInSession.objects.get(user=alice).ended_at is not None


def test_a_credential_reset_ends_every_record(olivia, alice):
    from accounts.services import mfa_reset

    _signed_in(alice)
    _signed_in(alice)
    mfa_reset(actor=olivia, user=alice)
    assert not SignedInSession.objects.filter(user=alice, ended_at__isnull=True).exists()


def test_org_admin_ends_a_members_sessions_audited(client, olivia, alice):
    member = _signed_in(alice)
    login_with_key(client, olivia)
    page = client.get(reverse("accounts:org_member", args=[alice.code]))
    assert b"1 signed in" in page.content
    response = client.post(reverse("accounts:org_member_sessions_end", args=[alice.code]))
    assert response.status_code == 302
    assert member.get(reverse("home")).status_code == 302
    event = AuditEvent.objects.filter(action=Action.AUTH_SESSION_ENDED, actor_id=olivia.pk).get()
    assert event.details == {"all": True, "sessions": 1}


def test_a_member_cannot_end_someone_elses_sessions(alice, uma):
    from django.core.exceptions import PermissionDenied

    _signed_in(uma)
    with pytest.raises(PermissionDenied):
        sessions_end_all(actor=alice, user=uma)
    assert AuditEvent.objects.filter(action=Action.AUTH_SESSION_ENDED, outcome=Outcome.DENIED).exists()


@pytest.mark.parametrize(
    ("user_agent", "shown"),
    [
        (FIREFOX, "Firefox on Windows"),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Safari/604.1", "Safari on iPhone"),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) Chrome/131.0 Safari/537.36 Edg/131.0", "Edge on macOS"),
        ("curl/8.0", "Unknown browser"),
    ],
)
def test_device_of_names_browser_and_system(user_agent, shown):
    assert device_of(user_agent) == shown


# -- anonymous and outsiders ----------------------------------------------------------------------


def test_anonymous_sessions_pages_send_to_sign_in(client, alice):
    assert client.get(reverse("api:sessions")).status_code == 302
    other = _signed_in(alice)
    code = SignedInSession.objects.get(user=alice).code
    assert client.post(reverse("api:session_end", args=[code])).status_code == 302
    assert client.post(reverse("accounts:org_member_sessions_end", args=[alice.code])).status_code == 302
    assert other.get(reverse("home")).status_code == 200


def test_outsider_cannot_end_anothers_session_and_sees_only_their_own(alice, bob):
    alices = _signed_in(alice, "Chrome/131.0 (Linux)")
    bobs = _signed_in(bob)
    code = SignedInSession.objects.get(user=alice).code
    assert b"Chrome on Linux" not in bobs.get(reverse("api:sessions")).content
    assert bobs.post(reverse("api:session_end", args=[code])).status_code == 404
    assert alices.get(reverse("home")).status_code == 200
    assert AuditEvent.objects.filter(action=Action.AUTH_SESSION_ENDED, outcome=Outcome.DENIED).exists()


def test_outsider_admin_cannot_end_another_organisations_members_sessions(client, ursula, alice):
    alices = _signed_in(alice)
    login_with_key(client, ursula)
    assert client.post(reverse("accounts:org_member_sessions_end", args=[alice.code])).status_code == 404
    assert alices.get(reverse("home")).status_code == 200
