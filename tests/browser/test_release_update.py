"""A released finding edited afterwards, in a real browser: the partner keeps reading the
revision released to it until the originator's release officer approves the update from the
difference page; then the partner reads the new one, and the originator's admin sees that read
in the document's access history."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.steps import (
    agreement_in_force,
    expect_notice,
    publish,
    request_release,
    submit_release,
    write_finding,
)

pytestmark = pytest.mark.browser

ANALYST = "alice@ukasi.example"
OFFICER = "rachel@ukasi.example"
# Ravi, not Bob: the journey test revokes Bob's clearance on the shared demo server.
REVIEWER = "ravi@caisi.example"
ORIGINATOR_ADMIN = "olivia@ukasi.example"


def test_an_edit_reaches_the_partner_only_when_the_officer_approves_the_update(open_session, server):
    token = uuid.uuid4().hex[:8]
    released_title = f"Refusal bypass under long context {token}"
    revised_title = f"Refusal bypass under long context, corrected {token}"
    agreement_in_force(open_session)

    # The analyst writes, publishes and asks for release; the officer approves (revision 2).
    analyst = open_session()
    analyst.sign_in(ANALYST)
    document_path = write_finding(analyst, released_title)
    publish(analyst, document_path)
    request_release(analyst, document_path)
    submit_release(analyst)
    officer = open_session()
    officer.sign_in(OFFICER)
    officer.go("/releases/")
    officer.page.locator(".accord-card", has_text=released_title).get_by_role("button", name="Approve").click()
    expect_notice(officer, "Released")

    # 1. The analyst edits the released finding: the title and a line of the body.
    analyst.go(document_path)
    analyst.page.get_by_role("link", name="Edit").click()
    analyst.page.get_by_label("Title").fill(revised_title)
    body = analyst.page.get_by_label("Body")
    body.fill(body.input_value().replace("412", "415"))
    analyst.page.get_by_role("button", name="Save changes").click()
    expect_notice(analyst, "Changes saved")
    expect(analyst.page.locator("#releases")).to_be_visible()
    assert "Update pending" in analyst.page.locator("main").inner_text()

    # 2. The partner still reads the released revision, and nothing of the new one.
    reviewer = open_session()
    reviewer.sign_in(REVIEWER)
    reviewer.go(document_path)
    main = reviewer.page.locator("main").inner_text()
    assert released_title in main and "412" in main
    assert "corrected" not in main and "415" not in main and "Update pending" not in main

    # 3. The officer finds the update in the queue and opens the difference: marking first.
    officer.go("/")
    assert revised_title in officer.page.locator("main").inner_text()  # home: updates pending
    officer.go("/releases/")
    officer.page.locator(".accord-card", has_text=revised_title).get_by_role(
        "link", name=re.compile("See the difference")
    ).click()
    officer.page.wait_for_url(re.compile(r"/releases/[0-9a-f-]{36}/update/$"))
    page_text = officer.page.locator("main").inner_text()
    assert page_text.index("Marking") < page_text.index("Text") < page_text.index("Attachments")
    assert "The marking is unchanged." in page_text
    expect(officer.page.locator("tr.accord-diff__added", has_text="415").first).to_be_visible()
    expect(officer.page.locator("tr.accord-diff__removed", has_text="412").first).to_be_visible()
    expect(officer.page.locator("tr.accord-diff__added", has_text=revised_title)).to_be_visible()
    officer.page.get_by_role("button", name="Approve the update").click()
    expect_notice(officer, "Update released")

    # 4. The partner now reads the new revision.
    reviewer.go(document_path)
    main = reviewer.page.locator("main").inner_text()
    assert revised_title in main and "415" in main

    # 5. The originator's admin sees the partner's read in the document's access history.
    admin = open_session()
    admin.sign_in(ORIGINATOR_ADMIN)
    admin.go(document_path)
    admin.page.get_by_role("link", name="Access history").click()
    admin.page.wait_for_url(re.compile(r"/access/$"))
    rows = admin.page.locator("tbody tr", has_text="Ravi Rao")
    reads = [
        [cell.strip() for cell in row.locator("td").all_inner_texts()]
        for row in rows.all()
        if row.locator("td").nth(3).inner_text().strip() == "read"
    ]
    # Ravi read revision 2 before the update, and revision 3 after it.
    assert {cells[5] for cells in reads} >= {"2", "3"}, reads

    for session in (analyst, officer, reviewer, admin):
        session.assert_clean()
