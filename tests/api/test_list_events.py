"""Every list the API serves writes ONE `document.listed` event naming the documents of the page
it returned: documents, eval runs, a document's attachments, releases."""

from __future__ import annotations

import pytest

from audit.models import Action, AuditEvent
from tests.api.support import FIXTURES, clean_attachment, parsed_run
from tests.factories import DocumentFactory, ReleaseFactory, pass_on

pytestmark = pytest.mark.django_db


def _listings(user) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=Action.DOCUMENT_LISTED, actor_id=user.pk))


@pytest.fixture
def shared(alice, usaisi, uk_us_agreement, finding):
    ReleaseFactory(document=finding, agreement=uk_us_agreement, recipient=usaisi)
    DocumentFactory(author=alice, title="Kept at home")
    return finding


def test_the_document_list_names_the_page_of_documents(as_user, alice, bob, shared):
    response = as_user(bob).get("/api/v1/documents/", {"page_size": 1})
    assert response.status_code == 200
    (event,) = _listings(bob)
    assert event.details["via"] == "api" and event.details["page"] == "documents"
    assert event.details["subjects"] == {"sharing.document": [row["code"] for row in response.json()["results"]]}
    as_user(alice).get("/api/v1/documents/", {"page_size": 1})
    (event,) = _listings(alice)
    assert len(event.details["subjects"]["sharing.document"]) == 1  # the page, not all of alice's two


def test_the_eval_run_list_names_the_documents_of_its_runs(as_user, alice, bob, shared):
    parsed_run(clean_attachment(alice, shared, (FIXTURES / "success.eval").read_bytes(), "run.eval"))
    pass_on(shared)
    response = as_user(bob).get("/api/v1/eval-runs/")
    assert response.status_code == 200 and response.json()["count"] == 1
    (event,) = _listings(bob)
    assert event.details["page"] == "eval-runs"
    assert event.details["subjects"] == {"sharing.document": [str(shared.code)]}


def test_the_attachment_list_names_its_document(as_user, alice, bob, shared):
    clean_attachment(alice, shared)
    pass_on(shared)
    response = as_user(bob).get(f"/api/v1/documents/{shared.code}/attachments/")
    assert response.status_code == 200 and len(response.json()) == 1
    (event,) = _listings(bob)
    assert event.details["page"] == "attachments"
    assert event.details["subjects"] == {"sharing.document": [str(shared.code)]}


def test_the_release_list_names_the_documents_released(as_user, bob, shared):
    response = as_user(bob).get("/api/v1/releases/")
    assert response.status_code == 200
    (event,) = _listings(bob)
    assert event.details["page"] == "releases"
    assert event.details["subjects"] == {"sharing.document": [str(shared.code)]}
