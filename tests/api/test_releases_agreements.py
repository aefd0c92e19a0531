"""Releases and agreements through the API: the allowed journeys and what they change."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import Action, AuditEvent, Outcome
from sharing.models import Release
from tests.factories import AgreementFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def requested(as_user, alice, finding, uk_us_agreement):
    response = as_user(alice).post(
        reverse("api:release_list"),
        {
            "document": str(finding.code),
            "agreement": str(uk_us_agreement.code),
            "recipients": ["caisi"],
            "justification": "Joint cyber evaluation",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    [body] = response.json()
    return Release.objects.get(code=body["code"])


def test_author_requests_a_release(requested, finding, uk_us_agreement, alice):
    assert requested.status == Release.Status.REQUESTED and requested.requested_by == alice
    assert requested.document == finding and requested.agreement == uk_us_agreement
    assert AuditEvent.objects.filter(action=Action.RELEASE_REQUESTED, target_id=str(requested.code)).exists()


def test_officer_approves_and_the_partner_reads_at_once(as_user, rita, bob, requested, finding):
    partner = as_user(bob)
    detail = reverse("api:document_detail", args=[finding.code])
    assert partner.get(detail).status_code == 404
    response = as_user(rita).post(reverse("api:release_approve", args=[requested.code]), {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "approved" and response.json()["decided_at"]
    assert partner.get(detail).json()["title"] == finding.title
    assert [r["code"] for r in partner.get(reverse("api:release_list")).json()["results"]] == [str(requested.code)]


def test_requester_cannot_approve_their_own_request(as_user, alice, requested):
    response = as_user(alice).post(reverse("api:release_approve", args=[requested.code]), {}, format="json")
    assert response.status_code == 403
    assert Release.objects.get(pk=requested.pk).status == Release.Status.REQUESTED
    assert AuditEvent.objects.filter(action=Action.RELEASE_APPROVED, outcome=Outcome.DENIED).exists()


def test_officer_refuses_with_a_reason(as_user, rita, requested):
    client = as_user(rita)
    url = reverse("api:release_refuse", args=[requested.code])
    assert client.post(url, {"reason": ""}, format="json").status_code == 400
    response = client.post(url, {"reason": "Outside the joint programme"}, format="json")
    assert response.status_code == 200
    assert (
        response.json()["status"] == "refused" and response.json()["decision_reason"] == "Outside the joint programme"
    )


def test_revoking_ends_the_partners_access_on_the_next_request(as_user, rita, bob, requested, finding):
    officer = as_user(rita)
    officer.post(reverse("api:release_approve", args=[requested.code]), {}, format="json")
    partner = as_user(bob)
    assert partner.get(reverse("api:document_detail", args=[finding.code])).status_code == 200
    response = officer.post(
        reverse("api:release_revoke", args=[requested.code]), {"reason": "Withdrawn"}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "revoked"
    assert partner.get(reverse("api:document_detail", args=[finding.code])).status_code == 404


def test_a_request_the_agreement_cannot_carry_is_a_400_naming_why(as_user, alice, uk_us_agreement):
    from sharing.services import document_publish
    from tests.factories import domains
    from tests.sharing.documents_support import new_document

    cbrn = document_publish(actor=alice, document=new_document(alice, risk_domains=domains("cbrn")))
    response = as_user(alice).post(
        reverse("api:release_list"),
        {
            "document": str(cbrn.code),
            "agreement": str(uk_us_agreement.code),
            "recipients": ["caisi"],
            "justification": "x",
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "risk domain outside the agreement's topics"
    assert not Release.objects.filter(document=cbrn).exists()


def test_a_request_under_an_agreement_of_others_is_a_400(as_user, carl, alice, finding, uk_us_agreement):
    foreign = AgreementFactory(parties=[carl.organisation, finding.originator], created_by=alice, reference="X")
    foreign.party_rows.filter(organisation=finding.originator).delete()
    response = as_user(alice).post(
        reverse("api:release_list"),
        {
            "document": str(finding.code),
            "agreement": str(foreign.code),
            "recipients": [carl.organisation.short_name],
            "justification": "x",
        },
        format="json",
    )
    assert response.status_code == 400 and set(response.json()["error"]["details"]) == {"agreement"}


def test_parties_read_their_agreement(as_user, alice, bob, uk_us_agreement):
    for user in (alice, bob):
        client = as_user(user)
        listed = client.get(reverse("api:agreement_list")).json()["results"]
        assert [a["code"] for a in listed] == [str(uk_us_agreement.code)]
        body = client.get(reverse("api:agreement_detail", args=[uk_us_agreement.code])).json()
        assert body["reference"] == "UK-US-1" and body["status"] == "active"
        assert {p["organisation"] for p in body["parties"]} == {"ukasi", "caisi"}
        assert body["tier_ceiling"] == "official-sensitive" and sorted(body["risk_domains"]) == [
            "autonomy",
            "cyber-offence",
        ]
