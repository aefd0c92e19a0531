"""A portal admin drafts an agreement in the browser, with its signed MoU, and a party's member
downloads the MoU from the agreement page and gets the same bytes back."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser


def test_portal_admin_drafts_an_agreement_with_its_mou(open_session, tmp_path):
    reference = f"UK-CA-{secrets.token_hex(3).upper()}"
    mou = tmp_path / "signed-mou.txt"
    mou.write_bytes(b"UK-Canada memorandum of understanding, signed by both institutes.\n" * 40)

    admin = open_session()
    admin.sign_in("admin@accord.example")
    admin.go("/agreements/")
    page = admin.page
    page.get_by_role("link", name="Draft an agreement").click()
    page.wait_for_url("**/agreements/new/")
    # A refused draft first: one party only, so the error summary shows and nothing is saved.
    page.get_by_label("Reference").fill(reference)
    page.get_by_label("Title").fill("UK–Canada evaluation exchange")
    page.get_by_label("UK AI Security Institute").check()
    page.get_by_label("In force from (UTC)").fill("2026-01-01T00:00")
    page.get_by_label("Expires at (UTC)").fill("2036-01-01T00:00")
    page.get_by_label("Cyber").first.check()
    admin.watcher.expected_status_urls.add(admin.server.url + "/agreements/new/")  # the refusal is a 400
    page.get_by_role("button", name="Save draft agreement").click()
    page.get_by_role("heading", name="There is a problem").wait_for()
    page.get_by_label("Canadian AI Safety Institute").check()
    page.get_by_label("Signed MoU (optional)").set_input_files(str(mou))
    page.get_by_role("button", name="Save draft agreement").click()
    page.wait_for_url("**/agreements/*-*/")
    assert reference in page.get_by_role("heading", level=1).inner_text()
    agreement_url = page.url

    member = open_session()
    member.sign_in("olivia@ukasi.example")
    member.go(agreement_url.removeprefix(member.server.url))
    link = member.page.get_by_role("link", name="signed-mou.txt")
    for _ in range(20):  # the scan runs once the draft is committed
        if link.count():
            break
        member.page.wait_for_timeout(500)
        member.page.reload()
    with member.page.expect_download() as download:
        link.click()
    assert Path(download.value.path()).read_bytes() == mou.read_bytes()

    for session in (admin, member):
        session.assert_clean()
