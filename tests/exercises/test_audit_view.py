"""The audit trail names an exercise only to a viewer who sees it (docs/SECURITY.md)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import login_verified

from .support import member, read_in

pytestmark = pytest.mark.django_db

TITLE = "Cyber uplift of Model X"


def test_a_participant_admin_not_read_in_sees_their_member_refused_without_the_title(
    client, exercise, bob, ursula, olivia
):
    login_verified(client, bob)
    assert client.get(reverse("exercises:detail", args=[exercise.code])).status_code == 404
    # Ursula, the US admin, reads her people's events: the refusal is there, the title is not.
    login_verified(client, ursula)
    trail = client.get(reverse("audit:export", args=["jsonl"]))
    assert trail.status_code == 200
    body = b"".join(trail.streaming_content) if trail.streaming else trail.content
    assert str(exercise.code).encode() in body and TITLE.encode() not in body
    # Read in, she sees it named.
    read_in(ursula, exercise)
    body = client.get(reverse("audit:export", args=["jsonl"]))
    body = b"".join(body.streaming_content) if body.streaming else body.content
    assert TITLE.encode() in body


def test_the_leads_admin_sees_every_event_about_the_exercise(client, exercise, usaisi, olivia):
    reader = member(usaisi, exercise, clearance="official-sensitive")
    login_verified(client, reader)
    assert client.get(reverse("exercises:detail", args=[exercise.code])).status_code == 200
    login_verified(client, olivia)
    body = client.get(reverse("audit:export", args=["jsonl"]))
    body = b"".join(body.streaming_content) if body.streaming else body.content
    assert b"exercise.viewed" in body and reader.email.encode() in body
