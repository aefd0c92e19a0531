"""The audit viewer: who sees what, filters, pages, exports, and that reading is audited."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.urls import reverse

from audit.models import Action, AuditEvent, Outcome, VerificationRun
from audit.services import record, verification_record
from audit.verify import verify_chain
from tests.factories import give_role

pytestmark = pytest.mark.django_db

EVENTS = reverse("audit:events")


@pytest.fixture
def trail(alice, bob, olivia):
    # Labels of an unmarked target type, so they mark whose event is seen; a document's title
    # is shown only to a reader of the document (tests/audit/test_visibility.py).
    record(Action.DOCUMENT_VIEWED, actor=alice, target=("tests.marker", "doc-uk", "UK finding"))
    record(Action.DOCUMENT_VIEWED, actor=bob, target=("tests.marker", "doc-us", "US finding"))
    record(Action.ACCESS_DENIED, actor=bob, target=alice, outcome=Outcome.DENIED)
    record(Action.CLEARANCE_GRANTED, actor=olivia, target=alice, details={"tier": "secret"})


def _labels(response) -> set[str]:
    return {e.target_label for e in response.context["events"]}


def test_anonymous_is_sent_to_login(client):
    for url in (EVENTS, reverse("audit:export", args=["csv"]), reverse("audit:checkpoints")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


def test_member_without_admin_role_gets_404_and_the_attempt_is_audited(verified_client, alice):
    client = verified_client(alice)
    for url in (EVENTS, reverse("audit:export", args=["jsonl"]), reverse("audit:checkpoints")):
        assert client.get(url).status_code == 404
    denials = AuditEvent.objects.filter(action=Action.ACCESS_DENIED, actor_id=alice.pk, target_type="audit.trail")
    assert denials.count() == 3


def test_post_is_refused_with_405(verified_client, portal_admin):
    client = verified_client(portal_admin)
    assert client.post(EVENTS).status_code == 405
    assert client.post(reverse("audit:export", args=["csv"])).status_code == 405


def test_portal_admin_sees_every_organisation(verified_client, portal_admin, trail):
    response = verified_client(portal_admin).get(EVENTS)
    assert response.status_code == 200
    assert {"UK finding", "US finding"} <= _labels(response)


def test_org_admin_sees_only_events_by_or_about_their_people(verified_client, olivia, alice, trail):
    response = verified_client(olivia).get(EVENTS)
    assert response.status_code == 200
    labels = _labels(response)
    assert "UK finding" in labels
    assert "US finding" not in labels
    # Bob (US) acting on Alice (UK) is about a UK person, so the UK admin sees it.
    assert any(e.action == Action.ACCESS_DENIED and e.target_id == str(alice.code) for e in response.context["events"])


def test_org_admin_cannot_choose_another_organisation(verified_client, olivia, usaisi, trail):
    response = verified_client(olivia).get(EVENTS, {"organisation": str(usaisi.code)})
    assert response.status_code == 400
    assert "events" not in response.context or response.context["events"] is None
    assert AuditEvent.objects.filter(action=Action.AUDIT_VIEWED, outcome=Outcome.ERROR).exists()


def test_filters_narrow_the_list(verified_client, portal_admin, bob, usaisi, trail):
    client = verified_client(portal_admin)
    by_bob = client.get(EVENTS, {"actor": "bob@"}).context["events"]
    assert len(by_bob) == 2 and {e.actor_id for e in by_bob} == {bob.pk}
    assert {e.action for e in client.get(EVENTS, {"action": Action.CLEARANCE_GRANTED}).context["events"]} == {
        Action.CLEARANCE_GRANTED
    }
    assert {e.outcome for e in client.get(EVENTS, {"outcome": "denied"}).context["events"]} == {"denied"}
    assert _labels(client.get(EVENTS, {"target": "doc-us"})) == {"US finding"}
    assert {e.organisation_id for e in client.get(EVENTS, {"organisation": str(usaisi.code)}).context["events"]} == {
        usaisi.pk
    }
    assert client.get(EVENTS, {"since": "2999-01-01T00:00"}).context["events"] == []
    assert client.get(EVENTS, {"since": "2020-01-01T00:00", "until": "2019-01-01T00:00"}).status_code == 400


def test_viewing_is_audited_with_the_filters(verified_client, portal_admin, trail):
    verified_client(portal_admin).get(EVENTS, {"action": Action.DOCUMENT_VIEWED})
    viewed = AuditEvent.objects.filter(action=Action.AUDIT_VIEWED, actor_id=portal_admin.pk).get()
    assert viewed.details == {"filters": {"action": Action.DOCUMENT_VIEWED}}


def test_pages_walk_back_and_forth_without_gaps(verified_client, portal_admin):
    # seq is the event's own number: from 1 on SQLite, from a sequence shared with earlier
    # tests on PostgreSQL; only the order matters.
    seqs = [record(Action.DOCUMENT_VIEWED, target=("sharing.document", str(i), f"doc {i}")).seq for i in range(120)]
    newest_first = seqs[::-1]
    client = verified_client(portal_admin)
    seen = []
    response = client.get(EVENTS, {"action": Action.DOCUMENT_VIEWED})
    while True:
        seen += [e.seq for e in response.context["events"]]
        if not response.context["has_older"]:
            break
        response = client.get(EVENTS, {"action": Action.DOCUMENT_VIEWED, "before": response.context["older_cursor"]})
    assert seen == newest_first
    back = client.get(EVENTS, {"action": Action.DOCUMENT_VIEWED, "after": response.context["newer_cursor"]})
    assert [e.seq for e in back.context["events"]] == newest_first[50:100]
    assert back.context["has_newer"] and back.context["has_older"]


def test_unsealed_events_are_shown_as_not_yet_sealed(verified_client, portal_admin, settings):
    from audit import sequencer

    settings.ACCORD_AUDIT_SEALING = "sequencer"
    waiting = record(Action.DOCUMENT_VIEWED, target=("sharing.document", "w", "waiting"))
    page = verified_client(portal_admin).get(EVENTS, {"action": Action.DOCUMENT_VIEWED})
    (shown,) = page.context["events"]
    assert shown["seq"] == waiting.seq and shown["position"] is None
    assert "not yet sealed" in page.content.decode()
    sequencer.seal_pending(sign=False)
    page = verified_client(portal_admin).get(EVENTS, {"action": Action.DOCUMENT_VIEWED})
    assert page.context["events"][0]["position"] is not None
    assert "not yet sealed" not in page.content.decode()


def test_latest_verification_is_shown(verified_client, portal_admin, trail):
    from django.utils import timezone

    verification_record(result=verify_chain(), started_at=timezone.now(), trigger="test")
    response = verified_client(portal_admin).get(EVENTS)
    assert response.context["verification"].status == VerificationRun.Status.PASSED
    assert "Passed" in response.content.decode()


def test_jsonl_export_streams_filtered_events_and_is_audited(verified_client, olivia, trail):
    response = verified_client(olivia).get(reverse("audit:export", args=["jsonl"]), {"action": Action.DOCUMENT_VIEWED})
    assert response.status_code == 200
    assert response.streaming
    lines = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert [line["target_label"] for line in lines] == ["UK finding"]
    assert {"seq", "hash", "prev_hash", "at", "details"} <= set(lines[0])
    exported = AuditEvent.objects.get(action=Action.AUDIT_EXPORTED, actor_id=olivia.pk)
    assert exported.details["format"] == "jsonl"


def test_csv_export_defuses_formulas(verified_client, portal_admin):
    record(Action.DOCUMENT_VIEWED, target=("tests.marker", "x", '=HYPERLINK("http://evil")'))
    response = verified_client(portal_admin).get(reverse("audit:export", args=["csv"]))
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0]["target_label"].startswith("'=")
    assert AuditEvent.objects.filter(action=Action.AUDIT_EXPORTED, details__format="csv").exists()


def test_unknown_export_format_is_404(verified_client, portal_admin):
    assert verified_client(portal_admin).get(reverse("audit:export", args=["xml"])).status_code == 404


def test_public_key_is_served_to_anonymous_visitors(client):
    response = client.get(reverse("audit:public_key"))
    assert response.status_code == 200
    assert response.content.startswith(b"-----BEGIN PUBLIC KEY-----")
    assert len(response["X-Key-Id"]) == 16


def test_public_key_is_the_same_for_an_outsider(client, verified_client, bob):
    anonymous = client.get(reverse("audit:public_key")).content
    assert verified_client(bob).get(reverse("audit:public_key")).content == anonymous


def test_outsider_admin_of_another_organisation_sees_none_of_ours(verified_client, ursula, olivia, trail):
    """An admin of the US institute reads only events by or about US people, never the UK's."""
    client = verified_client(ursula)
    response = client.get(EVENTS)
    assert response.status_code == 200
    assert "UK finding" not in _labels(response)
    assert "US finding" in _labels(response)
    exported = client.get(reverse("audit:export", args=["jsonl"]))
    lines = [json.loads(line) for line in b"".join(exported.streaming_content).splitlines() if line]
    assert lines and all(line["target_label"] != "UK finding" for line in lines)


def test_outsider_without_admin_role_gets_404_everywhere(verified_client, bob):
    client = verified_client(bob)
    for url in (EVENTS, reverse("audit:export", args=["csv"]), reverse("audit:checkpoints")):
        assert client.get(url).status_code == 404


def test_checkpoints_download_is_what_verify_reads(verified_client, portal_admin, tmp_path):
    from django.core.management import call_command

    from audit.services import checkpoint_create

    record(Action.AUTH_LOGIN)
    checkpoint_create()
    response = verified_client(portal_admin).get(reverse("audit:checkpoints"))
    assert response.status_code == 200
    saved = tmp_path / "cp.json"
    saved.write_bytes(response.content)
    assert len(json.loads(response.content)["checkpoints"]) == 1
    call_command("audit", "verify", "--checkpoints", str(saved))


def test_admin_role_on_another_organisation_scopes_to_that_one(verified_client, bob, ukasi, trail):
    give_role(bob, "org_admin", ukasi)
    labels = _labels(verified_client(bob).get(EVENTS))
    assert "UK finding" in labels
    assert "US finding" not in labels  # his own act, but filed under his US organisation


def test_exports_show_the_reason_in_words_for_old_and_new_events(verified_client, portal_admin):
    record(Action.ACCESS_DENIED, outcome=Outcome.DENIED, details={"reason": "not read in to joint-ex-1"})
    record(
        Action.ACCESS_DENIED,
        outcome=Outcome.DENIED,
        details={"reason": "not_read_in_to", "compartments": "joint-ex-1", "wanted": "read"},
    )
    # A person's own words on an allowed action are not a refusal code, whatever they say.
    record(Action.RELEASE_REFUSED, details={"reason": "orcon"})
    client = verified_client(portal_admin)
    query = {"action": Action.ACCESS_DENIED}
    response = client.get(reverse("audit:export", args=["jsonl"]), query)
    lines = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert [line["reason_text"] for line in lines] == ["not read in to joint-ex-1"] * 2
    assert lines[1]["details"]["reason"] == "not_read_in_to"  # stored as recorded, so the hash still holds
    response = client.get(reverse("audit:export", args=["csv"]), query)
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["reason_text"] for row in rows] == ["not read in to joint-ex-1"] * 2
    response = client.get(reverse("audit:export", args=["jsonl"]), {"action": Action.RELEASE_REFUSED})
    assert json.loads(b"".join(response.streaming_content).decode().splitlines()[0])["reason_text"] == ""
