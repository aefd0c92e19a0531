"""Creating documents: who may, and the marking rules the service enforces."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from audit.models import Action, AuditEvent, Outcome
from audit.reasons import Reason
from sharing.marking import marking_of
from sharing.models import Document, DocumentRevision
from sharing.services import document_create
from tests.factories import (
    PersonFactory,
    ReadInFactory,
    caveat,
    compartment,
    countries,
    domains,
    give_role,
    tier,
)
from tests.sharing.documents_support import last_event, new_document

pytestmark = pytest.mark.django_db


def _nothing_written(before_events: int, *, denied_action: str, reason: str, organisation_id: int | None) -> None:
    assert Document.objects.count() == 0
    assert DocumentRevision.objects.count() == 0
    # Exactly one new event: the denial.
    assert AuditEvent.objects.count() == before_events + 1
    event = last_event()
    assert event.action == denied_action
    assert event.outcome == Outcome.DENIED
    assert event.details["reason"] == reason
    assert event.organisation_id == organisation_id


def test_author_creates_a_draft_for_their_organisation_as_revision_1(alice, ukasi):
    document = new_document(
        alice, risk_domains=domains("cbrn", "safeguards"), caveats=[caveat("orcon")], tier=tier("official-sensitive")
    )

    document.refresh_from_db()
    assert document.originator == ukasi
    assert document.author == alice
    assert document.status == Document.Status.DRAFT
    assert document.revision == 1
    assert {d.code for d in document.risk_domains.all()} == {"cbrn", "safeguards"}
    revision = document.revisions.get()
    assert revision.number == 1
    assert revision.author == alice
    assert revision.note == "created"
    assert revision.marking_changed is False
    assert revision.snapshot["title"] == "Tool-use uplift on Frontier-7"
    assert revision.snapshot["marking"] == {
        "tier": "official-sensitive",
        "releasable_to": ["GBR", "USA"],
        "compartments": [],
        "caveats": ["ORCON"],
        "originator_country": "GBR",
    }
    assert revision.snapshot["risk_domains"] == ["cbrn", "safeguards"]
    assert {"title", "body", "tier", "releasable_to", "caveats", "risk_domains"} <= set(revision.changed_fields)


def test_creation_is_audited_against_the_originator(alice, ukasi):
    document = new_document(alice)

    event = last_event(Action.DOCUMENT_CREATED)
    assert event.outcome == Outcome.ALLOWED
    assert event.organisation_id == ukasi.pk
    assert event.actor_id == alice.pk
    assert event.target_id == str(document.code)
    assert event.details == {"revision": 1, "marking": "OFFICIAL // REL TO USA, GBR", "status": "draft"}


def test_originator_country_is_always_added_to_releasable_to(alice):
    document = new_document(alice, releasable_to=countries("USA", "CAN"))
    assert {c.code for c in document.releasable_to.all()} == {"GBR", "USA", "CAN"}


def test_a_document_releasable_to_no_one_else_is_eyes_only(alice):
    document = new_document(alice, releasable_to=[])
    assert [c.code for c in document.releasable_to.all()] == ["GBR"]
    assert marking_of(document).banner() == "OFFICIAL // GBR EYES ONLY"


def test_marking_above_own_clearance_is_refused_and_audited(alice, ukasi):
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as caught:
        new_document(alice, tier=tier("secret"))

    assert "tier" in caught.value.message_dict
    assert "cleared to OFFICIAL-SENSITIVE" in caught.value.message_dict["tier"][0]
    _nothing_written(
        before, denied_action=Action.DOCUMENT_CREATED, reason=Reason.MARKING_ABOVE_CLEARANCE, organisation_id=ukasi.pk
    )


def test_author_whose_clearance_was_revoked_cannot_mark_at_all(ukasi, sam):
    sam.clearance_grants.update(revoked_at=timezone.now())
    before = AuditEvent.objects.count()

    with pytest.raises(ValidationError, match="cleared to no tier"):
        new_document(sam)
    _nothing_written(
        before, denied_action=Action.DOCUMENT_CREATED, reason=Reason.MARKING_ABOVE_CLEARANCE, organisation_id=ukasi.pk
    )


def test_compartment_the_author_is_not_read_in_to_is_refused(alice, ukasi):
    joint = compartment("joint-ex-1")
    before = AuditEvent.objects.count()

    with pytest.raises(ValidationError) as caught:
        new_document(alice, compartments=[joint])

    assert caught.value.message_dict["compartments"] == [
        "You are not read in to JOINT-EX-1, so you cannot use it in a marking."
    ]
    _nothing_written(
        before, denied_action=Action.DOCUMENT_CREATED, reason=Reason.COMPARTMENT_NOT_READ_IN, organisation_id=ukasi.pk
    )
    assert last_event().details["compartments"] == ["JOINT-EX-1"]


@pytest.mark.parametrize("ended", [pytest.param("revoked_at", id="revoked"), pytest.param("expires_at", id="expired")])
def test_a_read_in_that_no_longer_holds_does_not_count(alice, ended):
    joint = compartment("joint-ex-1")
    ReadInFactory(user=alice, compartment=joint, **{ended: timezone.now() - timedelta(seconds=1)})
    with pytest.raises(ValidationError, match="not read in to JOINT-EX-1"):
        new_document(alice, compartments=[joint])
    assert Document.objects.count() == 0


def test_author_read_in_to_the_compartment_may_use_it(alice):
    joint = compartment("joint-ex-1")
    ReadInFactory(user=alice, compartment=joint)
    document = new_document(alice, compartments=[joint], tier=tier("official-sensitive"))
    assert marking_of(document).banner() == "OFFICIAL-SENSITIVE // REL TO USA, GBR // JOINT-EX-1"


def test_member_without_the_author_role_is_refused(olivia, ukasi):
    before = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        new_document(olivia)
    _nothing_written(
        before, denied_action=Action.DOCUMENT_CREATED, reason=Reason.NOT_AN_AUTHOR, organisation_id=ukasi.pk
    )


def test_author_role_on_another_organisation_does_not_count(bob, ukasi):
    give_role(bob, "author", ukasi)  # a role on the UK institute, held by a US member
    with pytest.raises(PermissionDenied):
        new_document(bob)
    assert Document.objects.count() == 0


def test_user_without_an_organisation_is_refused():
    loner = PersonFactory(organisation=None, clearance="secret")
    before = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        new_document(loner)
    _nothing_written(
        before, denied_action=Action.DOCUMENT_CREATED, reason=Reason.NO_ACTIVE_ORGANISATION, organisation_id=None
    )


def test_inactive_author_is_refused(alice):
    alice.is_active = False
    alice.save()
    with pytest.raises(PermissionDenied):
        new_document(alice)
    assert Document.objects.count() == 0


def test_invalid_fields_are_refused_audited_and_leave_nothing(alice, ukasi):
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as caught:
        document_create(actor=alice, title="", tier=tier("official"))
    assert "title" in caught.value.message_dict
    _nothing_written(before, denied_action=Action.DOCUMENT_CREATED, reason=Reason.INVALID, organisation_id=ukasi.pk)
    assert last_event().details["fields"] == ["title"]


def test_body_over_the_limit_is_refused(alice):
    from sharing.services.document_rules import BODY_MAX_CHARS

    with pytest.raises(ValidationError, match="limited to"):
        new_document(alice, body="x" * (BODY_MAX_CHARS + 1))
    assert Document.objects.count() == 0


def test_secret_author_may_mark_secret_eyes_only(sam):
    document = new_document(sam, tier=tier("secret"), releasable_to=[])
    assert marking_of(document).banner() == "SECRET // GBR EYES ONLY"
