"""An organisation admin sees every API token of its members and revokes any of them (audited);
another organisation's admin learns nothing of them; a member who is no admin is refused."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from api.models import ApiToken
from api.tokens import token_create
from audit.models import Action, AuditEvent, Outcome
from audit.reasons import Reason
from tests.factories import login_verified

pytestmark = pytest.mark.django_db
PAGES = ["api:org_tokens"]


@pytest.fixture
def alices_token(alice):
    return token_create(actor=alice, user=alice, name="nightly evals", scopes="read,write", days=30)


def _revoke_url(token: ApiToken) -> str:
    return reverse("api:org_token_revoke", kwargs={"code": token.code})


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_is_sent_to_login_from_the_members_tokens_page(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))


def test_anonymous_cannot_revoke_a_members_token(client, alices_token):
    response = client.post(_revoke_url(alices_token.token))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
    assert ApiToken.objects.get(pk=alices_token.token.pk).revoked_at is None


def test_admin_sees_each_members_tokens_but_never_a_secret(client, olivia, alice, alices_token, bob):
    token_create(actor=bob, user=bob, name="us pipeline", scopes="read", days=5)
    login_verified(client, olivia)
    response = client.get(reverse("api:org_tokens"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "nightly evals" in body and alice.display_name in body and "read,write" in body
    assert f"accord_{alices_token.token.prefix}_" in body
    assert alices_token.secret not in body and alices_token.token.secret_hash not in body
    assert "us pipeline" not in body
    assert response["Cache-Control"].startswith("max-age=0") or "no-store" in response["Cache-Control"]


def test_the_list_costs_the_same_for_one_token_as_for_many(client, olivia, alice):
    login_verified(client, olivia)
    token_create(actor=alice, user=alice, name="one", scopes="read", days=5)
    client.get(reverse("api:org_tokens"))  # the session's first request writes its clock
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("api:org_tokens"))
    for n in range(5):
        token_create(actor=olivia, user=olivia, name=f"more {n}", scopes="read", days=5)
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse("api:org_tokens")).status_code == 200
    assert len(many) == len(one)


def test_admin_revokes_a_members_token_audited_and_it_stops_at_once(client, api, olivia, alice, alices_token):
    assert api(alices_token.secret).get(reverse("api:document_list")).status_code == 200
    login_verified(client, olivia)
    response = client.post(_revoke_url(alices_token.token))
    assert response.status_code == 302 and response["Location"] == reverse("api:org_tokens")
    token = ApiToken.objects.get(pk=alices_token.token.pk)
    assert token.revoked_at is not None and token.revoked_by_id == olivia.pk
    event = AuditEvent.objects.get(action=Action.API_TOKEN_REVOKED, target_id=str(token.code))
    assert event.actor_id == olivia.pk and event.outcome == Outcome.ALLOWED
    assert api(alices_token.secret).get(reverse("api:document_list")).status_code == 401
    assert "revoked" in client.get(reverse("api:org_tokens")).content.decode()


def test_outsider_admin_sees_none_of_another_organisations_tokens(client, ursula, alices_token):
    login_verified(client, ursula)
    response = client.get(reverse("api:org_tokens"))
    assert response.status_code == 200
    assert b"nightly evals" not in response.content and alices_token.token.prefix.encode() not in response.content


def test_outsider_admin_gets_404_revoking_another_organisations_token_audited(client, ursula, alices_token):
    login_verified(client, ursula)
    response = client.post(_revoke_url(alices_token.token))
    assert response.status_code == 404
    assert ApiToken.objects.get(pk=alices_token.token.pk).revoked_at is None
    denial = AuditEvent.objects.get(action=Action.API_TOKEN_REVOKED, actor_id=ursula.pk)
    assert denial.outcome == Outcome.DENIED and denial.details["reason"] == Reason.NO_SUCH_TOKEN_OF_THEIR_MEMBERS
    # The same answer as for a token that does not exist.
    missing = reverse("api:org_token_revoke", kwargs={"code": "00000000-0000-0000-0000-000000000000"})
    assert client.post(missing).status_code == 404


def test_a_member_who_is_no_admin_is_refused_with_403_audited(client, alice, alices_token):
    login_verified(client, alice)
    assert client.get(reverse("api:org_tokens")).status_code == 403
    assert client.post(_revoke_url(alices_token.token)).status_code == 403
    assert ApiToken.objects.get(pk=alices_token.token.pk).revoked_at is None
    assert (
        AuditEvent.objects.filter(action=Action.ACCESS_DENIED, actor_id=alice.pk, outcome=Outcome.DENIED).count() == 2
    )


def test_revoke_is_post_only(client, olivia, alices_token):
    login_verified(client, olivia)
    assert client.get(_revoke_url(alices_token.token)).status_code == 405
    assert client.post(reverse("api:org_tokens")).status_code == 405


def test_the_pages_need_mfa_first(client, olivia):
    client.force_login(olivia)
    assert client.get(reverse("api:org_tokens"))["Location"].startswith(reverse("accounts:mfa_verify"))
