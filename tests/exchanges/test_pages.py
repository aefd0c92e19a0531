"""Point 9's pages: the list, proposing, one secondment, the admins' steps, the switch and the
hand-over list; who may reach each."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from api.tokens import token_create
from audit.models import Action, AuditEvent, Outcome
from exchanges.models import Secondment
from tests.factories import DocumentFactory, login_verified, tier

pytestmark = pytest.mark.django_db

ON_A_SECONDMENT = ["exchanges:detail", "exchanges:handover"]
STEPS = ["exchanges:approve", "exchanges:end", "exchanges:extend", "exchanges:extension_approve", "exchanges:switch"]


def _url(name, secondment=None):
    return reverse(name, kwargs={"code": secondment.code}) if secondment else reverse(name)


@pytest.mark.parametrize("name", ON_A_SECONDMENT + STEPS)
def test_anonymous_is_sent_to_sign_in(client, secondment, name):
    method = client.post if name in STEPS else client.get
    response = method(_url(name, secondment))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
    assert Secondment.objects.get().status == Secondment.Status.APPROVED


@pytest.mark.parametrize("name", ["exchanges:list", "exchanges:propose"])
def test_anonymous_is_sent_to_sign_in_from_the_list_and_the_proposal(client, name):
    response = client.get(_url(name))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("name", ON_A_SECONDMENT + STEPS)
def test_an_outsider_gets_404_like_a_missing_secondment_and_it_is_audited(verified_client, carl, secondment, name):
    client = verified_client(carl)
    method = client.post if name in STEPS else client.get
    assert method(_url(name, secondment)).status_code == 404
    denial = AuditEvent.objects.filter(outcome=Outcome.DENIED, target_id=str(secondment.code)).get()
    assert denial.details["reason"] == "no_such_secondment"
    assert Secondment.objects.get().status == Secondment.Status.APPROVED


def test_an_outsider_sees_no_secondment_in_the_list_and_may_not_propose(verified_client, carl, secondment):
    client = verified_client(carl)
    page = client.get(_url("exchanges:list"))
    assert page.status_code == 200 and b"Sid Secondee" not in page.content
    assert client.get(_url("exchanges:propose")).status_code == 403


@pytest.mark.parametrize("name", STEPS)
def test_a_get_on_a_step_is_405(verified_client, olivia, secondment, name):
    assert verified_client(olivia).get(_url(name, secondment)).status_code == 405


def test_both_sides_admins_list_it_as_current_and_after_the_end_as_past(verified_client, olivia, secondment):
    client = verified_client(olivia)
    page = client.get(_url("exchanges:list")).content.decode()
    assert page.index("Sid Secondee") < page.index("Past")
    client.post(_url("exchanges:end", secondment))
    page = client.get(_url("exchanges:list")).content.decode()
    assert page.index("Sid Secondee") > page.index("Past")


def test_the_secondee_sees_what_it_allows_and_the_days_left(verified_client, sid, secondment):
    page = verified_client(sid).get(_url("exchanges:detail", secondment)).content
    assert b"179 days left" in page or b"180 days left" in page
    assert b"not readable: the agreement does not allow seconded staff" in page
    assert b"Act for UKASI (host)" in page


def test_proposing_and_approving_through_the_pages(verified_client, ursula, olivia, sid, exchange_agreement):
    now = timezone.now()
    data = {
        "person": sid.email, "home": sid.organisation.code, "host": olivia.organisation.code,
        "agreement": exchange_agreement.code, "starts_at": now.strftime("%Y-%m-%d %H:%M"),
        "ends_at": (now + timedelta(days=180)).strftime("%Y-%m-%d %H:%M"), "role": "analyst",
        "clearance": tier("secret").code, "purpose": "Six months with the UK cyber team",
    }  # fmt: skip
    response = verified_client(ursula).post(_url("exchanges:propose"), data)
    assert response.status_code == 302
    secondment = Secondment.objects.get()
    assert verified_client(ursula).post(_url("exchanges:approve", secondment)).status_code == 302
    assert verified_client(olivia).post(_url("exchanges:approve", secondment)).status_code == 302
    assert Secondment.objects.get().status == Secondment.Status.APPROVED


def test_a_person_of_another_organisation_is_named_like_a_missing_one(verified_client, ursula, alice, usaisi):
    data = {"person": alice.email, "home": usaisi.code}
    page = verified_client(ursula).post(_url("exchanges:propose"), data)
    missing = verified_client(ursula).post(_url("exchanges:propose"), {**data, "person": "nobody@caisi.example"})
    assert page.status_code == missing.status_code == 400
    message = b"No active member of the home organisation has this email address."
    assert message in page.content and message in missing.content
    assert not Secondment.objects.exists()


def test_a_bad_proposal_is_a_400_with_an_audit_row_and_no_record(verified_client, ursula):
    response = verified_client(ursula).post(_url("exchanges:propose"), {"purpose": "x"})
    assert response.status_code == 400
    assert not Secondment.objects.exists()
    assert AuditEvent.objects.filter(action=Action.SECONDMENT_PROPOSED, outcome=Outcome.DENIED).exists()


def test_the_api_lists_the_persons_secondments_and_a_token_always_acts_for_home(client, sid, secondment, alice):
    host_finding = DocumentFactory(author=alice, releasable_to=["USA"])
    api = APIClient()
    secret = token_create(actor=sid, user=sid, name="t", scopes="read", days=1).secret
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    listed = api.get(reverse("api:secondment_list")).json()["results"]
    assert [(s["code"], s["host"], s["active"]) for s in listed] == [(str(secondment.code), "ukasi", True)]
    # Even from a browser session acting for the host, the token reads as home.
    session = client
    login_verified(session, sid)
    session.post(_url("exchanges:switch", secondment), {"to": "host"})
    assert session.get(reverse("sharing:document_detail", kwargs={"code": host_finding.code})).status_code == 200
    assert api.get(reverse("api:document_detail", kwargs={"code": host_finding.code})).status_code == 404
