"""Documents through the API: the allowed cases, with their content and their audit rows."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import Action, AuditEvent
from sharing.models import Document, DocumentRevision
from tests.factories import countries, domains
from tests.sharing.documents_support import new_document

pytestmark = pytest.mark.django_db


def test_create_makes_a_draft_for_the_authors_organisation(as_user, alice, ukasi):
    response = as_user(alice).post(
        reverse("api:document_list"),
        {
            "title": "Cyber uplift on Frontier-8",
            "summary": "More tasks solved with tools.",
            "body": "## Method",
            "tier": "official-sensitive",
            "releasable_to": ["USA"],
            "risk_domains": ["cyber-offence"],
            "model_developer": "Example Labs",
            "model_name": "Frontier-8",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    document = Document.objects.get(code=body["code"])
    assert document.originator == ukasi and document.author == alice and document.status == "draft"
    assert body["marking"] == {
        "tier": "official-sensitive",
        "releasable_to": ["GBR", "USA"],
        "compartments": [],
        "caveats": [],
        "banner": "OFFICIAL-SENSITIVE // REL TO USA, GBR",
    }
    assert body["risk_domains"] == ["cyber-offence"] and body["originator"] == "ukasi"
    assert body["url"] == reverse("api:document_detail", args=[document.code])
    assert AuditEvent.objects.filter(action=Action.DOCUMENT_CREATED, target_id=str(document.code)).exists()


def test_create_above_own_clearance_is_refused_with_400_and_nothing_written(as_user, alice):
    response = as_user(alice).post(reverse("api:document_list"), {"title": "Too high", "tier": "secret"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert not Document.objects.filter(title="Too high").exists()


def test_create_with_unknown_codes_names_the_fields(as_user, alice):
    response = as_user(alice).post(
        reverse("api:document_list"),
        {"title": "x", "tier": "ultra", "releasable_to": ["XXX"]},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"tier", "releasable_to"}


def test_detail_shows_the_document_and_audits_the_read(as_user, alice, draft):
    response = as_user(alice).get(reverse("api:document_detail", args=[draft.code]))
    assert response.status_code == 200
    body = response.json()
    assert body["title"] == draft.title and body["body"] == draft.body and body["revision"] == 1
    assert body["marking"]["banner"] == "OFFICIAL // REL TO USA, GBR"
    event = AuditEvent.objects.filter(action=Action.DOCUMENT_VIEWED).last()
    assert event.actor_id == alice.pk and event.target_id == str(draft.code) and event.details["via"] == "api"


def test_update_changes_only_the_given_fields_as_one_revision(as_user, alice, draft):
    response = as_user(alice).patch(
        reverse("api:document_detail", args=[draft.code]),
        {"title": "Renamed", "risk_domains": ["cbrn", "autonomy"], "base_revision": 1},
        format="json",
    )
    assert response.status_code == 200, response.content
    draft.refresh_from_db()
    assert draft.title == "Renamed" and draft.summary == "Agents with tools solved more tasks."
    assert draft.revision == 2 and response.json()["revision"] == 2
    assert sorted(response.json()["risk_domains"]) == ["autonomy", "cbrn"]
    assert DocumentRevision.objects.get(document=draft, number=2).changed_fields == ["title", "risk_domains"]


def test_update_on_a_stale_revision_is_a_400_and_changes_nothing(as_user, alice, draft):
    client = as_user(alice)
    client.patch(reverse("api:document_detail", args=[draft.code]), {"title": "First"}, format="json")
    response = client.patch(
        reverse("api:document_detail", args=[draft.code]), {"title": "Second", "base_revision": 1}, format="json"
    )
    assert response.status_code == 400
    assert "revision" in response.json()["error"]["message"]
    draft.refresh_from_db()
    assert draft.title == "First"


def test_publish_publishes_once(as_user, alice, draft):
    client = as_user(alice)
    response = client.post(reverse("api:document_publish", args=[draft.code]))
    assert response.status_code == 200
    assert response.json()["status"] == "published" and response.json()["published_at"]
    again = client.post(reverse("api:document_publish", args=[draft.code]))
    assert again.status_code == 400 and again.json()["error"]["code"] == "invalid"


def test_list_applies_the_portal_filters(as_user, alice):
    cbrn = new_document(alice, title="Pathogen uplift", risk_domains=domains("cbrn"), model_name="Frontier-7")
    cyber = new_document(alice, title="Exploit writing", risk_domains=domains("cyber-offence"), model_name="Frontier-8")
    eyes_only = new_document(alice, title="UK only", releasable_to=countries(), model_name="Frontier-8")
    client = as_user(alice)

    def codes(**params):
        response = client.get(reverse("api:document_list"), params)
        assert response.status_code == 200, response.content
        return {d["code"] for d in response.json()["results"]}

    assert codes() == {str(cbrn.code), str(cyber.code), str(eyes_only.code)}
    assert codes(risk_domain="cbrn") == {str(cbrn.code)}
    assert codes(model_name="frontier-8") == {str(cyber.code), str(eyes_only.code)}
    assert codes(q="exploit") == {str(cyber.code)}
    assert codes(status="published") == set()
    assert codes(originator="ukasi", tier="official") == {str(cbrn.code), str(cyber.code), str(eyes_only.code)}
    listed = client.get(reverse("api:document_list")).json()["results"]
    assert "body" not in listed[0]


def test_list_rejects_bad_filters_with_400(as_user, alice):
    response = as_user(alice).get(reverse("api:document_list"), {"tier": "nope", "date_from": "yesterday"})
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"tier", "date_from"}


def test_list_pages_with_a_capped_page_size(as_user, alice):
    for i in range(3):
        new_document(alice, title=f"Finding {i}")
    client = as_user(alice)
    first = client.get(reverse("api:document_list"), {"page_size": 2}).json()
    assert first["count"] == 3 and len(first["results"]) == 2 and first["next"]
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 1 and second["next"] is None
    assert client.get(reverse("api:document_list"), {"page": 9}).status_code == 404


def test_list_query_count_does_not_grow_with_rows(as_user, alice):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = as_user(alice)
    new_document(alice, title="one")
    client.get(reverse("api:document_list"))  # the token's first use writes last_used_at
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("api:document_list")).status_code == 200
    for i in range(8):
        new_document(alice, title=f"more {i}", risk_domains=domains("cbrn"))
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse("api:document_list")).json()["count"] == 9
    assert len(many) == len(few)


def test_nul_characters_in_codes_are_a_400_not_a_database_error(as_user, alice):
    client = as_user(alice)
    response = client.post(
        reverse("api:document_list"), {"title": "x", "tier": "offi\x00cial", "caveats": ["\x00"]}, format="json"
    )
    assert response.status_code == 400 and set(response.json()["error"]["details"]) == {"tier", "caveats"}
    assert client.get(reverse("api:document_list"), {"tier": "\x00", "originator": "uk\x00"}).status_code == 400
