"""The attachments page's script sends each file as the raw request body, with a progress bar;
without JavaScript the same form posts multipart and the server keeps the file the same way."""

from __future__ import annotations

import hashlib
import os
import re
import uuid

import pytest

from .steps import write_finding

pytestmark = pytest.mark.browser

ANALYST = "alice@ukasi.example"


def test_the_page_streams_files_as_raw_bodies_with_progress(open_session, server, tmp_path):
    analyst = open_session()
    analyst.sign_in(ANALYST)
    page = analyst.page
    page.get_by_role("link", name="Write a finding").click()
    page.wait_for_url("**/documents/new/")
    write_finding(analyst, f"Raw upload {uuid.uuid4().hex[:8]}")
    page.get_by_role("link", name="Add attachments").click()
    page.wait_for_url("**/upload/")

    big = tmp_path / "weights-probe.bin"
    big.write_bytes(os.urandom(2 * 1024 * 1024 + 5))
    hostile = tmp_path / "résumé 'final' (2).txt"
    hostile.write_bytes(b"plain words\n")
    sent = []
    page.on(
        "request",
        lambda request: (
            sent.append(request.headers) if request.method == "POST" and request.url.endswith("/attachments/") else None
        ),
    )
    page.get_by_label("Files to upload").set_input_files([str(big), str(hostile)])
    page.get_by_role("button", name="Upload", exact=True).click()
    page.locator(".accord-upload--done").nth(1).wait_for()
    assert page.locator(".accord-upload--failed").count() == 0
    assert page.locator(".accord-upload progress").evaluate_all("bars => bars.map(b => b.value)") == [100, 100]
    assert re.search(r"2\.0 MB of 2\.0 MB \(100%\)", page.locator(".accord-upload").first.inner_text())

    # Each body is the file itself, never a multipart form, named by Content-Disposition: what
    # the server kept hashes to the file's own bytes (multipart framing would change it).
    assert len(sent) == 2
    for headers in sent:
        assert not headers["content-type"].startswith("multipart/")
        assert headers["content-disposition"].startswith("attachment; filename*=UTF-8''")
    kept = dict(server.query("SELECT filename, sha256 FROM sharing_attachment"))
    for path, name in ((big, "weights-probe.bin"), (hostile, "résumé 'final' (2).txt")):
        assert kept[name] == hashlib.sha256(path.read_bytes()).hexdigest()
    analyst.assert_clean()
