"""A screenshot of each main page (`make screenshots` writes them to docs/screenshots/).

Under `make test-browser` the same walk runs into a temporary folder, so every main page is
also checked for console errors and CSP violations, as each person sees it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser


def _first_href(page, selector: str) -> str | None:
    link = page.locator(selector).first
    return link.get_attribute("href") if link.count() else None


def test_screenshot_every_main_page(open_session, tmp_path):
    out = Path(os.environ.get("ACCORD_SCREENSHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)

    def shot(session, name: str) -> None:
        session.page.screenshot(path=str(out / f"{name}.png"), full_page=True)

    guest = open_session()
    guest.go("/accounts/login/")
    shot(guest, "01-sign-in")

    officer = open_session()
    officer.sign_in("rachel@ukasi.example")
    shot(officer, "02-home")
    officer.go("/documents/")
    shot(officer, "03-documents")
    document = _first_href(officer.page, "table a[href^='/documents/']")
    if document:
        officer.go(document)
        shot(officer, "04-document")
    officer.go("/releases/")
    shot(officer, "05-release-approvals")
    officer.go("/agreements/")
    shot(officer, "06-agreements")
    agreement = _first_href(officer.page, "table a[href^='/agreements/']")
    if agreement:
        officer.go(agreement)
        shot(officer, "07-agreement")

    author = open_session()
    author.sign_in("alice@ukasi.example")
    author.go("/documents/new/")
    shot(author, "08-write-a-finding")

    admin = open_session()
    admin.sign_in("olivia@ukasi.example")
    admin.go("/accounts/org/")
    shot(admin, "09-organisation-members")

    reviewer = open_session()
    reviewer.sign_in("bob@caisi.example")
    reviewer.go("/documents/00000000-0000-0000-0000-000000000000/", expect_status=404)
    shot(reviewer, "10-not-found")
    for session in (guest, officer, author, admin, reviewer):
        session.assert_clean()
    assert len(list(out.glob("*.png"))) >= 8
