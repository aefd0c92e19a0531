"""Steps the journeys and the screenshot walk share, each done the way a person would."""

from __future__ import annotations

import re

AGREEMENT = "UK-US-JOINT-EVAL"  # drafted by tests/browser/draft_agreement.py


def expect_notice(session, text: str) -> None:
    """Wait for the next page's notification to say `text` (a click's navigation may still be on its way)."""
    from playwright.sync_api import expect

    expect(session.page.locator(".govuk-notification-banner")).to_contain_text(text)


def sign_agreement(session) -> None:
    """Sign the UK–US agreement for the signed-in person's institute, if it still needs it."""
    session.go("/agreements/")
    session.page.get_by_role("link", name=AGREEMENT).click()
    session.page.wait_for_url(re.compile(r"/agreements/[0-9a-f-]{36}/$"))
    button = session.page.get_by_role("button", name=re.compile("^Sign for"))
    if button.count():
        button.click()
        expect_notice(session, "You signed")


def agreement_in_force(open_session) -> None:
    """Both institutes' signatories sign the UK–US agreement, so releases can be asked under it."""
    for signatory in ("olivia@ukasi.example", "ursula@caisi.example"):
        signer = open_session()
        signer.sign_in(signatory)
        sign_agreement(signer)


def write_finding(session, title: str, *, domain: str = "Safeguards and jailbreaks", usa: bool = True) -> str:
    """Fill in and save a finding; returns the path of its page."""
    page = session.page
    session.go("/documents/new/")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Summary").fill("A jailbreak found in version 1 still works in version 2.")
    page.get_by_label("Body").fill(
        "## Method\n\nWe replayed **412** prompts from the earlier exercise against the new version.\n\n"
        "| Version | Success rate |\n|---|---|\n| 1.0 | 41% |\n| 2.0 | 37% |\n"
    )
    page.get_by_label("Model developer").fill("Example Labs")
    page.get_by_label("Model name").fill("Atlas")
    page.get_by_label("Model version").fill("2.0")
    page.get_by_label(domain).check()
    page.get_by_label("Tier").select_option(label="OFFICIAL-SENSITIVE")
    if usa:
        page.get_by_label("USA", exact=True).check()
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url(re.compile(r"/documents/[0-9a-f-]{36}/$"))
    return page.url.removeprefix(session.server.url)


def publish(session, path: str) -> None:
    session.go(path)
    session.page.get_by_role("button", name="Publish").click()
    expect_notice(session, "Published")


def request_release(session, path: str, *, agreement: str = AGREEMENT) -> None:
    page = session.page
    session.go(path)
    page.get_by_role("link", name="Request release").click()
    page.get_by_label(re.compile(agreement)).check()
    page.get_by_role("button", name="Show who may receive it").click()
    page.get_by_label(re.compile("US Center for AI Standards")).check()
    page.get_by_label("Why should they see it?").fill("Joint pre-deployment testing of Atlas 2.0.")


def submit_release(session) -> None:
    session.page.get_by_role("button", name="Request release").click()
    expect_notice(session, "Release requested")
