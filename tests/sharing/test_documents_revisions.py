"""Editing, publishing and withdrawing: immutable revisions, marking-change history, who may."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from audit.models import Action, AuditEvent, Outcome
from audit.reasons import Reason
from sharing.marking import marking_of
from sharing.models import Document, DocumentRevision
from sharing.selectors import marking_changes, revision_history
from sharing.services import document_publish, document_update, document_withdraw
from tests.factories import PersonFactory, ReadInFactory, caveat, compartment, countries, domains, tier
from tests.sharing.documents_support import last_event, new_document

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(alice):
    return new_document(alice)


def _state(document: Document) -> tuple:
    """Everything an edit could touch, to prove a refused one touched nothing."""
    document = Document.objects.get(pk=document.pk)
    return (
        document.title,
        document.status,
        document.tier_id,
        document.revision,
        sorted(c.pk for c in document.releasable_to.all()),
        sorted(c.pk for c in document.compartments.all()),
        sorted(c.pk for c in document.caveats.all()),
        list(document.revisions.values_list("number", "snapshot")),
    )


def test_edit_writes_revision_2_with_what_changed(alice, draft, ukasi):
    updated = document_update(actor=alice, document=draft, title="Tool-use uplift, revised", summary="New summary")

    assert updated.revision == 2
    assert updated.title == "Tool-use uplift, revised"
    revision = updated.revisions.get(number=2)
    assert revision.author == alice
    assert revision.changed_fields == ["title", "summary"]
    assert revision.marking_changed is False
    assert revision.snapshot["title"] == "Tool-use uplift, revised"
    assert revision.snapshot["summary"] == "New summary"
    event = last_event(Action.DOCUMENT_UPDATED)
    assert event.organisation_id == ukasi.pk
    assert event.details == {"revision": 2, "changed_fields": ["title", "summary"]}


def test_earlier_revisions_keep_their_snapshot(alice, draft):
    first = DocumentRevision.objects.get(document=draft, number=1)
    document_update(actor=alice, document=draft, body="Rewritten")
    document_update(actor=alice, document=draft, title="Third title")

    first.refresh_from_db()
    assert first.snapshot["body"] == "## Method\n\nWe ran the suite."
    assert first.snapshot["title"] == "Tool-use uplift on Frontier-7"
    assert list(draft.revisions.order_by("number").values_list("number", flat=True)) == [1, 2, 3]
    assert DocumentRevision.objects.get(document=draft, number=2).snapshot["title"] == "Tool-use uplift on Frontier-7"


def test_a_saved_revision_cannot_be_changed(draft):
    revision = draft.revisions.get()
    revision.snapshot = {"title": "forged"}
    with pytest.raises(PermissionError):
        revision.save()
    revision.refresh_from_db()
    assert revision.snapshot["title"] == "Tool-use uplift on Frontier-7"


def test_an_edit_that_changes_nothing_writes_no_revision(alice, draft):
    events = AuditEvent.objects.count()
    same = document_update(
        actor=alice, document=draft, title=draft.title, releasable_to=countries("USA"), tier=tier("official")
    )
    assert same.revision == 1
    assert draft.revisions.count() == 1
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda: {"tier": tier("official-sensitive")}, "tier"),
        # Narrowed: a wider releasability waits for a second person (test_marking_downgrades.py).
        (lambda: {"releasable_to": countries()}, "releasable_to"),
        (lambda: {"caveats": [caveat("orcon")]}, "caveats"),
    ],
    ids=["tier", "releasable_to", "caveats"],
)
def test_a_marking_change_is_flagged(alice, draft, change, field):
    updated = document_update(actor=alice, document=draft, **change())

    revision = updated.revisions.get(number=2)
    assert revision.changed_fields == [field]
    assert revision.marking_changed is True
    assert (
        "Marking changed from OFFICIAL // REL TO USA, GBR to "
        in last_event(Action.DOCUMENT_UPDATED).details["marking_change"]
    )


def test_compartment_change_is_flagged(alice, draft):
    joint = compartment("joint-ex-1")
    ReadInFactory(user=alice, compartment=joint)
    updated = document_update(actor=alice, document=draft, compartments=[joint])
    assert updated.revisions.get(number=2).marking_changed is True
    assert marking_of(updated).banner() == "OFFICIAL // REL TO USA, GBR // JOINT-EX-1"


def test_topics_are_not_part_of_the_marking(alice, draft):
    updated = document_update(actor=alice, document=draft, risk_domains=domains("cyber-offence"))
    revision = updated.revisions.get(number=2)
    assert revision.changed_fields == ["risk_domains"]
    assert revision.marking_changed is False


def test_history_says_how_the_marking_changed(alice, draft):
    document_update(actor=alice, document=draft, body="More detail")
    document_update(actor=alice, document=draft, tier=tier("official-sensitive"), caveats=[caveat("orcon")])
    document_update(actor=alice, document=draft, releasable_to=[])

    history = revision_history(draft)
    assert [entry.number for entry in history] == [4, 3, 2, 1]
    assert [entry.marking_change() for entry in history] == [
        "Marking changed from OFFICIAL-SENSITIVE // REL TO USA, GBR // ORCON to OFFICIAL-SENSITIVE // GBR EYES ONLY // ORCON",
        "Marking changed from OFFICIAL // REL TO USA, GBR to OFFICIAL-SENSITIVE // REL TO USA, GBR // ORCON",
        "",
        "Marked OFFICIAL // REL TO USA, GBR",
    ]
    assert history[2].changed_fields == ["body"]
    # A US reader sees their own words for the tiers.
    assert history[1].marking_change("USA") == (
        "Marking changed from UNCLASSIFIED // REL TO USA, GBR to CUI // REL TO USA, GBR // ORCON"
    )
    assert [entry.number for entry in marking_changes(draft)] == [4, 3]


def test_history_costs_two_queries_however_long(alice, draft, django_assert_num_queries):
    for n in range(5):
        document_update(actor=alice, document=draft, title=f"Title {n}")
    # 1 revisions with their authors, 2 tiers
    with django_assert_num_queries(2):
        history = revision_history(draft)
    assert len(history) == 6


def test_edit_marking_above_clearance_is_refused_and_changes_nothing(alice, draft, ukasi):
    before = _state(draft)
    with pytest.raises(ValidationError, match="cannot mark a document SECRET"):
        document_update(actor=alice, document=draft, tier=tier("secret"), title="Sneaky")
    assert _state(draft) == before
    event = last_event()
    assert (event.action, event.outcome, event.organisation_id) == (Action.DOCUMENT_UPDATED, Outcome.DENIED, ukasi.pk)


def test_edit_with_a_compartment_not_read_in_is_refused(alice, draft):
    before = _state(draft)
    with pytest.raises(ValidationError, match="not read in to CBRN-STREAM"):
        document_update(actor=alice, document=draft, compartments=[compartment("cbrn-stream")])
    assert _state(draft) == before


def test_originator_country_cannot_be_removed(alice, draft):
    updated = document_update(actor=alice, document=draft, releasable_to=countries())
    assert {c.code for c in updated.releasable_to.all()} == {"GBR"}
    # Nor from a wider marking asked for, which waits for a second person.
    document_update(actor=alice, document=updated, releasable_to=countries("CAN"))
    proposal = updated.marking_proposals.get(status="pending")
    assert {c.code for c in proposal.releasable_to.all()} == {"CAN", "GBR"}


def test_another_author_of_the_originator_may_edit(alice, draft, ukasi):
    colleague = PersonFactory(organisation=ukasi, roles=["author"], clearance="official-sensitive")
    updated = document_update(actor=colleague, document=draft, title="Colleague's fix")
    assert updated.revisions.get(number=2).author == colleague


def test_member_without_author_role_cannot_edit(olivia, draft, ukasi):
    before = _state(draft)
    with pytest.raises(PermissionDenied):
        document_update(actor=olivia, document=draft, title="Admin edit")
    assert _state(draft) == before
    event = last_event()
    assert (event.outcome, event.details["reason"], event.organisation_id) == (
        Outcome.DENIED,
        Reason.NOT_AN_AUTHOR,
        ukasi.pk,
    )


def test_author_of_another_organisation_cannot_edit_publish_or_withdraw(hank, draft, ukasi):
    before = _state(draft)
    for attempt in (
        lambda: document_update(actor=hank, document=draft, title="Foreign edit"),
        lambda: document_publish(actor=hank, document=draft),
        lambda: document_withdraw(actor=hank, document=draft),
    ):
        with pytest.raises(PermissionDenied):
            attempt()
        # Audited where the originator's admins will see it.
        assert last_event().organisation_id == ukasi.pk
    assert _state(draft) == before


def test_a_stale_edit_is_refused_rather_than_overwriting(alice, draft):
    document_update(actor=alice, document=draft, title="Someone else's edit")
    with pytest.raises(ValidationError, match="changed since revision 1"):
        document_update(actor=alice, document=draft, base_revision=1, title="My edit from the old form")
    draft.refresh_from_db()
    assert draft.title == "Someone else's edit"
    assert draft.revision == 2


def test_publish_makes_a_revision_and_is_audited(alice, draft, ukasi):
    published = document_publish(actor=alice, document=draft)

    assert published.status == Document.Status.PUBLISHED
    assert published.published_at is not None
    assert published.revision == 2
    revision = published.revisions.get(number=2)
    assert (revision.changed_fields, revision.note, revision.snapshot["status"]) == (
        ["status"],
        "published",
        "published",
    )
    event = last_event(Action.DOCUMENT_PUBLISHED)
    assert (event.outcome, event.organisation_id) == (Outcome.ALLOWED, ukasi.pk)
    assert event.details["from"] == "draft"


def test_publishing_twice_is_refused(alice, draft):
    document_publish(actor=alice, document=draft)
    with pytest.raises(ValidationError, match="is published; it cannot be published"):
        document_publish(actor=alice, document=draft)
    assert draft.revisions.count() == 2


def test_a_published_document_can_still_be_corrected(alice, draft):
    published = document_publish(actor=alice, document=draft)
    updated = document_update(actor=alice, document=published, tier=tier("official-sensitive"))
    assert updated.status == Document.Status.PUBLISHED
    assert updated.revisions.get(number=3).marking_changed is True


def test_withdrawal_keeps_the_record_and_its_history(alice, draft, ukasi):
    published = document_publish(actor=alice, document=draft)
    withdrawn = document_withdraw(actor=alice, document=published, reason="Superseded by v2.")

    assert Document.objects.filter(pk=draft.pk).exists()
    assert withdrawn.status == Document.Status.WITHDRAWN
    assert withdrawn.withdrawn_at is not None
    assert withdrawn.published_at is not None
    assert list(withdrawn.revisions.order_by("number").values_list("number", "note")) == [
        (1, "created"),
        (2, "published"),
        (3, "Superseded by v2."),
    ]
    event = last_event(Action.DOCUMENT_WITHDRAWN)
    assert (event.organisation_id, event.details["reason"]) == (ukasi.pk, "Superseded by v2.")


def test_a_withdrawn_document_is_frozen(alice, draft, ukasi):
    document_withdraw(actor=alice, document=draft)
    before = _state(draft)
    for attempt, action in (
        (lambda: document_update(actor=alice, document=draft, title="After withdrawal"), Action.DOCUMENT_UPDATED),
        (lambda: document_publish(actor=alice, document=draft), Action.DOCUMENT_PUBLISHED),
        (lambda: document_withdraw(actor=alice, document=draft), Action.DOCUMENT_WITHDRAWN),
    ):
        with pytest.raises(ValidationError, match="withdrawn"):
            attempt()
        event = last_event()
        assert (event.action, event.outcome, event.details["reason"]) == (action, Outcome.DENIED, Reason.WITHDRAWN)
    assert _state(draft) == before


def test_an_edit_racing_a_withdrawal_is_refused(alice, draft):
    stale_copy = Document.objects.get(pk=draft.pk)
    document_withdraw(actor=alice, document=draft)
    with pytest.raises(ValidationError, match="withdrawn"):
        document_update(actor=alice, document=stale_copy, title="Too late")
    draft.refresh_from_db()
    assert draft.title == "Tool-use uplift on Frontier-7"
