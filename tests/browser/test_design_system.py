"""GOV.UK Frontend's own script runs every data-module="govuk-*" component, from static/ under the
strict CSP: nothing Accord re-implements."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.steps import agreement_in_force, publish, request_release, write_finding

pytestmark = pytest.mark.browser

# Every data-module on the page carries GOV.UK's "started" mark (data-<module>-init).
UNSTARTED = "[...document.querySelectorAll('[data-module^=govuk-]')].filter(el => !el.hasAttribute(`data-${el.dataset.module}-init`)).map(el => el.dataset.module)"


def test_govuk_frontend_starts_every_component_on_the_main_pages(open_session):
    me = open_session()
    me.sign_in("alice@ukasi.example")
    for path in ["/", "/documents/", "/results/", "/api/tokens/", "/documents/?status=nonsense"]:
        me.go(path)
        assert me.page.evaluate("document.body.classList.contains('govuk-frontend-supported')")
        assert me.page.locator("[data-module^=govuk-]").count() > 0
        assert me.page.evaluate(UNSTARTED) == [], path
    me.assert_clean()


def test_named_readers_panel_shows_only_while_its_radio_is_chosen(open_session):
    agreement_in_force(open_session)
    analyst = open_session()
    analyst.sign_in("alice@ukasi.example")
    path = write_finding(analyst, f"Refusal bypass by role-play {uuid.uuid4().hex[:8]}")
    publish(analyst, path)
    request_release(analyst, path)
    page = analyst.page
    panel = page.locator("#named-readers")
    expect(panel).to_be_hidden()
    named = page.get_by_label("Named readers only")
    assert named.get_attribute("aria-expanded") == "false"
    named.check()
    expect(panel).to_be_visible()
    assert named.get_attribute("aria-expanded") == "true"
    page.get_by_label("Everyone in the recipient organisation").check()
    expect(panel).to_be_hidden()
    assert page.evaluate(UNSTARTED) == []
    analyst.assert_clean()
