"""Owned compartments (issue 12): only the owner's admins read people in; a compartment is listed
only to its owner and to organisations with people read in or documents released in it; an
unknown code and a forbidden one answer alike."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse

from accounts import compartments, services
from accounts.models import Compartment, ReadIn
from audit.models import Action, AuditEvent, Outcome
from audit.reasons import Reason
from tests.factories import DocumentFactory, ReadInFactory, ReleaseFactory, login_verified


@pytest.fixture
def cbrn(ukasi):
    """CBRN, owned by the UK institute."""
    return Compartment.objects.create(code="cbrn", name="CBRN uplift", owner=ukasi)


def _denials(actor, action=Action.READIN_GRANTED):
    return AuditEvent.objects.filter(action=action, outcome=Outcome.DENIED, actor_id=actor.pk)


# -- who grants ----------------------------------------------------------------------------------


def test_us_admin_cannot_read_its_people_in_to_the_uk_cbrn_compartment(ursula, bob, cbrn):
    ReadInFactory(user=ursula, compartment=cbrn)  # even read in herself, she does not own it
    with pytest.raises(PermissionDenied):
        services.readin_grant(actor=ursula, user=bob, compartment=cbrn)
    assert not ReadIn.objects.filter(user=bob).exists()
    denial = _denials(ursula).get()
    assert denial.details["reason"] == Reason.NOT_COMPARTMENT_OWNER
    assert denial.details["compartment"] == "cbrn"


def test_the_owners_admin_reads_a_member_in(olivia, alice, cbrn):
    ReadInFactory(user=olivia, compartment=cbrn)
    readin = services.readin_grant(actor=olivia, user=alice, compartment=cbrn)
    assert readin.granted_by == olivia


def test_nobody_but_the_system_reads_people_in_to_an_unowned_compartment(olivia, alice):
    legacy = Compartment.objects.create(code="legacy", name="Legacy")
    ReadInFactory(user=olivia, compartment=legacy)
    with pytest.raises(PermissionDenied):
        services.readin_grant(actor=olivia, user=alice, compartment=legacy)
    assert _denials(olivia).get().details["reason"] == Reason.NOT_COMPARTMENT_OWNER
    assert services.readin_grant(actor=None, user=alice, compartment=legacy).granted_by is None


# -- who sees it exists --------------------------------------------------------------------------


def test_a_compartment_is_listed_to_its_owner_to_organisations_read_in_and_to_recipients(
    ukasi, usaisi, canada, alice, bob, cbrn
):
    assert list(compartments.visible_to(ukasi)) == [cbrn]
    assert list(compartments.visible_to(usaisi)) == []
    assert list(compartments.visible_to(canada)) == []
    readin = ReadInFactory(user=bob, compartment=cbrn)
    assert list(compartments.visible_to(usaisi)) == [cbrn]
    readin.revoked_at = readin.granted_at
    readin.save()
    assert list(compartments.visible_to(usaisi)) == []
    # A document released in it: the recipient sees that it exists (sharing's registered source).
    ReadInFactory(user=alice, compartment=cbrn)
    document = DocumentFactory(author=alice, releasable_to=["USA", "CAN"], compartments=[cbrn])
    release = ReleaseFactory(document=document, recipient=canada)
    assert list(compartments.visible_to(canada)) == [cbrn]
    release.status, release.revoked_at = "revoked", release.decided_at
    release.save()
    assert list(compartments.visible_to(canada)) == []


def test_the_read_in_form_offers_only_compartments_the_organisation_owns(client, ursula, bob, olivia, alice, cbrn):
    ReadInFactory(user=bob, compartment=cbrn)  # the US sees CBRN exists, but does not own it
    login_verified(client, ursula)
    page = client.get(reverse("accounts:org_member", kwargs={"code": bob.code}))
    assert page.status_code == 200
    assert list(page.context["readin_form"].fields["compartment"].queryset) == []
    forged = client.post(
        reverse("accounts:org_readin_grant", kwargs={"code": bob.code}), {"readin-compartment": cbrn.pk}
    )
    assert forged.status_code == 400
    assert ReadIn.objects.filter(user=bob).count() == 1
    login_verified(client, olivia)
    page = client.get(reverse("accounts:org_member", kwargs={"code": alice.code}))
    assert list(page.context["readin_form"].fields["compartment"].queryset) == [cbrn]


# -- unknown and forbidden alike -----------------------------------------------------------------


def _shape(event):
    return (event.action, event.outcome, event.target_type, event.details)


def test_an_unknown_code_and_a_forbidden_one_answer_alike(ursula, cbrn):
    answers = []
    for code in ("cbrn", "no-such"):
        with pytest.raises(Http404) as raised:
            compartments.compartment_for(ursula, code)
        answers.append(str(raised.value))
    assert answers[0] == answers[1]
    forbidden, unknown = AuditEvent.objects.filter(actor_id=ursula.pk, outcome=Outcome.DENIED).order_by("seq")
    assert _shape(forbidden) == _shape(unknown)
    assert forbidden.details["reason"] == Reason.NO_SUCH_COMPARTMENT


# -- the compartment-owner axis, as a matrix ---------------------------------------------------

# granter, member, owner of the compartment → the reason the read-in is refused (None: granted)
OWNER_AXIS = [
    ("olivia", "alice", "ukasi", None),
    ("olivia", "alice", "usaisi", Reason.NOT_COMPARTMENT_OWNER),
    ("olivia", "alice", None, Reason.NOT_COMPARTMENT_OWNER),
    ("ursula", "bob", "ukasi", Reason.NOT_COMPARTMENT_OWNER),
    ("ursula", "bob", "usaisi", None),
    ("ursula", "alice", "ukasi", Reason.OTHER_ORGANISATION),
    ("system", "bob", "ukasi", None),
    ("system", "alice", None, None),
]


@pytest.mark.parametrize(("granter", "member", "owner", "refused"), OWNER_AXIS)
def test_owner_axis(request, db, ukasi, usaisi, granter, member, owner, refused):
    actor = None if granter == "system" else request.getfixturevalue(granter)
    person = request.getfixturevalue(member)
    owned = Compartment.objects.create(
        code="axis", name="Axis", owner=request.getfixturevalue(owner) if owner else None
    )
    if actor is not None:
        ReadInFactory(user=actor, compartment=owned)
    if refused is None:
        assert services.readin_grant(actor=actor, user=person, compartment=owned).user == person
        return
    with pytest.raises(PermissionDenied):
        services.readin_grant(actor=actor, user=person, compartment=owned)
    assert _denials(actor).get().details["reason"] == refused
    assert not ReadIn.objects.filter(user=person).exists()
