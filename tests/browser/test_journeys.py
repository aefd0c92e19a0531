"""The whole road of a finding, in a real browser: written and evidenced by a UK analyst,
released by a UK release officer, found and read by a US reviewer, and cut off the moment the
reviewer's clearance is revoked. Every page on the way is watched for console errors and CSP
violations."""

from __future__ import annotations

import hashlib
import os
import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.steps import expect_notice, publish, request_release, sign_agreement, submit_release, write_finding

pytestmark = pytest.mark.browser

ANALYST = "alice@ukasi.example"
OFFICER = "rachel@ukasi.example"
REVIEWER = "bob@caisi.example"
PARTNER_ADMIN = "ursula@caisi.example"


def _banners(page) -> list[str]:
    return page.locator(".accord-banner").all_inner_texts()


def test_a_finding_goes_from_analyst_to_partner_and_stops_when_clearance_ends(open_session, server, tmp_path):
    token = uuid.uuid4().hex[:8]
    title = f"Tool-use jailbreak persists across versions {token}"
    evidence = tmp_path / "transcripts.csv"
    # About 3 MiB of real CSV, so the upload takes long enough to report progress.
    rows = [f"{n},{os.urandom(16).hex()},{n % 7 == 0}" for n in range(80_000)]
    payload = ("prompt_id,response_sha,jailbroken\n" + "\n".join(rows) + "\n").encode()
    evidence.write_bytes(payload)

    # 0. Each institute's signatory signs the drafted agreement; it is in force once both have.
    for signatory in ("olivia@ukasi.example", PARTNER_ADMIN):
        signer = open_session()
        signer.sign_in(signatory)
        sign_agreement(signer)
        signer.assert_clean()
    expect(signer.page.locator("main .govuk-tag").first).to_have_text("Active")

    # 1. The analyst writes a finding.
    analyst = open_session()
    analyst.sign_in(ANALYST)
    page = analyst.page
    page.get_by_role("link", name="Write a finding").click()
    page.wait_for_url("**/documents/new/")
    document_path = write_finding(analyst, title)
    document_url = server.url + document_path
    assert _banners(page) == ["OFFICIAL-SENSITIVE // REL TO USA, GBR"] * 2
    assert page.locator(".accord-doc-body strong").inner_text() == "412"

    # 2. ...attaches evidence and watches the progress bar finish.
    page.get_by_role("link", name="Add attachments").click()
    page.wait_for_url("**/upload/")
    page.evaluate(
        """() => { window.__seen = [];
        new MutationObserver(() => document.querySelectorAll('.accord-upload__status')
          .forEach(s => window.__seen.push(s.textContent))).observe(document.getElementById('uploads'),
          {subtree: true, childList: true, characterData: true}); }"""
    )
    page.get_by_label("Files to upload").set_input_files(str(evidence))
    page.get_by_role("button", name="Upload", exact=True).click()
    done = page.locator(".accord-upload--done")
    done.wait_for()
    assert page.locator(".accord-upload progress").evaluate("bar => bar.value") == 100
    assert re.search(r"(\d\.\d MB) of \1 \(100%\)", done.inner_text())
    seen = page.evaluate("window.__seen")
    percents = [int(p) for text in seen for p in re.findall(r"\((\d+)%\)", text)]
    assert percents[0] == 0 and percents[-1] == 100 and percents == sorted(percents)

    # 3. ...publishes, and asks for release to the US partner.
    analyst.go(document_url.removeprefix(server.url))
    assert page.get_by_role("cell", name="transcripts.csv").is_visible()
    publish(analyst, document_path)
    request_release(analyst, document_path)
    # Each partner's answer is on the page before anything is sent.
    assert re.search(r"US Center for AI Standards.*\tYes", page.locator("#eligibility").inner_text())
    submit_release(analyst)

    # 4. A release officer of the same institute approves.
    officer = open_session()
    officer.sign_in(OFFICER)
    officer.go("/releases/")
    card = officer.page.locator(".accord-card", has_text=title)
    card.get_by_role("button", name="Approve").click()
    expect_notice(officer, "Released")

    # 5. The partner reviewer finds it by search and filter, reads it under the right banner...
    reviewer = open_session()
    reviewer.sign_in(REVIEWER)
    rpage = reviewer.page
    assert title in rpage.locator("#new-releases").locator("..").inner_text()
    reviewer.go("/documents/")
    rpage.get_by_label("Search").fill(token)
    rpage.get_by_label("Risk domain").select_option(label="Safeguards and jailbreaks")
    rpage.get_by_role("button", name="Apply filters").click()
    rpage.wait_for_url(f"**text={token}**")
    rows = rpage.locator("table tbody tr")
    assert rows.count() == 1
    rows.get_by_role("link", name=title).click()
    rpage.wait_for_url(document_url)
    # The US reader sees the tier in US words.
    assert _banners(rpage) == ["CUI // REL TO USA, GBR"] * 2

    # 6. ...and downloads the attachment: the same bytes come back.
    with rpage.expect_download() as download:
        rpage.get_by_role("link", name="transcripts.csv").click()
    got = download.value.path().read_bytes()
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(payload).hexdigest()

    # 7. The partner's organisation admin revokes the reviewer's clearance...
    admin = open_session()
    admin.sign_in(PARTNER_ADMIN)
    admin.go("/accounts/org/")
    admin.page.get_by_role("link", name=re.compile("Bob")).first.click()
    admin.page.locator("form[action*='/clearances/'][action$='/revoke/'] button").first.click()
    expect(admin.page.locator("main")).to_contain_text(re.compile("revoked", re.IGNORECASE))

    # 8. ...and the reviewer's very next page load answers 404, like a document that never was.
    reviewer.go(document_url.removeprefix(server.url), expect_status=404)
    assert rpage.get_by_role("heading", name="Page not found").is_visible()
    assert title not in rpage.content()

    for session in (analyst, officer, reviewer, admin):
        session.assert_clean()
