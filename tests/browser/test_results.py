"""Eval results in a real browser: the demo's Inspect logs, as someone at the US partner sees them.

Ravi, not Bob: the journey test revokes Bob's clearance on the shared demo server."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_partner_finds_results_compares_a_task_and_opens_the_document(open_session):
    me = open_session()
    me.sign_in("ravi@caisi.example")
    page = me.page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Results").click()
    page.wait_for_url("**/results/")
    assert page.get_by_role("heading", level=1).inner_text() == "Evaluation results"
    assert page.locator("tr[data-run]").count() >= 2
    assert page.locator(".accord-banner--top").is_visible()

    page.get_by_role("link", name="arithmetic_success", exact=True).first.click()
    page.wait_for_url("**/results/compare/?task=arithmetic_success")
    chart = page.get_by_role("img", name="match · accuracy of arithmetic_success per model over time")
    assert chart.is_visible()
    assert page.locator("svg .accord-chart__point").count() == page.locator("tbody tr[data-run]").count() == 2

    page.get_by_role("link", name="Jailbreak robustness of Frontier-7").first.click()
    page.wait_for_url("**/documents/**")
    assert page.get_by_role("heading", name="Evaluation results").is_visible()
    assert page.get_by_role("table", name="Scores").first.is_visible()
    me.assert_clean()
