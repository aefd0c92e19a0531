"""A screenshot of each main page (`make screenshots` writes them to docs/screenshots/).

Under `make test-browser` the same walk runs into a temporary folder, so every main page is also
checked, as each person sees it, for console errors and CSP violations.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.steps import AGREEMENT, agreement_in_force, publish, request_release, submit_release, write_finding

pytestmark = pytest.mark.browser


def test_screenshot_every_main_page(open_session, tmp_path):
    out = Path(os.environ.get("ACCORD_SCREENSHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)

    def shot(session, name: str) -> None:
        # Move the pointer off the controls: left where the last click was, a hover effect (GOV.UK
        # radios glow) would show in the picture.
        session.page.mouse.move(0, 0)
        session.page.screenshot(path=str(out / f"{name}.png"), full_page=True)

    guest = open_session()
    guest.go("/accounts/login/")
    shot(guest, "01-sign-in")

    agreement_in_force(open_session)

    author = open_session()
    author.sign_in("alice@ukasi.example")
    author.go("/documents/new/")
    shot(author, "02-write-a-finding")
    finding = write_finding(author, "Tool-use jailbreak persists across model versions")
    publish(author, finding)
    write_finding(author, "Draft: autonomy evaluation notes", domain="Autonomy and self-replication", usa=False)
    author.go(finding)
    author.page.get_by_role("link", name="Add attachments").click()
    author.page.wait_for_url("**/upload/")
    shot(author, "03-add-attachments")
    request_release(author, finding)
    shot(author, "04-request-release")
    submit_release(author)
    author.go("/")
    shot(author, "05-home-analyst")

    officer = open_session()
    officer.sign_in("rachel@ukasi.example")
    shot(officer, "06-home-release-officer")
    officer.go("/releases/")
    shot(officer, "07-release-approvals")
    officer.go("/documents/")
    shot(officer, "08-documents")
    officer.go(finding)
    shot(officer, "09-document")
    officer.go("/agreements/")
    officer.page.get_by_role("link", name=AGREEMENT).click()
    officer.page.wait_for_url("**/agreements/*-*/")
    shot(officer, "10-agreement")

    admin = open_session()
    admin.sign_in("olivia@ukasi.example")
    admin.go("/accounts/org/")
    shot(admin, "11-organisation-members")
    admin.go("/audit/")
    shot(admin, "13-audit-trail")

    reviewer = open_session()
    reviewer.sign_in("bob@caisi.example")
    reviewer.go(finding, expect_status=404)
    shot(reviewer, "12-not-found")

    for session in (guest, author, officer, admin, reviewer):
        session.assert_clean()
    assert len(list(out.glob("*.png"))) == 13
