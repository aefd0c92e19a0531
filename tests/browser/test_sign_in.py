"""Signing in with password and TOTP, the pages every person sees, and the strict CSP holding."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser


def test_analyst_signs_in_with_password_and_totp_and_sees_home(open_session):
    me = open_session()
    me.sign_in("alice@ukasi.example")
    page = me.page
    assert page.get_by_role("heading", level=1).inner_text() == "What needs you now"
    assert "UKASI" in page.locator(".accord-header").inner_text()
    for heading in ["New releases to your organisation", "Your drafts"]:
        assert page.get_by_role("heading", name=re.compile(heading)).is_visible()
    # The vendored design system is applied (its stylesheet loaded, no fallback look).
    assert page.eval_on_selector("h1", "el => getComputedStyle(el).fontWeight") == "700"


def test_wrong_code_is_refused_with_a_clear_message(open_session):
    me = open_session()
    page = me.page
    me.go("/accounts/login/")
    page.get_by_label("Email address").fill("alice@ukasi.example")
    page.get_by_label("Password").fill("accord-demo-password")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/accounts/mfa/**")
    page.get_by_label("Six-digit code from your authenticator app").fill("000000")
    page.get_by_role("button", name="Verify").click()
    summary = page.locator(".govuk-error-summary")
    assert summary.is_visible()
    assert "not valid" in summary.inner_text()
    # The summary takes focus so a keyboard or screen-reader user hears it first.
    assert page.evaluate("document.activeElement.classList.contains('govuk-error-summary')")


def test_main_pages_render_without_console_errors_or_csp_violations(open_session):
    me = open_session()
    me.sign_in("rachel@ukasi.example")
    for path in [
        "/",
        "/documents/",
        "/releases/",
        "/agreements/",
        "/documents/?text=model&status=published",
        "/results/",
    ]:
        me.go(path)
        assert me.page.locator("main h1").count() == 1
    me.go("/documents/00000000-0000-0000-0000-000000000000/", expect_status=404)
    assert me.page.get_by_role("heading", name="Page not found").is_visible()
    me.assert_clean()


def test_keyboard_user_can_skip_to_content(open_session):
    me = open_session()
    me.sign_in("alice@ukasi.example")
    me.page.keyboard.press("Tab")
    focused = me.page.evaluate("document.activeElement.textContent")
    assert focused.strip() == "Skip to main content"
    me.page.keyboard.press("Enter")
    assert me.page.evaluate("document.activeElement.id") == "main-content"
