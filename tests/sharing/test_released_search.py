"""Search, filters and the model menu match a partner against the revision released to it, never
the latest text: a word only in an unreleased revision is not an oracle. On both engines."""

from __future__ import annotations

import pytest
from django.contrib.postgres.search import SearchQuery
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from api.tokens import token_create
from sharing.models import DocumentRevision
from sharing.policy import readable_documents
from sharing.selectors import (
    SEARCH_CONFIG,
    evaluated_models,
    filter_documents,
    revision_search_vector,
    search_documents,
)
from tests.factories import ReleaseFactory, login_verified, revise

pytestmark = pytest.mark.django_db


@pytest.fixture
def revised(finding, usaisi):
    """Released to the US at revision 1 ("Cyber uplift finding", about exploits, model atlas);
    revision 2, not released, speaks of "kangaroo" and model "borealis" and drops "exploit"."""
    revise(finding, body="Exploit chains against a sandbox.", model_developer="Lab", model_name="atlas")
    ReleaseFactory(document=finding, recipient=usaisi)
    revise(finding, title="Kangaroo uplift", body="Kangaroo chains.", model_name="borealis")
    return finding


def _found(user, text: str) -> list[str]:
    return [d.title for d in search_documents(readable_documents(user), text, reader=user)]


def test_a_partner_does_not_find_a_word_of_an_unreleased_revision(bob, revised):
    assert _found(bob, "kangaroo") == []
    assert _found(bob, "exploit") == ["Kangaroo uplift"]  # the row; the pages show it as released


def test_the_originator_searches_the_latest_text(alice, revised):
    assert _found(alice, "kangaroo") == ["Kangaroo uplift"]
    assert _found(alice, "exploit") == []


def test_a_partner_filters_by_the_released_model_and_sees_it_in_the_menu(bob, alice, revised):
    readable = readable_documents(bob)
    assert list(filter_documents(readable, reader=bob, model_name="borealis")) == []
    assert list(filter_documents(readable, reader=bob, model_name="ATLAS")) == [revised]
    assert evaluated_models(readable, reader=bob) == [("Lab", "atlas")]
    assert evaluated_models(readable_documents(alice), reader=alice) == [("Lab", "borealis")]


def test_the_list_page_and_the_api_search_the_released_text(client, bob, revised):
    login_verified(client, bob)
    page = client.get(reverse("sharing:document_list"), {"text": "kangaroo"}).content.decode()
    assert str(revised.code) not in page
    assert "borealis" not in client.get(reverse("sharing:document_list")).content.decode()
    assert str(revised.code) in client.get(reverse("sharing:document_list"), {"text": "exploit"}).content.decode()
    api = APIClient()
    api.credentials(
        HTTP_AUTHORIZATION=f"Bearer {token_create(actor=bob, user=bob, name='p', scopes='read', days=1).secret}"
    )
    assert api.get(reverse("api:document_list"), {"q": "kangaroo"}).json()["results"] == []
    found = api.get(reverse("api:document_list"), {"q": "exploit"}).json()["results"]
    assert [row["title"] for row in found] == ["Cyber uplift finding"]


def test_a_newer_approved_revision_is_what_the_partner_then_searches(bob, revised, usaisi):
    ReleaseFactory(document=revised, recipient=usaisi)  # the update, approved: pins revision 3
    assert _found(bob, "kangaroo") == ["Kangaroo uplift"]
    assert _found(bob, "exploit") == []


@pytest.mark.services
def test_postgres_partner_search_is_stemmed_ranked_and_index_backed(bob, revised):
    assert connection.vendor == "postgresql"
    assert _found(bob, "kangaroos") == []
    assert _found(bob, "exploits") == ["Kangaroo uplift"]
    # The revisions' side is answered from the `revision_search` GIN index: its expression is
    # the one the search queries with (the planner picks it once the tables are large).
    query = DocumentRevision.objects.annotate(search=revision_search_vector()).filter(
        search=SearchQuery("exploit", search_type="websearch", config=SEARCH_CONFIG)
    )
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "revision_search" in plan, plan


def test_results_and_the_chart_name_the_released_title_and_search_only_it(client, bob, finding, usaisi, media):
    from datetime import UTC, datetime

    from tests.factories import AttachmentFactory
    from tests.ui.support import store_run

    log = AttachmentFactory(document=finding, filename="run.txt")
    ReleaseFactory(document=finding, recipient=usaisi)
    run = store_run(log, model="lab/atlas", at=datetime(2026, 1, 5, tzinfo=UTC), value=0.5)
    revise(finding, title="Kangaroo title")
    login_verified(client, bob)
    for name, query in [("evals:results", {}), ("evals:results_compare", {"task": run.task})]:
        page = client.get(reverse(name), query).content.decode()
        assert "Cyber uplift finding" in page and "Kangaroo" not in page, name
    assert str(run.code) not in client.get(reverse("evals:results"), {"text": "Kangaroo"}).content.decode()
    assert str(run.code) in client.get(reverse("evals:results"), {"text": "Cyber uplift"}).content.decode()
