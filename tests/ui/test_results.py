"""Eval results in the portal: on the document page, in the results list, and compared per task.

Who sees a run: exactly whoever may read the document its log is attached to (a clean log not
yet destroyed). A comparison of a task the user has no readable run of answers 404 — the same
whether the task exists only in documents they may not read or nowhere — and is audited.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest
from django.urls import reverse
from django.utils.html import escape

from audit.models import Action, AuditEvent, Outcome
from evals.models import EvalRun
from sharing.models import Attachment, RiskDomain
from sharing.services.releases import release_approve
from tests.factories import (
    AgreementFactory,
    AttachmentFactory,
    DocumentFactory,
    OrganisationFactory,
    PersonFactory,
    ReleaseFactory,
)
from tests.ui.support import FIXTURES, assert_no_inline_code, store_run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

RESULTS = "evals:results"
COMPARE = "evals:results_compare"
SVG = "{http://www.w3.org/2000/svg}"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def attach(django_capture_on_commit_callbacks):
    """A clean attachment on `document` (the scan runs on commit, in-process)."""

    def _attach(document, data=b"evaluation notes\n", filename="notes.txt", content_type="text/plain"):
        with django_capture_on_commit_callbacks(execute=True):
            attachment = AttachmentFactory(
                document=document, data=data, filename=filename, content_type=content_type, scan=False
            )
        attachment.refresh_from_db()
        assert attachment.scan_status == Attachment.ScanStatus.CLEAN, attachment.scan_reason
        return attachment

    return _attach


@pytest.fixture
def outsider(db):
    """Cleared to SECRET, but in an institute with no agreement and no release."""
    user = PersonFactory(
        email="otto@elsewhere.example", organisation=OrganisationFactory(short_name="elsewhere"), clearance="secret"
    )
    return user


@pytest.fixture
def world(alice, bob, rory, ukasi, usaisi, gbr_usa, attach):
    """Two UK documents with runs of the same task: one released to the US, one kept at home."""
    released = DocumentFactory(author=alice, title="Released arithmetic study", releasable_to=gbr_usa)
    home = DocumentFactory(author=alice, title="Home-only arithmetic study", tier="official")
    agreement = AgreementFactory(parties=[ukasi, usaisi])
    runs = {
        "released_a": store_run(attach(released), model="lab/atlas", at=T0, value=0.5),
        "released_b": store_run(attach(released), model="lab/borealis", at=T0 + timedelta(days=1), value=0.7),
        "home_run": store_run(attach(home), model="lab/atlas", at=T0 + timedelta(days=2), value=0.9),
        "secret_task": store_run(attach(home), model="lab/atlas", at=T0, value=0.1, task="home_only_task"),
    }
    # Released with its logs: a release pins the revision its officer approved, files included.
    release_approve(
        actor=rory,
        release=ReleaseFactory(document=released, agreement=agreement, recipient=usaisi, status="requested"),
        reason="Within the MoU.",
    )
    return {"released": released, "home": home, **runs}


def _codes(html: str) -> set[str]:
    return set(re.findall(r'data-run="([0-9a-f-]{36})"', html))


def _banners(html: str) -> list[str]:
    return re.findall(r'data-classification="([^"]*)"', html)


# -- the view matrix ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", [RESULTS, COMPARE])
def test_anonymous_is_sent_to_sign_in_from_results(client, world, name):
    response = client.get(reverse(name), {"task": "arithmetic_success"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_outsider_sees_no_runs_in_results(verified_client, outsider, world):
    response = verified_client(outsider).get(reverse(RESULTS))
    assert response.status_code == 200
    html = response.content.decode()
    assert _codes(html) == set()
    assert "arithmetic_success" not in html and "lab/atlas" not in html  # not even as filter choices
    assert _banners(html) == []


@pytest.mark.parametrize("task", ["arithmetic_success", "home_only_task", "no_such_task", ""])
def test_outsider_gets_404_on_a_comparison_of_an_unreadable_or_missing_task(verified_client, outsider, world, task):
    response = verified_client(outsider).get(reverse(COMPARE), {"task": task})
    assert response.status_code == 404
    assert "lab/atlas" not in response.content.decode()
    denial = AuditEvent.objects.filter(action=Action.ACCESS_DENIED, actor_id=outsider.pk, outcome=Outcome.DENIED)
    assert denial.exists()
    # The trail keeps a digest of the name typed, never the name (it may come from a log).
    assert not task or task not in str(denial.last().details)


def test_partner_sees_runs_of_released_documents_only(verified_client, bob, world):
    html = verified_client(bob).get(reverse(RESULTS)).content.decode()
    assert _codes(html) == {str(world["released_a"].code), str(world["released_b"].code)}
    assert "Home-only arithmetic study" not in html
    assert verified_client(bob).get(reverse(COMPARE), {"task": "home_only_task"}).status_code == 404


def test_originator_sees_all_its_runs_each_with_its_portion_mark_and_the_highest_banner(verified_client, alice, world):
    html = verified_client(alice).get(reverse(RESULTS)).content.decode()
    assert _codes(html) == {str(world[k].code) for k in ("released_a", "released_b", "home_run", "secret_task")}
    assert "(OS//REL TO USA, GBR)" in html and "(O//GBR EYES ONLY)" in html
    # The banner: the highest tier on the page, releasable only where every row is.
    assert _banners(html) == ["OFFICIAL-SENSITIVE // GBR EYES ONLY"] * 2


def test_a_destroyed_or_rejected_log_takes_its_results_with_it(verified_client, alice, world):
    Attachment.objects.filter(code=world["home_run"].attachment_code).update(destroyed_at=world["home_run"].recorded_at)
    Attachment.objects.filter(code=world["released_a"].attachment_code).update(
        scan_status=Attachment.ScanStatus.REJECTED
    )
    html = verified_client(alice).get(reverse(RESULTS)).content.decode()
    assert _codes(html) == {str(world["released_b"].code), str(world["secret_task"].code)}


# -- filters, search, pagination ---------------------------------------------------------------


def test_results_filter_by_model_task_text_and_score(verified_client, alice, world):
    client = verified_client(alice)

    def found(**params):
        response = client.get(reverse(RESULTS), params)
        assert response.status_code == 200
        codes = _codes(response.content.decode())
        return {k for k in ("released_a", "released_b", "home_run", "secret_task") if str(world[k].code) in codes}

    assert found(model="lab/borealis") == {"released_b"}
    assert found(task="home_only_task") == {"secret_task"}
    assert found(text="borealis") == {"released_b"}
    assert found(text="Home-only") == {"home_run", "secret_task"}
    assert found(metric="accuracy", min_value="0.6") == {"released_b", "home_run"}
    assert found(metric="accuracy", min_value="0.4", max_value="0.8") == {"released_a", "released_b"}
    assert found(metric="accuracy", max_value="0.05") == set()


def test_results_filter_by_the_documents_risk_domain(verified_client, alice, world):
    document = Attachment.objects.get(code=world["home_run"].attachment_code).document
    document.risk_domains.add(RiskDomain.objects.get(code="cyber-offence"))
    html = verified_client(alice).get(reverse(RESULTS), {"risk_domain": "cyber-offence"}).content.decode()
    assert _codes(html) == {str(world["home_run"].code), str(world["secret_task"].code)}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"min_value": "0.5"}, "Choose the score the range applies to."),
        ({"metric": "accuracy", "min_value": "0.9", "max_value": "0.1"}, "The highest score is below the lowest."),
        ({"metric": "accuracy", "min_value": "lots"}, "Enter a number."),
        ({"metric": "no-such-metric"}, "Select a valid choice"),
    ],
)
def test_bad_filters_say_what_is_wrong_and_never_fail(verified_client, alice, world, params, message):
    response = verified_client(alice).get(reverse(RESULTS), params)
    assert response.status_code == 200
    assert message in response.content.decode()


def test_results_are_paginated_at_a_constant_query_count(verified_client, alice, gbr_usa, attach):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    document = DocumentFactory(author=alice, releasable_to=gbr_usa)
    client = verified_client(alice)
    store_run(attach(document), model="lab/model-00", at=T0, value=0.1)
    client.get(reverse(RESULTS))  # warm the session and caches

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse(RESULTS)).status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for n in range(1, 27):
        store_run(
            attach(DocumentFactory(author=alice, title=f"Doc {n}")),
            model=f"lab/model-{n:02d}",
            at=T0 + timedelta(hours=n),
            value=0.5,
        )
    assert count() == few
    first = client.get(reverse(RESULTS)).content.decode()
    second = client.get(reverse(RESULTS), {"page": 2}).content.decode()
    assert "Page 1 of 2" in first and len(_codes(first)) == 25 and len(_codes(second)) == 2
    assert "lab/model-26" in first and "lab/model-00" in second


# -- the comparison ----------------------------------------------------------------------------


def _svg(html: str) -> ElementTree.Element:
    match = re.search(r"<svg\b.*?</svg>", html, re.S)
    assert match, "no chart"
    return ElementTree.fromstring(match.group(0))  # noqa: S314 - our own markup


def test_comparison_chart_is_valid_svg_with_one_point_per_run_and_a_table(verified_client, alice, world):
    response = verified_client(alice).get(reverse(COMPARE), {"task": "arithmetic_success"})
    assert response.status_code == 200
    html = response.content.decode()
    svg = _svg(html)
    assert svg.find(f"{SVG}title").text and svg.find(f"{SVG}desc").text
    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "chart-title chart-desc"
    points = [c for c in svg.iter(f"{SVG}circle") if "accord-chart__point" in c.get("class", "")]
    assert len(points) == 3  # released_a, released_b, home: the other task is not in it
    series = {g.get("data-model"): g for g in svg.iter(f"{SVG}g") if g.get("data-model")}
    assert set(series) == {"lab/atlas", "lab/borealis"}
    assert len(list(series["lab/atlas"].iter(f"{SVG}circle"))) == 2
    # Higher scores sit higher: atlas went from 0.5 to 0.9.
    atlas = sorted(series["lab/atlas"].iter(f"{SVG}circle"), key=lambda c: float(c.get("cx")))
    assert float(atlas[1].get("cy")) < float(atlas[0].get("cy"))
    # Every point is also a table row.
    assert _codes(html) == {str(world[k].code) for k in ("released_a", "released_b", "home_run")}
    assert "0.9 ± 0.05" in html
    assert_no_inline_code(response)


def test_comparison_for_a_partner_plots_only_what_they_may_read(verified_client, bob, world):
    response = verified_client(bob).get(reverse(COMPARE), {"task": "arithmetic_success"})
    svg = _svg(response.content.decode())
    assert len([c for c in svg.iter(f"{SVG}circle") if "accord-chart__point" in c.get("class", "")]) == 2
    assert _banners(response.content.decode()) == ["CUI // REL TO USA, GBR"] * 2


def test_comparison_plots_the_chosen_score(verified_client, alice, attach):
    document = DocumentFactory(author=alice)
    run = store_run(attach(document), model="lab/atlas", at=T0, value=0.5)
    run.scores.create(scorer_name="length", scorer="length", reducer="", metric="mean", value=42.0)
    store_run(attach(document), model="lab/borealis", at=T0, value=0.6)
    client = verified_client(alice)
    default = client.get(reverse(COMPARE), {"task": run.task}).content.decode()
    # By default, the score most runs report.
    assert "match · accuracy" in _svg(default).find(f"{SVG}title").text
    chosen = client.get(reverse(COMPARE), {"task": run.task, "series": "length||mean"}).content.decode()
    assert "length · mean" in _svg(chosen).find(f"{SVG}title").text
    assert "42" in chosen
    bad = client.get(reverse(COMPARE), {"task": run.task, "series": "nope||x"})
    assert bad.status_code == 200 and "Select a valid choice" in bad.content.decode()


def test_comparison_with_nothing_to_plot_still_lists_the_runs(verified_client, alice, attach):
    run = store_run(attach(DocumentFactory(author=alice)), model="lab/atlas", at=T0, value=None)
    html = verified_client(alice).get(reverse(COMPARE), {"task": run.task}).content.decode()
    assert "<svg" not in html and str(run.code) in html


# -- the document page -------------------------------------------------------------------------


def test_document_page_shows_each_logs_run_scores_and_usage(verified_client, alice, attach):
    document = DocumentFactory(author=alice)
    attach(document, (FIXTURES / "multi_scorer.eval").read_bytes(), "multi_scorer.eval", "application/zip")
    attach(document, (FIXTURES / "error.json").read_bytes(), "error.json", "application/json")
    attach(document, b'{"rows": [1, 2]}', "not-a-log.json", "application/json")
    response = verified_client(alice).get(reverse("sharing:document_detail", args=[document.code]))
    html = response.content.decode()
    assert html.count('class="accord-eval-run"') == 3
    assert "arithmetic_multi_scorer" in html and "mockllm/model" in html
    assert "answer_length" in html and "1.75 ± 0.75" in html and "includes" in html
    assert "Token usage" in html
    assert "arithmetic_error" in html and "Error" in html
    error_run = EvalRun.objects.get(task="arithmetic_error")
    assert escape(error_run.error_message[:40]) in html
    failed = EvalRun.objects.get(parse_status=EvalRun.ParseStatus.FAILED)
    assert "Could not be read" in html and failed.parse_error in html
    assert_no_inline_code(response)


def test_document_page_costs_the_same_queries_for_one_run_or_many(
    verified_client, alice, attach, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    document = DocumentFactory(author=alice)
    store_run(attach(document), model="lab/a", at=T0, value=0.5)
    client = verified_client(alice)
    url = reverse("sharing:document_detail", args=[document.code])
    client.get(url)  # warm the session and caches
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    one = len(ctx.captured_queries)
    for n in range(4):
        store_run(attach(document), model=f"lab/m{n}", at=T0 + timedelta(days=n), value=0.1 * n)
    with django_assert_num_queries(one):
        html = client.get(url).content.decode()
    assert html.count('class="accord-eval-run"') == 5


def test_partner_document_page_shows_the_runs_of_a_released_document(verified_client, bob, world):
    html = verified_client(bob).get(reverse("sharing:document_detail", args=[world["released"].code])).content.decode()
    assert {str(world["released_a"].code), str(world["released_b"].code)} <= _codes(html)


def test_results_pages_carry_no_inline_code(verified_client, alice, world):
    assert_no_inline_code(verified_client(alice).get(reverse(RESULTS), {"text": "arith"}))


def test_navigation_links_to_results(verified_client, alice):
    html = verified_client(alice).get(reverse("home")).content.decode()
    assert f'href="{reverse(RESULTS)}"' in html


def test_unknown_run_codes_are_not_part_of_any_page(verified_client, alice, world):
    # A run whose attachment code names no attachment (never uploaded here) is seen by no one.
    EvalRun.objects.create(attachment_code=uuid.uuid4())
    html = verified_client(alice).get(reverse(RESULTS)).content.decode()
    assert len(_codes(html)) == 4


# -- every read audited ------------------------------------------------------------------------


def _listings(user) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=Action.DOCUMENT_LISTED, actor_id=user.pk))


def test_the_results_page_writes_one_event_naming_the_documents_of_its_runs(verified_client, bob, alice, world):
    verified_client(bob).get(reverse(RESULTS))
    (event,) = _listings(bob)
    assert event.details["page"] == "results"
    assert event.details["subjects"] == {"sharing.document": [str(world["released"].code)]}
    verified_client(alice).get(reverse(RESULTS))
    (event,) = _listings(alice)
    expected = {str(world["released"].code), str(world["home"].code)}
    assert set(event.details["subjects"]["sharing.document"]) == expected


def test_the_comparison_chart_writes_one_event_naming_the_documents_it_drew(verified_client, bob, world):
    verified_client(bob).get(reverse(COMPARE), {"task": "arithmetic_success"})
    (event,) = _listings(bob)
    assert event.details["page"] == "compare" and event.details["task"] == "arithmetic_success"
    assert event.details["subjects"] == {"sharing.document": [str(world["released"].code)]}
