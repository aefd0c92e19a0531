"""The audit viewer prints a document's title (or a release's, or a file name) only to a viewer
who may read the document now; anyone else sees its code. Constant queries per page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import Action, AuditEvent, Outcome
from audit.services import record
from tests.factories import AgreementFactory, AttachmentFactory, DocumentFactory, ReadInFactory, ReleaseFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

EVENTS = reverse("audit:events")


@pytest.fixture
def documents(ukasi, usaisi, alice, bob):
    """An open UK finding Olivia may read, a compartmented one she is not read in to, and a US
    finding Alice was refused."""
    open_doc = DocumentFactory(author=alice, title="Open uplift finding", releasable_to=["USA"])
    closed_doc = DocumentFactory(
        author=alice, title="Compartmented jailbreak finding", compartments=["joint-ex-1"], releasable_to=["USA"]
    )
    us_doc = DocumentFactory(author=bob, title="US pathogen screening gap", releasable_to=["GBR"])
    return open_doc, closed_doc, us_doc


@pytest.fixture
def trail(documents, alice, ukasi, usaisi, portal_admin):
    open_doc, closed_doc, us_doc = documents
    record(Action.DOCUMENT_VIEWED, actor=alice, target=open_doc)
    record(Action.DOCUMENT_VIEWED, actor=alice, target=closed_doc)
    record(Action.ACCESS_DENIED, actor=alice, target=us_doc, outcome=Outcome.DENIED)
    ag = AgreementFactory(parties=[ukasi, usaisi], created_by=portal_admin)
    release = ReleaseFactory(document=closed_doc, agreement=ag, recipient=usaisi, grant=False)
    record(Action.RELEASE_REQUESTED, actor=alice, target=release)
    # Each upload goes through the service, which records it in the trail.
    AttachmentFactory(document=closed_doc, filename="jailbreak-prompts.txt", scan=False)
    AttachmentFactory(document=open_doc, filename="open-notes.txt", scan=False)
    # A refused create leaves the proposed title and no code.
    record(Action.DOCUMENT_CREATED, actor=alice, target=("sharing.document", "", "Never made"), outcome=Outcome.DENIED)
    return open_doc, closed_doc, us_doc, release


def _cells(response):
    return {(e.target_type, e.target_id): e.shown_label for e in response.context["events"] if e.target_type}


def test_org_admin_sees_titles_only_of_documents_they_can_read(verified_client, olivia, trail):
    open_doc, closed_doc, us_doc, release = trail
    response = verified_client(olivia).get(EVENTS)
    assert response.status_code == 200
    body = response.content.decode()
    shown = _cells(response)
    assert shown[("sharing.document", str(open_doc.code))] == "Open uplift finding"
    assert "open-notes.txt" in body
    for withheld in ("Compartmented jailbreak finding", "US pathogen screening gap", "jailbreak-prompts", "Never made"):
        assert withheld not in body
    # In their place, the code: enough to follow up, nothing about the content.
    assert shown[("sharing.document", str(closed_doc.code))] == str(closed_doc.code)
    assert shown[("sharing.document", str(us_doc.code))] == str(us_doc.code)
    assert shown[("sharing.release", str(release.code))] == str(release.code)
    assert "title not shown" in body


def test_read_in_reveals_the_title_on_the_next_page_load(verified_client, olivia, trail):
    _, closed_doc, _, release = trail
    ReadInFactory(user=olivia, compartment="joint-ex-1")
    response = verified_client(olivia).get(EVENTS)
    body = response.content.decode()
    assert "Compartmented jailbreak finding" in body and "jailbreak-prompts.txt" in body
    assert _cells(response)[("sharing.release", str(release.code))].startswith("Compartmented jailbreak finding")
    assert "US pathogen screening gap" not in body


def test_portal_admin_without_clearance_sees_no_titles(verified_client, portal_admin, trail):
    body = verified_client(portal_admin).get(EVENTS).content.decode()
    for title in ("Open uplift finding", "Compartmented jailbreak finding", "US pathogen screening gap", "notes.txt"):
        assert title not in body


def test_the_stored_rows_are_untouched(verified_client, olivia, trail):
    _, closed_doc, _, _ = trail
    verified_client(olivia).get(EVENTS)
    assert AuditEvent.objects.get(target_id=str(closed_doc.code), action=Action.DOCUMENT_VIEWED).target_label == (
        "Compartmented jailbreak finding"
    )


def test_searching_by_title_does_not_reveal_withheld_titles(verified_client, olivia, trail):
    _, closed_doc, _, _ = trail
    client = verified_client(olivia)
    assert not [e for e in client.get(EVENTS, {"target": "jailbreak"}).context["events"]]
    by_code = client.get(EVENTS, {"target": str(closed_doc.code)}).context["events"]
    assert by_code and {e.target_id for e in by_code} == {str(closed_doc.code)}


def test_labels_cost_the_same_queries_for_a_small_and_a_full_page(verified_client, olivia, trail, alice, ukasi):
    """One query per kind of titled target on the page (documents, releases, files), so a
    page with every kind costs the same for 8 rows as for 50."""
    release = trail[3]
    client = verified_client(olivia)
    client.get(EVENTS)  # warm the session and caches

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(EVENTS, {"action": ""}).status_code == 200
        return len(ctx.captured_queries)

    small = queries()
    for i in range(30):
        doc = DocumentFactory(author=alice, title=f"Finding {i}", compartments=[f"c{i % 3}"], releasable_to=["USA"])
        record(Action.DOCUMENT_VIEWED, actor=alice, target=doc)
        AttachmentFactory(document=doc, filename=f"f{i}.txt", scan=False)
    record(Action.RELEASE_APPROVED, actor=alice, target=release)
    assert AuditEvent.objects.count() > 50
    assert queries() == small
