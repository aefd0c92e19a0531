"""Every read is audited, lists included: the document list and its search each write ONE
`document.listed` event naming the codes of the page they showed (never more than a page), and
the subjects index finds that event from any document it names."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import Action, AuditEvent, AuditSubject
from audit.verify import verify_chain
from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db

LIST = reverse("sharing:document_list")


def _listings(user) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=Action.DOCUMENT_LISTED, actor_id=user.pk).order_by("seq"))


def _page_codes(response) -> list[str]:
    return [str(document.code) for document, _ in response.context["rows"]]


def test_the_list_writes_one_event_naming_the_codes_of_its_page(verified_client, alice):
    DocumentFactory.create_batch(27, author=alice, title="Finding in a long list")
    client = verified_client(alice)
    response = client.get(LIST)
    (event,) = _listings(alice)
    shown = _page_codes(response)
    assert len(shown) == 25  # one page, never the whole list
    assert event.details["subjects"] == {"sharing.document": shown}
    assert event.details["page"] == "documents" and event.details["via"] == "web"
    # The index holds the same names, so an access history finds the listing by document.
    assert sorted(AuditSubject.objects.filter(seq=event.seq).values_list("target_id", flat=True)) == sorted(shown)
    client.get(LIST, {"page": 2})
    assert len(_listings(alice)) == 2
    assert len(_listings(alice)[1].details["subjects"]["sharing.document"]) == 2
    assert verify_chain().ok


def test_a_search_writes_one_event_naming_what_it_found(verified_client, alice):
    wanted = DocumentFactory(author=alice, title="Autonomous replication probe")
    DocumentFactory(author=alice, title="Something else entirely")
    response = verified_client(alice).get(LIST, {"text": "replication"})
    (event,) = _listings(alice)
    assert _page_codes(response) == [str(wanted.code)]
    assert event.details["subjects"] == {"sharing.document": [str(wanted.code)]}
    assert event.details["searched"] is True


def test_an_empty_list_is_audited_too(verified_client, bob):
    verified_client(bob).get(LIST)
    (event,) = _listings(bob)
    assert event.details["subjects"] == {}
    assert not AuditSubject.objects.filter(seq=event.seq).exists()


def test_the_partner_sees_only_what_was_released_and_the_event_names_only_that(
    verified_client, bob, alice, usaisi, uk_us_agreement, finding
):
    from tests.factories import ReleaseFactory

    ReleaseFactory(document=finding, agreement=uk_us_agreement, recipient=usaisi)
    DocumentFactory(author=alice, title="Kept at home")
    verified_client(bob).get(LIST)
    (event,) = _listings(bob)
    assert event.details["subjects"] == {"sharing.document": [str(finding.code)]}
