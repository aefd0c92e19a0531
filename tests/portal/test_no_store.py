"""`Cache-Control: no-store` and `Pragma: no-cache` on every response that may carry marked
content: every URL of the URL conf (walked, as the coverage test walks it), to a signed-in
person and to an API token, and every API answer even to a client without a token."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from exercises.services import protocol_draft
from tests.api.conftest import make_token
from tests.api.support import clean_attachment
from tests.exercises.support import TASKS, make_exercise, read_in
from tests.factories import AgreementFactory, DocumentFactory, ReleaseFactory
from tests.portal.test_url_coverage import project_url_names

pytestmark = pytest.mark.django_db

URLS = project_url_names()
# Keeps its own caching on purpose: tier colours, never a document's content (tested below).
UNMARKED = {"sharing:tiers_css"}
TOKEN_PREFIXES = ("api/v1/", "api/schema/")
# Pages that must render (200) for the persona walking them, so the walk proves the header on
# real marked content, not only on refusals.
MUST_RENDER = {
    "home",
    "sharing:document_list",
    "sharing:document_detail",
    "sharing:document_edit",
    "sharing:document_attachments",
    "sharing:attachment_download",
    "sharing:agreement_list",
    "sharing:agreement_detail",
    "sharing:release_queue",
    "evals:results",
    "audit:events",
    "audit:export",
    "api:document_list",
    "api:document_detail",
    "api:document_attachments",
    "api:attachment_download",
    "api:release_list",
    "api:release_detail",
    "api:agreement_list",
    "api:eval_run_list",
    "exercises:list",
    "exercises:detail",
    "exercises:protocol_export",
    "api:exercise_list",
    "api:exercise_detail",
    "api:protocol_detail",
}


@pytest.fixture
def world(alice, rory, olivia, uma, ukasi, usaisi, media):
    """Alice's published UK finding with a clean attachment, the UK-US agreement and a release
    of the finding awaiting decision; a UK-US exercise with a protocol draft, Alice read in."""
    document = DocumentFactory(author=alice, title="Marked finding", tier="official")
    agreement = AgreementFactory(parties=[ukasi, usaisi])
    release = ReleaseFactory(document=document, agreement=agreement, recipient=usaisi, status="requested")
    attachment = clean_attachment(alice, document, b"evidence\n", "evidence.txt")
    exercise = make_exercise(olivia, agreement, usaisi)
    read_in(alice, exercise)
    protocol = protocol_draft(actor=olivia, exercise=exercise, target_model="lab/x", reference_models=[], tasks=TASKS)
    return {
        "document": document,
        "agreement": agreement,
        "release": release,
        "attachment": attachment,
        "member": uma,
        "exercise": exercise,
        "protocol": protocol,
    }


def _object_for(name: str) -> str:
    """Which of the world's objects a URL's `code` names."""
    if name.startswith("accounts:org_") and ("member" in name or name.endswith("_grant") or "role" in name):
        return "member"
    if name.startswith("accounts:org_") and "mfa" in name:
        return "member"
    if name.startswith(("sharing:document_", "api:document_")):
        return "document"
    if name.startswith(("exercises:protocol_", "api:protocol_")):
        return "protocol"
    if name.startswith(("exercises:", "api:exercise_")):
        return "exercise"
    for key in ("attachment", "release", "agreement"):
        if key in name and not name.endswith("release_request"):
            return key
    return "document"


def url_of(name: str, world) -> str:
    route = URLS[name]
    kwargs: dict[str, str] = {}
    if "<uuid:code>" in route:
        key = _object_for(name)
        known = key in world and not name.startswith(("accounts:org_clearance_", "accounts:org_readin_revoke"))
        kwargs["code"] = str(world[key].code) if known and hasattr(world[key], "code") else str(uuid.uuid4())
    if "<str:filename>" in route:
        kwargs["filename"] = "notes.txt"
    if "<str:fmt>" in route:
        kwargs["fmt"] = "csv"
    if "<str:key_id>" in route:
        kwargs["key_id"] = "0" * 64  # a security key's credential hash
    if "<uidb64>" in route:
        kwargs.update(uidb64="MQ", token="set-password")
    if name == "api:not_found":
        return "/api/v1/no-such-endpoint/"
    return reverse(name, kwargs=kwargs)


def persona_for(name: str, alice, rory, olivia):
    if name.startswith(("accounts:org_", "audit:")):
        return olivia
    if name in {"sharing:release_queue", "sharing:release_approve", "sharing:release_refuse"}:
        return rory
    return alice


def assert_no_store(response, name):
    assert "no-store" in response.get("Cache-Control", ""), (name, response.status_code, response.get("Cache-Control"))
    assert response.get("Pragma") == "no-cache", (name, response.status_code)


@pytest.mark.parametrize("name", sorted(set(URLS) - UNMARKED))
def test_every_url_answers_a_signed_in_person_or_token_with_no_store(verified_client, alice, rory, olivia, world, name):
    user = persona_for(name, alice, rory, olivia)
    url = url_of(name, world)
    if URLS[name].startswith(TOKEN_PREFIXES):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(user)}")
    else:
        client = verified_client(user)
    response = client.get(url)
    if name in MUST_RENDER:
        assert response.status_code == 200, (name, response.status_code)
    assert_no_store(response, name)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_every_audit_export_is_no_store(verified_client, olivia, world, fmt):
    response = verified_client(olivia).get(reverse("audit:export", kwargs={"fmt": fmt}))
    assert response.status_code == 200
    assert_no_store(response, fmt)


def test_a_refused_post_and_a_not_found_page_are_no_store_too(verified_client, alice, world):
    client = verified_client(alice)
    assert_no_store(client.post(reverse("sharing:release_approve", args=[uuid.uuid4()])), "approve")
    assert_no_store(client.get("/no-such-page/"), "404")


@pytest.mark.parametrize("name", ["api:document_list", "api:eval_run_list", "api:schema", "api:not_found"])
def test_api_answers_without_a_token_are_no_store(world, name):
    response = APIClient().get(url_of(name, world))
    assert response.status_code in (200, 401, 404)  # the schema is public
    assert_no_store(response, name)


def test_downloads_keep_never_cache(verified_client, alice, world):
    response = verified_client(alice).get(reverse("sharing:attachment_download", args=[world["attachment"].code]))
    assert response.status_code == 200
    directives = {d.strip() for d in response["Cache-Control"].split(",")}
    assert {"no-cache", "no-store", "must-revalidate", "private", "max-age=0"} <= directives
    assert response.has_header("Expires")
    assert_no_store(response, "download")


def test_the_tier_stylesheet_keeps_its_own_caching(verified_client, alice):
    response = verified_client(alice).get(reverse("sharing:tiers_css"))
    assert response.status_code == 200
    assert "no-store" not in response["Cache-Control"] and "max-age=300" in response["Cache-Control"]
    assert not response.has_header("Pragma")


def test_a_signed_out_visitor_s_pages_are_left_to_their_views(client):
    response = client.get(reverse("accounts:password_reset"))
    assert response.status_code == 200
    assert not response.has_header("Pragma") and "no-store" not in response.get("Cache-Control", "")
