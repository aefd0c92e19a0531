"""Filters and search over a policy-filtered list of documents."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from sharing import policy
from sharing.forms import DocumentFilterForm
from sharing.models import Document
from sharing.selectors import evaluated_models, filter_documents, search_documents, with_marking
from tests.factories import DocumentFactory, tier
from tests.sharing.documents_support import new_document

pytestmark = pytest.mark.django_db


def titles(queryset) -> list[str]:
    return sorted(d.title for d in queryset)


def at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)


@pytest.fixture
def library(alice, sam, hank):
    """Five documents across two institutes, tiers, topics, models, statuses and dates: two
    published (dated by publication), three drafts (dated by creation)."""

    def finding(author, title, summary, body, *, topics, model, created, published=None, tier="official"):
        return DocumentFactory(
            author=author,
            title=title,
            summary=summary,
            body=body,
            tier=tier,
            releasable_to=["USA"],
            risk_domains=topics,
            model_developer=model[0],
            model_name=model[1],
            model_version="2025-06",
            status="published" if published else "draft",
            created_at=at(created),
            published_at=published and at(published),
        )

    return {
        "uk-jailbreak": finding(
            alice,
            "Jailbreak robustness",
            "Refusal training held under paraphrase.",
            "We measured refusal rates against adversarial prompts.",
            topics=["safeguards", "cbrn"],
            model=("Example Labs", "Frontier-7"),
            created="2025-01-05",
            published="2025-03-01T12:00",
        ),
        "uk-cyber": finding(
            sam,
            "Capture-the-flag uplift",
            "Exploit development on ranges.",
            "The agent wrote a working exploit for a known vulnerability.",
            tier="secret",
            topics=["cyber-offence"],
            model=("Northwind AI", "Atlas"),
            created="2025-02-10",
        ),
        "uk-persuasion": finding(
            alice,
            "Opinion shift in long conversations",
            "Persuasion evaluations with human raters.",
            "Participants changed their stated views after extended dialogue.",
            tier="official-sensitive",
            topics=["persuasion"],
            model=("Northwind AI", "atlas"),
            created="2025-03-01T23:59:59",
        ),
        "us-replication": finding(
            hank,
            "Self-replication attempts",
            "Sandbox escape evaluations.",
            "The model tried to copy its weights when told it would be replaced.",
            topics=["autonomy"],
            model=("Example Labs", "Frontier-7"),
            created="2024-12-01",
            published="2025-04-15",
        ),
        "us-rnd": finding(
            hank,
            "Automated research agent benchmark",
            "Kernel optimisation tasks.",
            "Agents matched junior engineers on exploit-free optimisation tasks.",
            topics=["ai-rnd"],
            model=("", ""),
            created="2025-05-20",
        ),
    }


def test_filter_by_tier(library):
    assert titles(filter_documents(Document.objects.all(), tier=tier("secret"))) == ["Capture-the-flag uplift"]


def test_filter_by_risk_domain_lists_each_document_once(library):
    found = filter_documents(Document.objects.all(), risk_domain="safeguards")
    assert titles(found) == ["Jailbreak robustness"]
    assert found.count() == 1
    assert titles(filter_documents(Document.objects.all(), risk_domain="cbrn")) == ["Jailbreak robustness"]


def test_filter_by_evaluated_model_ignores_case(library):
    assert titles(filter_documents(Document.objects.all(), model_name="ATLAS")) == [
        "Capture-the-flag uplift",
        "Opinion shift in long conversations",
    ]
    assert titles(
        filter_documents(Document.objects.all(), model_developer="example labs", model_name="frontier-7")
    ) == ["Jailbreak robustness", "Self-replication attempts"]


def test_filter_by_originator(library, usaisi):
    assert titles(filter_documents(Document.objects.all(), originator=usaisi)) == [
        "Automated research agent benchmark",
        "Self-replication attempts",
    ]


def test_filter_by_status(library):
    assert titles(filter_documents(Document.objects.all(), status=Document.Status.PUBLISHED)) == [
        "Jailbreak robustness",
        "Self-replication attempts",
    ]


def test_date_range_is_inclusive_and_uses_publication_date_when_published(library):
    found = filter_documents(Document.objects.all(), date_from=dt.date(2025, 3, 1), date_to=dt.date(2025, 3, 1))
    # Jailbreak: created in January but published on 1 March; persuasion: created late on 1 March.
    assert titles(found) == ["Jailbreak robustness", "Opinion shift in long conversations"]
    assert titles(filter_documents(Document.objects.all(), date_from=dt.date(2025, 4, 1))) == [
        "Automated research agent benchmark",
        "Self-replication attempts",
    ]
    assert titles(filter_documents(Document.objects.all(), date_to=dt.date(2025, 2, 9))) == []


def test_filters_combine(library, ukasi):
    found = filter_documents(
        Document.objects.all(), originator=ukasi, model_name="atlas", tier=tier("official-sensitive")
    )
    assert titles(found) == ["Opinion shift in long conversations"]


def test_text_search_finds_words_in_title_summary_or_body(library):
    everything = Document.objects.all()
    assert titles(search_documents(everything, "jailbreak")) == ["Jailbreak robustness"]
    assert titles(search_documents(everything, "human raters")) == ["Opinion shift in long conversations"]
    assert titles(search_documents(everything, "weights")) == ["Self-replication attempts"]
    assert titles(search_documents(everything, "EXPLOIT")) == [
        "Automated research agent benchmark",
        "Capture-the-flag uplift",
    ]


def test_every_word_must_match(library):
    assert titles(search_documents(Document.objects.all(), "exploit vulnerability")) == ["Capture-the-flag uplift"]
    assert titles(search_documents(Document.objects.all(), "exploit kangaroo")) == []


def test_blank_search_changes_nothing(library):
    assert search_documents(Document.objects.all(), "   ").count() == 5


def test_search_never_widens_the_readable_set(library, alice):
    # Alice (UK, OFFICIAL-SENSITIVE) may not read the US documents nor the SECRET UK one.
    readable = policy.readable_documents(alice)
    assert titles(filter_documents(readable, text="exploit")) == []
    assert titles(filter_documents(readable, text="evaluations")) == ["Opinion shift in long conversations"]
    assert titles(filter_documents(readable, tier=tier("secret"))) == []


def test_evaluated_models_menu(library):
    assert evaluated_models(Document.objects.all()) == [
        ("Example Labs", "Frontier-7"),
        ("Northwind AI", "Atlas"),
    ]


def test_filter_form_feeds_the_selector(library, ukasi):
    form = DocumentFilterForm(
        {"text": "refusal", "originator": "ukasi", "risk_domain": "safeguards", "date_from": "2025-02-01"}
    )
    assert form.is_valid(), form.errors
    assert titles(filter_documents(Document.objects.all(), **form.cleaned_data)) == ["Jailbreak robustness"]


def test_filter_form_refuses_backwards_dates_and_unknown_values():
    form = DocumentFilterForm({"date_from": "2025-05-01", "date_to": "2025-04-01", "risk_domain": "nonsense"})
    assert not form.is_valid()
    assert "risk_domain" in form.errors
    assert form.non_field_errors() == ["The start date is after the end date."]


def test_a_filtered_list_with_banners_costs_the_same_for_any_length(library, django_assert_num_queries):
    from sharing.marking import highest_marking_of

    # 1 documents (with tier, originator, author), 4 prefetches (releasable_to, compartments,
    # caveats, risk_domains); the risk-domain filter is a subquery inside the first.
    with django_assert_num_queries(5):
        page = list(with_marking(filter_documents(Document.objects.all(), risk_domain="autonomy", text="model")))
        highest_marking_of(page)
    assert [d.title for d in page] == ["Self-replication attempts"]


# PostgreSQL full-text search: stemming, ranking, web-search syntax, and the GIN index.
services = pytest.mark.services


@services
def test_postgres_search_matches_word_forms(library):
    assert connection.vendor == "postgresql"
    # "evaluation" finds "evaluations"; "replicating" finds "replication".
    assert titles(search_documents(Document.objects.all(), "evaluation")) == [
        "Opinion shift in long conversations",
        "Self-replication attempts",
    ]
    assert titles(search_documents(Document.objects.all(), "replicating")) == ["Self-replication attempts"]


@services
def test_postgres_search_ranks_title_above_body(library, alice):
    new_document(alice, title="Notes", body="A passing mention of exploit chains.")
    found = [d.title for d in search_documents(Document.objects.all(), "exploit")]
    # The title/summary hit ("Exploit development") outranks body-only mentions.
    assert found[0] == "Capture-the-flag uplift"
    assert set(found) == {"Capture-the-flag uplift", "Automated research agent benchmark", "Notes"}


@services
def test_postgres_search_understands_web_search_syntax(library):
    everything = Document.objects.all()
    assert titles(search_documents(everything, "exploit -kernel")) == ["Capture-the-flag uplift"]
    assert titles(search_documents(everything, '"copy its weights"')) == ["Self-replication attempts"]
    assert titles(search_documents(everything, "refusal OR sandbox")) == [
        "Jailbreak robustness",
        "Self-replication attempts",
    ]


@services
def test_postgres_search_can_use_the_gin_index(library):
    query = search_documents(Document.objects.all(), "exploit")
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "document_search" in plan, plan
