"""The API docs page in a real Chromium, under the production CSP: it renders the operations
and the browser reports no CSP violation and no console error."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_anonymous_docs_page_renders_under_the_csp(live_server, tmp_path):
    shot = tmp_path / "api-docs.png"
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(f"{live_server.url}/api/docs/")
        page.wait_for_selector(".opblock-summary-path", timeout=20_000)
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        page.screenshot(path=str(shot), full_page=False)
        browser.close()
    assert "/api/v1/documents/" in " ".join(paths)
    # Chromium reports every CSP refusal ("Refused to … Content Security Policy") as a console error.
    assert problems == []
