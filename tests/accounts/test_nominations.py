"""Partner read-ins by nomination (issue 12): a partner admin nominates one of its people for a
compartment another organisation owns; an admin of the owner approves or declines. Two parties,
both audited; the read-in exists only after approval."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.models import Compartment, ReadIn, ReadInNomination
from audit.models import Action, AuditEvent, Outcome
from audit.reasons import Reason
from tests.factories import DocumentFactory, ReadInFactory, ReleaseFactory, login_verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def cbrn(ukasi, usaisi, olivia, alice):
    """The UK's CBRN compartment, with a CBRN finding released to the US institute (so the US
    sees that CBRN exists); olivia, the UK admin, is read in to it."""
    cbrn = Compartment.objects.create(code="cbrn", name="CBRN uplift", owner=ukasi)
    ReadInFactory(user=olivia, compartment=cbrn)
    ReadInFactory(user=alice, compartment=cbrn)
    document = DocumentFactory(author=alice, releasable_to=["USA"], compartments=[cbrn])
    ReleaseFactory(document=document, recipient=usaisi)
    return cbrn


def _events(action, actor):
    return AuditEvent.objects.filter(action=action, actor_id=actor.pk)


def test_nomination_then_approval_reads_the_partner_in(client, ursula, bob, olivia, cbrn):
    login_verified(client, ursula)
    page = client.get(reverse("accounts:org_nominations"))
    assert list(page.context["form"].fields["compartment"].queryset) == [cbrn]
    response = client.post(reverse("accounts:org_nominations"), {"member": bob.pk, "compartment": cbrn.pk})
    assert response.status_code == 302
    nomination = ReadInNomination.objects.get(user=bob, compartment=cbrn)
    assert nomination.status == ReadInNomination.Status.PENDING
    assert not ReadIn.objects.filter(user=bob).exists()  # nothing until the owner approves
    assert _events(Action.READIN_NOMINATED, ursula).get().outcome == Outcome.ALLOWED

    login_verified(client, olivia)
    page = client.get(reverse("accounts:org_nominations"))
    assert page.context["awaiting"] == [nomination]
    response = client.post(reverse("accounts:org_nomination_approve", kwargs={"code": nomination.code}))
    assert response.status_code == 302
    readin = ReadIn.objects.valid_now().get(user=bob, compartment=cbrn)
    assert readin.granted_by == olivia
    nomination.refresh_from_db()
    assert (nomination.status, nomination.decided_by, nomination.readin) == ("approved", olivia, readin)
    assert _events(Action.READIN_NOMINATION_APPROVED, olivia).exists()
    granted = _events(Action.READIN_GRANTED, olivia).get()
    assert granted.details["nominated_by"] == str(ursula.code)


def test_the_owner_declines_and_nobody_is_read_in(ursula, bob, olivia, cbrn):
    nomination = services.readin_nominate(actor=ursula, user=bob, compartment=cbrn)
    services.readin_nomination_decline(actor=olivia, nomination=nomination, reason="not this programme")
    assert nomination.status == ReadInNomination.Status.DECLINED
    assert not ReadIn.objects.filter(user=bob).exists()
    assert _events(Action.READIN_NOMINATION_DECLINED, olivia).get().details["reason"] == "not this programme"
    with pytest.raises(ValidationError):
        services.readin_nomination_approve(actor=olivia, nomination=nomination)
    assert _events(Action.READIN_NOMINATION_APPROVED, olivia).get().details["reason"] == Reason.NOMINATION_NOT_PENDING


def test_the_nominating_admin_cannot_approve_their_own_nomination(client, ursula, bob, cbrn):
    nomination = services.readin_nominate(actor=ursula, user=bob, compartment=cbrn)
    with pytest.raises(PermissionDenied):
        services.readin_nomination_approve(actor=ursula, nomination=nomination)
    assert _events(Action.READIN_NOMINATION_APPROVED, ursula).get().details["reason"] == Reason.NOT_COMPARTMENT_OWNER
    login_verified(client, ursula)
    url = reverse("accounts:org_nomination_approve", kwargs={"code": nomination.code})
    assert client.post(url).status_code == 404  # outside the owner, the nomination is not there
    assert not ReadIn.objects.filter(user=bob).exists()


def test_a_compartment_the_partner_cannot_see_answers_like_an_unknown_one(client, ursula, bob, ukasi):
    hidden = Compartment.objects.create(code="hidden", name="Hidden programme", owner=ukasi)
    with pytest.raises(Http404):
        services.readin_nominate(actor=ursula, user=bob, compartment=hidden)
    denial = AuditEvent.objects.get(action=Action.READIN_NOMINATED, actor_id=ursula.pk, outcome=Outcome.DENIED)
    assert denial.details["reason"] == Reason.NO_SUCH_COMPARTMENT
    assert (denial.target_type, denial.target_id) == ("compartment", "hidden")
    login_verified(client, ursula)
    assert list(client.get(reverse("accounts:org_nominations")).context["form"].fields["compartment"].queryset) == []
    for pk in (hidden.pk, 999_999):
        response = client.post(reverse("accounts:org_nominations"), {"member": bob.pk, "compartment": pk})
        assert response.status_code == 400
    assert not ReadInNomination.objects.exists()


def test_an_owner_reads_its_own_people_in_directly(olivia, alice, cbrn):
    with pytest.raises(ValidationError):
        services.readin_nominate(actor=olivia, user=alice, compartment=cbrn)
    assert _events(Action.READIN_NOMINATED, olivia).get().details["reason"] == Reason.OWN_COMPARTMENT


def test_only_admins_nominate_only_their_own_people(carol, ursula, alice, bob, cbrn):
    with pytest.raises(PermissionDenied):
        services.readin_nominate(actor=carol, user=bob, compartment=cbrn)
    with pytest.raises(PermissionDenied):
        services.readin_nominate(actor=ursula, user=alice, compartment=cbrn)
    assert not ReadInNomination.objects.exists()


def test_a_nomination_post_needs_the_csrf_token(ursula, bob, cbrn):
    client = Client(enforce_csrf_checks=True)
    login_verified(client, ursula)
    response = client.post(reverse("accounts:org_nominations"), {"member": bob.pk, "compartment": cbrn.pk})
    assert response.status_code == 403
    assert not ReadInNomination.objects.exists()
