"""Anonymous and outsider access to the portal's own pages and the sign-in flow.

An outsider is a signed-in person of another organisation: these pages must show them only
their own things, and the probes must say no more to them than to anyone.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import totp_device

pytestmark = pytest.mark.django_db

LOGIN_REQUIRED = ["home", "accounts:mfa_verify", "accounts:mfa_enrol"]
PROBES = ["healthz", "readyz"]


@pytest.mark.parametrize("name", LOGIN_REQUIRED)
def test_anonymous_is_sent_to_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("name", PROBES)
def test_anonymous_probe_answers_without_detail(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 200
    body = response.json()
    assert set(body) <= {"status", "checks", "ms", "work", "audit"}
    # readyz's `work` (issue 19): the oldest age of each kind of background work, nothing more.
    assert all(age is None or isinstance(age, int) for age in body.get("work", {}).values())
    # readyz's `audit`: the seal lag (an age) and whether it is within its limit, nothing more.
    audit = body.get("audit", {})
    assert set(audit) <= {"seal_lag_seconds", "status"}
    assert audit.get("seal_lag_seconds") is None or isinstance(audit["seal_lag_seconds"], int | float)


def test_anonymous_sees_the_login_form(client):
    response = client.get(reverse("accounts:login"))
    assert response.status_code == 200
    assert b'name="password"' in response.content


def test_anonymous_logout_is_post_only_and_lands_on_login(client):
    assert client.get(reverse("accounts:logout")).status_code == 405
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_outsider_home_shows_nothing_of_another_organisation(verified_client, alice, bob):
    response = verified_client(bob).get(reverse("home"))
    assert response.status_code == 200
    assert alice.email.encode() not in response.content
    assert alice.display_name.encode() not in response.content


@pytest.mark.parametrize("name", PROBES)
def test_outsider_probe_says_no_more_than_to_anyone(client, verified_client, bob, name):
    anonymous = client.get(reverse(name)).json()
    signed_in = verified_client(bob).get(reverse(name)).json()
    anonymous.pop("ms", None)
    signed_in.pop("ms", None)
    assert signed_in == anonymous


def test_outsider_signed_in_is_sent_on_from_login(verified_client, bob):
    response = verified_client(bob).get(reverse("accounts:login"))
    assert response.status_code == 302


def test_outsider_logout_ends_only_their_own_session(verified_client, bob):
    c = verified_client(bob)
    assert c.post(reverse("accounts:logout")).status_code == 302
    assert c.get(reverse("home")).status_code == 302


def test_outsider_mfa_enrolment_shows_only_their_own_secret(client, alice, bob):
    import base64

    alice_secret = base64.b32encode(totp_device(alice).bin_key).decode().rstrip("=")
    client.force_login(bob)
    response = client.get(reverse("accounts:mfa_enrol"))
    assert response.status_code == 200
    assert alice_secret.encode() not in response.content


def test_outsider_already_verified_is_sent_on_from_mfa_verify(verified_client, bob):
    response = verified_client(bob).get(reverse("accounts:mfa_verify"))
    assert response.status_code == 302
    assert not response["Location"].startswith(reverse("accounts:login"))
