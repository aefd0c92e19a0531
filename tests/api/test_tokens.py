"""Personal API tokens: made after MFA, shown once, stored hashed, scoped, expiring, revocable."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from api.models import ApiToken
from api.tokens import token_create
from audit.models import Action, AuditEvent, Outcome
from audit.reasons import Reason
from tests.api.conftest import make_token

pytestmark = pytest.mark.django_db

TOKEN_PAGES = ["api:tokens"]


def test_token_is_stored_only_as_its_hash(alice):
    new = token_create(actor=alice, user=alice, name="ci", scopes="write, read", days=10)
    token = ApiToken.objects.get(pk=new.token.pk)
    assert new.secret.startswith(f"accord_{token.prefix}_") and len(new.secret) == 7 + 12 + 1 + 43
    assert token.secret_hash == hashlib.sha256(new.secret.encode()).hexdigest()
    assert new.secret not in str(ApiToken.objects.filter(pk=token.pk).values().get())
    assert token.scopes == "read,write"
    assert timedelta(days=9, hours=23) < token.expires_at - timezone.now() <= timedelta(days=10)
    event = AuditEvent.objects.filter(action=Action.API_TOKEN_CREATED).get()
    assert new.secret not in str(event.details) and event.details["scopes"] == "read,write"


@pytest.mark.parametrize(
    ("scopes", "days", "name"),
    [("admin", 10, "x"), ("", 10, "x"), ("read", 0, "x"), ("read", 366, "x"), ("read", 10, "  ")],
)
def test_token_create_refuses_bad_values(alice, scopes, days, name):
    with pytest.raises(ValidationError):
        token_create(actor=alice, user=alice, name=name, scopes=scopes, days=days)
    assert not ApiToken.objects.exists()


def test_nobody_makes_a_token_for_someone_else(alice, olivia):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        token_create(actor=olivia, user=alice, name="x", scopes="read", days=1)
    assert AuditEvent.objects.filter(action=Action.API_TOKEN_CREATED, outcome=Outcome.DENIED).exists()


@pytest.mark.parametrize(
    "header",
    ["Bearer accord_000000000000_" + "A" * 43, "Bearer nonsense", "Bearer a b", "Bearer"],
)
def test_anonymous_with_an_invalid_token_gets_401_json(client, header):
    response = client.get(reverse("api:document_list"), HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["error"]["code"] in {"token_invalid", "token_malformed"}


def test_a_token_with_a_wrong_secret_is_refused_and_audited(api, alice):
    secret = make_token(alice)
    forged = secret[:-4] + ("AAAA" if not secret.endswith("AAAA") else "BBBB")
    response = api(forged).get(reverse("api:document_list"))
    assert response.status_code == 401 and response.json()["error"]["code"] == "token_invalid"
    denial = AuditEvent.objects.filter(action=Action.API_TOKEN_REFUSED).last()
    assert denial.outcome == Outcome.DENIED and denial.details["reason"] == Reason.TOKEN_INVALID
    assert forged not in str(denial.details)


def test_token_of_an_inactive_user_gets_401(api, alice):
    secret = make_token(alice)
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    response = api(secret).get(reverse("api:document_list"))
    assert response.status_code == 401 and response.json()["error"]["code"] == "user_inactive"


def test_token_stops_working_the_second_it_expires(api, alice):
    secret = make_token(alice)
    assert api(secret).get(reverse("api:document_list")).status_code == 200
    ApiToken.objects.filter(user=alice).update(expires_at=timezone.now() - timedelta(microseconds=1))
    assert api(secret).get(reverse("api:document_list")).json()["error"]["code"] == "token_expired"


def test_use_is_recorded_at_most_once_a_minute(api, alice):
    secret = make_token(alice)
    client = api(secret)
    client.get(reverse("api:document_list"))
    first = ApiToken.objects.get(user=alice).last_used_at
    assert first is not None
    client.get(reverse("api:document_list"))
    assert ApiToken.objects.get(user=alice).last_used_at == first


def test_a_session_does_not_authenticate_the_api(verified_client, alice):
    """Bearer tokens only: a signed-in browser gets 401, so no cross-site request rides a cookie."""
    response = verified_client(alice).post(reverse("api:document_list"), {"title": "x", "tier": "official"})
    assert response.status_code == 401


def test_a_session_awaiting_mfa_gets_json_not_a_redirect(client, alice):
    client.force_login(alice)  # signed in, second factor not given
    response = client.get(reverse("api:document_list"))
    assert response.status_code == 401 and response.json()["error"]["code"] == "not_authenticated"


# -- the portal pages --------------------------------------------------------------------------


@pytest.mark.parametrize("name", TOKEN_PAGES)
def test_anonymous_is_sent_to_login_from_token_pages(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))


def test_anonymous_cannot_revoke(client, alice):
    token = token_create(actor=alice, user=alice, name="ci", scopes="read", days=1).token
    response = client.post(reverse("api:token_revoke", args=[token.code]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


def test_token_pages_need_mfa_first(client, alice):
    client.force_login(alice)
    response = client.get(reverse("api:tokens"))
    assert response.status_code == 302 and "/accounts/mfa/" in response["Location"]


def test_person_makes_a_token_and_sees_it_once(verified_client, alice):
    client = verified_client(alice)
    response = client.post(reverse("api:tokens"), {"name": "nightly evals", "read": "on", "write": "on", "days": "30"})
    assert response.status_code == 200
    token = ApiToken.objects.get(user=alice)
    secret = response.context["secret"]
    assert secret.encode() in response.content and token.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert response["Cache-Control"].startswith("max-age=0") or "no-cache" in response["Cache-Control"]
    listing = client.get(reverse("api:tokens"))
    assert b"nightly evals" in listing.content and secret.encode() not in listing.content
    # And it works.
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get(reverse("api:document_list")).status_code == 200


def test_token_form_needs_a_scope(verified_client, alice):
    response = verified_client(alice).post(reverse("api:tokens"), {"name": "x", "days": "30"})
    assert response.status_code == 400 and b"Choose at least one scope" in response.content
    assert not ApiToken.objects.exists()


def test_person_revokes_their_token_and_it_stops_working(verified_client, api, alice):
    secret = make_token(alice)
    token = ApiToken.objects.get(user=alice)
    response = verified_client(alice).post(reverse("api:token_revoke", args=[token.code]))
    assert response.status_code == 302
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert AuditEvent.objects.filter(action=Action.API_TOKEN_REVOKED, outcome=Outcome.ALLOWED).exists()
    assert api(secret).get(reverse("api:document_list")).json()["error"]["code"] == "token_revoked"


def test_revoke_is_post_only(verified_client, alice):
    token = token_create(actor=alice, user=alice, name="ci", scopes="read", days=1).token
    assert verified_client(alice).get(reverse("api:token_revoke", args=[token.code])).status_code == 405


def test_outsider_cannot_see_or_revoke_anothers_token(verified_client, alice, bob):
    token = token_create(actor=alice, user=alice, name="alice's pipeline", scopes="read", days=1).token
    client = verified_client(bob)
    assert b"alice&#x27;s pipeline" not in client.get(reverse("api:tokens")).content
    assert client.post(reverse("api:token_revoke", args=[token.code])).status_code == 404
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    assert AuditEvent.objects.filter(action=Action.API_TOKEN_REVOKED, outcome=Outcome.DENIED, actor_id=bob.pk).exists()


# -- the command -------------------------------------------------------------------------------


def test_command_prints_the_token_once_on_stdout(api, alice):
    out, err = StringIO(), StringIO()
    call_command(
        "api_token", "create", "--user", alice.email, "--scope", "read,write", "--days", "7", stdout=out, stderr=err
    )
    secret = out.getvalue().strip()
    assert secret.startswith("accord_") and "\n" not in secret and secret not in err.getvalue()
    token = ApiToken.objects.get(user=alice)
    assert token.scopes == "read,write" and token.name == "command line"
    assert api(secret).get(reverse("api:document_list")).status_code == 200
    listing = StringIO()
    call_command("api_token", "list", "--user", alice.email, stdout=listing)
    assert f"accord_{token.prefix}_" in listing.getvalue() and secret not in listing.getvalue()
    call_command("api_token", "revoke", secret, stderr=StringIO())
    assert api(secret).get(reverse("api:document_list")).status_code == 401


@pytest.mark.parametrize(
    "args",
    [
        ["--user", "nobody@example.org"],
        ["--user", "alice@ukasi.example", "--scope", "root"],
        ["--user", "alice@ukasi.example", "--days", "0"],
    ],
)
def test_command_refuses_bad_input(alice, args):
    with pytest.raises(CommandError):
        call_command("api_token", "create", *args, stdout=StringIO(), stderr=StringIO())
    assert not ApiToken.objects.exists()


def test_token_form_keeps_its_csrf_check(client, alice):
    from django.test import Client

    from tests.factories import login_verified

    strict = Client(enforce_csrf_checks=True)
    login_verified(strict, alice)
    response = strict.post(reverse("api:tokens"), {"name": "x", "read": "on", "days": "30"})
    assert response.status_code == 403
    assert not ApiToken.objects.exists()
