"""A compartment code the caller's organisation may not see answers like one that names nothing
(issue 12: owned compartments)."""

from __future__ import annotations

from django.urls import reverse

from accounts.models import Compartment


def test_a_forbidden_compartment_code_answers_like_an_unknown_one(as_user, hank, ukasi):
    Compartment.objects.create(code="cbrn", name="CBRN uplift", owner=ukasi)
    client = as_user(hank)
    answers = []
    for code in ("cbrn", "no-such"):
        payload = {"title": "T", "tier": "official", "compartments": [code]}
        response = client.post(reverse("api:document_list"), payload, format="json")
        answers.append((response.status_code, str(response.json()).replace(code, "<code>")))
    assert answers[0] == answers[1]
    assert answers[0][0] == 400
