"""Anonymous and outsider access to the password pages: nothing about another person leaks,
nobody changes another person's password."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

PUBLIC_PAGES = ["accounts:password_reset", "accounts:password_reset_done", "accounts:password_reset_complete"]


def _forged_confirm_url(user):
    return reverse(
        "accounts:password_reset_confirm", args=[urlsafe_base64_encode(force_bytes(user.pk)), "forged-token"]
    )


@pytest.mark.parametrize("name", PUBLIC_PAGES)
def test_anonymous_sees_the_public_reset_pages(client, name):
    assert client.get(reverse(name)).status_code == 200


def test_anonymous_password_change_goes_to_login(client):
    response = client.get(reverse("accounts:password_change"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_anonymous_forged_reset_link_is_refused(client, alice):
    response = client.get(_forged_confirm_url(alice), follow=True)
    assert response.status_code == 200
    assert b'name="new_password1"' not in response.content
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_outsider_reset_request_for_someone_else_reveals_nothing(verified_client, alice, bob):
    client = verified_client(bob)
    known = client.post(reverse("accounts:password_reset"), {"email": alice.email})
    unknown = client.post(reverse("accounts:password_reset"), {"email": "nobody@nowhere.example"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == reverse("accounts:password_reset_done")
    # The link goes to the account's owner only, never to the person who asked.
    assert [m.to for m in mail.outbox] == [[alice.email]]


@pytest.mark.parametrize("name", PUBLIC_PAGES)
def test_outsider_reset_pages_show_nothing_of_others(verified_client, alice, bob, name):
    response = verified_client(bob).get(reverse(name))
    assert response.status_code in (200, 302)
    assert alice.email.encode() not in response.content


def test_outsider_cannot_reset_another_persons_password_with_a_forged_link(verified_client, alice, bob):
    client = verified_client(bob)
    url = _forged_confirm_url(alice)
    client.post(url, {"new_password1": "an entirely new passphrase", "new_password2": "an entirely new passphrase"})
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_outsider_password_change_changes_only_their_own(verified_client, alice, bob):
    client = verified_client(bob)
    new = "bob's fresh passphrase 2026"
    response = client.post(
        reverse("accounts:password_change"), {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    bob.refresh_from_db()
    assert alice.check_password(PASSWORD)
    assert bob.check_password(new)
