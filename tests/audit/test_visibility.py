"""What each viewer sees of the trail (audit/visibility.py, docs/SECURITY.md): the audit page,
both export formats and a document's access history, walked by a hostile partner admin, a
portal admin with no clearance, and the originator's admin.

The world: a UK finding released to the US that Bob (US) lists, reads and downloads; a UK
finding never released to the US and a compartmented one released to it, both of which Bob is
refused; and a code that never existed, which Bob is refused too.
"""

from __future__ import annotations

import csv
import io
import json
import uuid

import pytest
from django.urls import reverse

from audit.models import Action, AuditEvent
from audit.verify import verify_chain
from tests.factories import AttachmentFactory, DocumentFactory, ReleaseFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

EVENTS = reverse("audit:events")
EXPORTS = [reverse("audit:export", args=[fmt]) for fmt in ("jsonl", "csv")]
# What of the withheld documents must never reach a viewer who may not read them.
SECRETS = ("Unreleased bioscreen gap", "Compartmented jailbreak finding", "jailbreak-prompts", "JOINT-EX-1")
# Fields that differ between any two events, whatever they are about.
PER_EVENT = {
    "seq", "at", "request_id", "target_id", "hash", "prev_hash", "ip", "user_agent", "position", "sealed_at", "digest",
}  # fmt: skip


@pytest.fixture
def world(alice, bob, ukasi, usaisi, uk_us_agreement, finding, verified_client):
    notes = AttachmentFactory(document=finding, filename="uplift-notes.txt")
    ReleaseFactory(document=finding, agreement=uk_us_agreement, recipient=usaisi)
    unreleased = DocumentFactory(author=alice, title="Unreleased bioscreen gap", releasable_to=["USA"])
    compartmented = DocumentFactory(
        author=alice, title="Compartmented jailbreak finding", compartments=["joint-ex-1"], releasable_to=["USA"]
    )
    AttachmentFactory(document=compartmented, filename="jailbreak-prompts.txt")
    ReleaseFactory(document=compartmented, agreement=uk_us_agreement, recipient=usaisi)
    random_code = uuid.uuid4()
    client = verified_client(bob)
    assert client.get(reverse("sharing:document_list")).status_code == 200
    assert client.get(reverse("sharing:document_detail", args=[finding.code])).status_code == 200
    assert client.get(reverse("sharing:attachment_download", args=[notes.code])).status_code == 200
    for code in (unreleased.code, compartmented.code, random_code):
        assert client.get(reverse("sharing:document_detail", args=[code])).status_code == 404
    client.logout()
    return {
        "finding": finding,
        "unreleased": unreleased,
        "compartmented": compartmented,
        "random": random_code,
    }


def _bytes(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _everything(client, world) -> bytes:
    """Every byte a viewer gets from the trail: the page, both exports, the access histories."""
    received = [_bytes(client.get(url)) for url in (EVENTS, *EXPORTS)]
    for name in ("unreleased", "compartmented", "finding"):
        code = world[name].code
        for url in ("sharing:document_access", "sharing:document_access_export"):
            received.append(_bytes(client.get(reverse(url, args=[code]))))
    return b"\n".join(received)


def _jsonl(client, **query) -> list[dict]:
    response = client.get(reverse("audit:export", args=["jsonl"]), query)
    return [json.loads(line) for line in _bytes(response).decode().splitlines()]


def _csv(client, **query) -> list[dict]:
    response = client.get(reverse("audit:export", args=["csv"]), query)
    return list(csv.DictReader(io.StringIO(_bytes(response).decode())))


@pytest.mark.parametrize("viewer", ["ursula", "portal_admin"])
def test_hostile_partner_admin_and_portal_admin_learn_no_withheld_title_or_banner(
    request, verified_client, world, viewer
):
    client = verified_client(request.getfixturevalue(viewer))
    received = _everything(client, world).decode().lower()
    for secret in SECRETS:
        assert secret.lower() not in received
    # The stored rows still hold them, and the chain still verifies: only what is shown changed.
    assert AuditEvent.objects.filter(target_label="Compartmented jailbreak finding").exists()
    assert verify_chain().ok


def test_portal_admin_with_no_clearance_sees_no_title_even_of_the_released_finding(
    verified_client, portal_admin, world
):
    received = _everything(verified_client(portal_admin), world).decode()
    assert "Cyber uplift finding" not in received and "uplift-notes" not in received


def test_access_history_is_404_for_an_outsider_a_partner_admin_and_an_author(
    verified_client, ursula, alice, carl, portal_admin, world
):
    for person in (ursula, alice, carl, portal_admin):
        client = verified_client(person)
        for url in ("sharing:document_access", "sharing:document_access_export"):
            for code in (world["finding"].code, world["random"]):
                assert client.get(reverse(url, args=[code])).status_code == 404
    refusals = AuditEvent.objects.filter(action=Action.ACCESS_DENIED, details__wanted="access history")
    assert refusals.count() == 16


def test_access_history_sends_anonymous_to_login(client, world):
    for url in ("sharing:document_access", "sharing:document_access_export"):
        response = client.get(reverse(url, args=[world["finding"].code]))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


def test_access_history_refuses_post_with_405(verified_client, olivia, world):
    client = verified_client(olivia)
    for url in ("sharing:document_access", "sharing:document_access_export"):
        assert client.post(reverse(url, args=[world["finding"].code])).status_code == 405


@pytest.mark.parametrize("export", [_jsonl, _csv])
def test_forbidden_and_random_codes_give_the_actors_admin_identical_rows(verified_client, ursula, world, export):
    client = verified_client(ursula)
    rows = {row["target_id"]: row for row in export(client, action=Action.ACCESS_DENIED)}
    codes = [str(world[name].code) for name in ("unreleased", "compartmented")] + [str(world["random"])]
    shown = [{k: v for k, v in rows[code].items() if k not in PER_EVENT} for code in codes]
    assert shown[0] == shown[1] == shown[2]
    assert shown[0]["target_label"] == "document (withheld)"
    assert shown[0]["reason_text"] == "no such document"
    assert shown[0]["redacted"] in (True, "True")
    assert all(rows[code]["hash"] in ("", None) for code in codes)
    # Nor the content digest, which would let them test a guess of the title as well.
    assert all(rows[code]["digest"] in ("", None) for code in codes)


def test_forbidden_and_random_codes_look_the_same_on_the_audit_page(verified_client, ursula, world):
    events = verified_client(ursula).get(EVENTS, {"action": Action.ACCESS_DENIED}).context["events"]
    by_code = {event.target_id: event for event in events}
    codes = [str(world[name].code) for name in ("unreleased", "compartmented")] + [str(world["random"])]
    assert len({(by_code[c].shown_label == c, by_code[c].label_withheld, by_code[c].target_label) for c in codes}) == 1


def test_originator_admin_sees_the_partners_listing_read_download_and_refusal(
    verified_client, olivia, bob, usaisi, world
):
    client = verified_client(olivia)
    page = client.get(reverse("sharing:document_access", args=[world["finding"].code]))
    assert page.status_code == 200
    by_bob = [event for event in page.context["events"] if event["actor_id"] == bob.pk]
    assert {event["what"] for event in by_bob} >= {"listed", "read", "downloaded"}
    assert {event["organisation"] for event in by_bob} == {usaisi.short_name}
    # The revision released to Bob: the file's (2), not the finding's first.
    assert any(event["revision"] == 2 for event in by_bob if event["what"] == "read")
    assert "Cyber uplift finding" in page.content.decode()
    refused = client.get(reverse("sharing:document_access", args=[world["unreleased"].code])).context["events"]
    refusal = next(event for event in refused if event["actor_id"] == bob.pk)
    assert refusal["what"] == "refused"
    assert refusal["reason_text"] == "no release to the organisation"  # the real reason
    exported = _bytes(client.get(reverse("sharing:document_access_export", args=[world["unreleased"].code])))
    assert b"no release to the organisation" in exported and b"Unreleased bioscreen gap" in exported


def test_originator_admin_sees_partners_events_in_the_trail_and_its_exports(verified_client, olivia, bob, world):
    client = verified_client(olivia)
    rows = [row for row in _jsonl(client) if row["actor_id"] == bob.pk]
    actions = {row["action"] for row in rows}
    assert {Action.DOCUMENT_LISTED, Action.DOCUMENT_VIEWED, Action.ATTACHMENT_DOWNLOADED} <= actions
    refusal = next(row for row in rows if row["target_id"] == str(world["unreleased"].code))
    assert refusal["reason_text"] == "no release to the organisation"
    assert refusal["target_label"] == "Unreleased bioscreen gap"
    # A code that never existed is nobody's document: the originator does not see Bob's attempt.
    assert str(world["random"]) not in {row["target_id"] for row in rows}
    # Rows shown as stored still verify as stored.
    read = next(row for row in rows if row["action"] == Action.DOCUMENT_VIEWED)
    assert read["hash"] == AuditEvent.objects.get(seq=read["seq"]).hash and read["redacted"] is False


def test_originator_admin_who_may_not_read_sees_the_reason_code_but_no_title(verified_client, otto, bob, world):
    """Otto administers the originator but is cleared only to OFFICIAL: the refusal's real code,
    no title, no compartment."""
    client = verified_client(otto)
    rows = [row for row in _jsonl(client) if row["target_id"] == str(world["compartmented"].code)]
    refusal = next(row for row in rows if row["actor_id"] == bob.pk)
    assert refusal["details"]["reason"] == "not_read_in_to"
    assert "joint-ex-1" not in json.dumps(refusal).lower()
    assert refusal["target_label"] == "document (withheld)"


def test_the_document_page_links_its_access_history_only_for_the_originators_admin(
    verified_client, olivia, bob, alice, world
):
    url = reverse("sharing:document_access", args=[world["finding"].code])
    detail = reverse("sharing:document_detail", args=[world["finding"].code])
    assert url in verified_client(olivia).get(detail).content.decode()
    for person in (bob, alice):
        assert url not in verified_client(person).get(detail).content.decode()
