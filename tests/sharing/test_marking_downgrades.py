"""Two people for a lower marking: an author alone can raise a marking at once, but a lower tier,
a compartment or caveat dropped, or a wider releasability waits for a different release officer
of the originator."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import Tier
from audit.models import Action, AuditEvent
from audit.reasons import Reason
from sharing.marking import Marking, is_downgrade, raised_part
from sharing.models import MarkingProposal
from sharing.services.documents import document_update
from sharing.services.markings import marking_proposal_approve, marking_proposal_refuse
from tests.factories import PersonFactory, caveat, compartment, countries, login_verified, tier

pytestmark = pytest.mark.django_db


def marking(tier_code="official-sensitive", rel=("GBR", "USA"), comps=(), cavs=()):
    return Marking(
        tier=Tier.objects.get(code=tier_code),
        releasable_to=frozenset(rel),
        compartments=frozenset(comps),
        caveats=frozenset(cavs),
        originator_country="GBR",
    )


@pytest.mark.parametrize(
    ("before", "after", "lowers"),
    [
        ({}, {"tier_code": "official"}, True),
        ({}, {"tier_code": "secret"}, False),
        ({}, {"rel": ("GBR", "USA", "CAN")}, True),
        ({}, {"rel": ("GBR",)}, False),
        ({"comps": ("joint-ex-1",)}, {}, True),
        ({}, {"comps": ("joint-ex-1",)}, False),
        ({"cavs": ("ORCON",)}, {}, True),
        ({}, {"cavs": ("ORCON",)}, False),
        ({}, {}, False),
    ],
    ids=[
        "lower-tier",
        "higher-tier",
        "country-added",
        "country-dropped",
        "compartment-dropped",
        "compartment-added",
        "orcon-dropped",
        "orcon-added",
        "unchanged",
    ],
)
def test_what_counts_as_lowering_is_one_rule(before, after, lowers):
    assert is_downgrade(marking(**before), marking(**after)) is lowers


def test_the_raised_part_keeps_every_raise_and_no_lowering():
    before = marking(comps=("joint-ex-1",), cavs=("ORCON",))
    asked = marking("secret", rel=("GBR", "USA", "CAN"), comps=("cbrn",), cavs=())
    now = raised_part(before, asked)
    assert now.tier.code == "secret"
    assert now.releasable_to == {"GBR", "USA"}
    assert now.compartments == {"joint-ex-1", "cbrn"} and now.caveats == {"ORCON"}
    assert not is_downgrade(before, now) and is_downgrade(now, asked)


@pytest.fixture
def rae(ukasi):
    """A UK author who is a release officer too: she may never approve her own lower marking."""
    return PersonFactory(
        organisation=ukasi, email="rae@ukasi.example", roles=("author", "release_officer"), clearance="secret"
    )


def proposal_of(document):
    return MarkingProposal.objects.get(document=document, status="pending")


def test_an_authors_lower_tier_waits_while_the_rest_of_the_edit_saves(alice, finding):
    document_update(actor=alice, document=finding, title="Retitled", tier=tier("official"))
    finding.refresh_from_db()
    assert finding.title == "Retitled" and finding.tier.code == "official-sensitive"
    assert finding.revision == 2
    assert proposal_of(finding).tier.code == "official"
    event = AuditEvent.objects.get(action=Action.MARKING_LOWER_PROPOSED)
    assert event.details["changes"] == ["Tier: OFFICIAL-SENSITIVE → OFFICIAL"]


@pytest.mark.parametrize(
    "change",
    [
        {"releasable_to": ("USA", "CAN")},
        {"compartments": []},
        {"caveats": []},
    ],
    ids=["wider-releasability", "compartment-dropped", "orcon-dropped"],
)
def test_every_kind_of_lowering_waits(sam, finding, change):
    finding.compartments.set([compartment()])
    finding.caveats.set([caveat()])
    author = PersonFactory(
        organisation=finding.originator,
        roles=("author",),
        clearance="secret",
        read_ins=["joint-ex-1"],
        email="writer@ukasi.example",
    )
    before = (finding.tier_id, set(finding.releasable_to.all()), set(finding.compartments.all()))
    before += (set(finding.caveats.all()),)
    if "releasable_to" in change:
        change = {"releasable_to": countries(*change["releasable_to"])}
    document_update(actor=author, document=finding, **change)
    finding.refresh_from_db()
    after = (finding.tier_id, set(finding.releasable_to.all()), set(finding.compartments.all()))
    after += (set(finding.caveats.all()),)
    assert after == before and finding.revision == 1
    assert proposal_of(finding).proposed_by == author


def test_a_raise_takes_effect_at_once_and_a_mixed_edit_keeps_only_the_raise(sam, finding):
    document_update(actor=sam, document=finding, tier=tier("secret"), releasable_to=countries("USA", "CAN"))
    finding.refresh_from_db()
    assert finding.tier.code == "secret"
    assert {c.code for c in finding.releasable_to.all()} == {"GBR", "USA"}
    assert {c.code for c in proposal_of(finding).releasable_to.all()} == {"GBR", "USA", "CAN"}


def test_a_second_release_officer_approves_and_the_lower_marking_is_a_new_revision(alice, rita, finding):
    document_update(actor=alice, document=finding, tier=tier("official"))
    proposal = marking_proposal_approve(actor=rita, proposal=proposal_of(finding), reason="cleared for wider use")
    finding.refresh_from_db()
    assert finding.tier.code == "official" and finding.revision == 2
    assert proposal.status == "approved" and proposal.revision == 2 and proposal.decided_by == rita
    revision = finding.revisions.get(number=2)
    assert revision.author == alice and revision.marking_changed
    event = AuditEvent.objects.get(action=Action.MARKING_LOWER_APPROVED, outcome="allowed")
    assert event.actor_id == rita.pk and event.details["revision"] == 2


def test_refusal_needs_a_reason_and_keeps_the_marking(alice, rita, finding):
    document_update(actor=alice, document=finding, tier=tier("official"))
    proposal = proposal_of(finding)
    with pytest.raises(ValidationError):
        marking_proposal_refuse(actor=rita, proposal=proposal, reason="")
    marking_proposal_refuse(actor=rita, proposal=proposal, reason="still sensitive")
    finding.refresh_from_db()
    assert finding.tier.code == "official-sensitive"
    assert AuditEvent.objects.filter(action=Action.MARKING_LOWER_REFUSED, outcome="denied").count() == 1
    assert AuditEvent.objects.filter(action=Action.MARKING_LOWER_REFUSED, outcome="allowed").count() == 1


def test_a_marking_changed_since_the_proposal_is_not_lowered_over(sam, rita, finding):
    document_update(actor=sam, document=finding, releasable_to=countries("USA", "CAN"))
    document_update(actor=sam, document=finding, tier=tier("secret"))
    with pytest.raises(ValidationError):
        marking_proposal_approve(actor=rita, proposal=proposal_of(finding))
    denial = AuditEvent.objects.get(action=Action.MARKING_LOWER_APPROVED, outcome="denied")
    assert denial.details["reason"] == Reason.MARKING_CHANGED_SINCE_PROPOSED


# -- the gates, as a matrix ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status", "reason"),
    [
        ("alice", 403, Reason.NOT_A_RELEASE_OFFICER),  # the author alone
        ("uma", 403, Reason.NOT_A_RELEASE_OFFICER),  # the originator's reader, no role
        ("rae", 403, Reason.PROPOSER_DECIDES),  # the same person
        ("bob", 404, Reason.NO_SUCH_MARKING_CHANGE),  # the partner
        ("ursula", 404, Reason.NO_SUCH_MARKING_CHANGE),  # the partner's admin
        ("carl", 404, Reason.NO_SUCH_MARKING_CHANGE),  # an outsider
        ("rita", 302, None),  # a different release officer of the originator
    ],
)
@pytest.mark.parametrize("decision", ["approve", "refuse"])
def test_who_decides_a_lower_marking_outsider_and_partner_get_404(
    client, request, rae, finding, usaisi, who, status, reason, decision
):
    from tests.factories import ReleaseFactory

    ReleaseFactory(document=finding, recipient=usaisi)  # the partner reads the document
    document_update(actor=rae, document=finding, tier=tier("official"))
    proposal = proposal_of(finding)
    actor = request.getfixturevalue(who)
    login_verified(client, actor)
    name = {"approve": "sharing:marking_approve", "refuse": "sharing:marking_refuse"}[decision]
    response = client.post(reverse(name, args=[proposal.code]), {"reason": "checked"})
    assert response.status_code == status
    proposal.refresh_from_db()
    finding.refresh_from_db()
    if reason is None:
        assert proposal.status == ("approved" if decision == "approve" else "refused")
        return
    assert proposal.status == "pending" and finding.tier.code == "official-sensitive"
    assert "Cyber uplift finding" not in response.content.decode()
    denial = AuditEvent.objects.filter(actor_id=actor.pk, outcome="denied").latest("seq")
    assert denial.details["reason"] == reason


def test_the_originator_sees_the_waiting_marking_and_the_partner_nothing(client, alice, rita, bob, finding, usaisi):
    from tests.factories import ReleaseFactory

    ReleaseFactory(document=finding, recipient=usaisi)
    document_update(actor=alice, document=finding, tier=tier("official"))
    url = reverse("sharing:document_detail", args=[finding.code])
    login_verified(client, alice)
    page = client.get(url).content.decode()
    assert "Lower marking waiting" in page and "Approve the lower marking" not in page
    client.logout()
    login_verified(client, rita)
    assert "Approve the lower marking" in client.get(url).content.decode()
    assert "Lower markings waiting" in client.get(reverse("sharing:release_queue")).content.decode()
    assert finding.title in client.get(reverse("home")).content.decode()
    client.logout()
    login_verified(client, bob)
    page = client.get(url).content.decode()
    assert "Lower marking" not in page and "marking_approve" not in page


def test_anonymous_is_sent_to_sign_in_and_nothing_is_decided(client, alice, finding):
    document_update(actor=alice, document=finding, tier=tier("official"))
    proposal = proposal_of(finding)
    for name in ("sharing:marking_approve", "sharing:marking_refuse"):
        response = client.post(reverse(name, args=[proposal.code]), {"reason": "x"})
        assert response.status_code == 302 and "/login" in response["Location"]
    proposal.refresh_from_db()
    assert proposal.status == "pending"
