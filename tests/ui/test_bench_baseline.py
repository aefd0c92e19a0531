"""The load benchmark's bare baseline (bench/load_urls.py) renders the portal's own document pages,
not a copy that can drift: it differs from the portal only in the access policy and the audit."""

from __future__ import annotations

import pytest

from audit.models import Action, AuditEvent
from tests.factories import DocumentFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("bench.load_urls")]


def test_bare_list_is_the_portals_list_page_over_every_document(verified_client, alice, bob):
    mine = DocumentFactory(author=alice, title="Only the originator may read this")
    client = verified_client(bob)
    bare = client.get("/bench/bare/documents/")
    portal = client.get("/documents/")
    assert bare.templates[0].name == portal.templates[0].name == "sharing/documents/list.html"
    assert mine.title in bare.content.decode()
    assert mine.title not in portal.content.decode()
    # The same page object as the portal's (its rows and one more, never a count).
    assert type(bare.context["page"]) is type(portal.context["page"])


def test_bare_detail_is_the_portals_document_page_without_gate_or_audit(verified_client, alice, bob):
    document = DocumentFactory(author=alice, title="A finding only its originator reads")
    client = verified_client(bob)
    assert client.get(f"/documents/{document.code}/").status_code == 404
    bare = client.get(f"/bench/bare/documents/{document.code}/")
    assert bare.status_code == 200 and bare.templates[0].name == "sharing/documents/detail.html"
    assert document.title in bare.content.decode()
    assert not AuditEvent.objects.filter(action=Action.DOCUMENT_VIEWED, target_id=str(document.code)).exists()
