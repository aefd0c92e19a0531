"""docs/API.md's "Checking a download" snippets, run exactly as written against a live Accord:
a whole download is kept, and one cut short by a tampered segment is refused by the check."""

from __future__ import annotations

import os
import subprocess  # noqa: S404
import sys

import pytest

from sharing.models import Attachment
from tests.api.conftest import make_token
from tests.api.support import clean_attachment
from tests.api.test_pipeline_doc import snippet
from tests.sharing.documents_support import new_document

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

SEG = 64 * 1024
DATA = b"sample,score\n" * (4 * SEG // 13 + 1)


@pytest.fixture
def attachment(alice, media):
    return clean_attachment(alice, new_document(alice), DATA, "scores.csv")


def tamper_segment_2(media, attachment: Attachment) -> None:
    path = media / attachment.blob_name
    raw = bytearray(path.read_bytes())
    raw[(SEG + 16) * 2 + 200] ^= 0x80  # inside segment 2, past the header and segments 0 and 1
    path.write_bytes(bytes(raw))


def run_snippet(language: str, live_server, alice, attachment, work):
    args = ["bash", "-c", snippet("## Checking a download", "sh")]
    if language == "python":
        args = [sys.executable, "-c", snippet("## Checking a download", "python")]
    # The test server keeps a connection open after a short body and waits for the next request,
    # while curl waits for the rest of the body. urllib asks for the connection to be closed
    # after each response; curl is told the same in a .curlrc of its own (gunicorn in production
    # closes an idle keep-alive connection after GUNICORN_KEEPALIVE seconds instead).
    home = work / "home"
    home.mkdir()
    (home / ".curlrc").write_text('header = "Connection: close"\n')
    env = {
        **os.environ,
        "HOME": str(home),
        "ACCORD_URL": live_server.url,
        "ACCORD_TOKEN": make_token(alice),
        "CODE": str(attachment.code),
    }
    return subprocess.run(args, cwd=work, env=env, capture_output=True, text=True, timeout=60)  # noqa: S603


@pytest.mark.parametrize("language", ["sh", "python"])
def test_a_whole_download_passes_the_documented_check(live_server, alice, attachment, tmp_path, language):
    result = run_snippet(language, live_server, alice, attachment, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "run.eval").read_bytes() == DATA


@pytest.mark.parametrize("language", ["sh", "python"])
def test_a_download_cut_by_a_tampered_segment_fails_the_documented_check(
    live_server, alice, attachment, media, tmp_path, language
):
    tamper_segment_2(media, attachment)
    result = run_snippet(language, live_server, alice, attachment, tmp_path)
    assert result.returncode != 0
    assert not (tmp_path / "run.eval").exists()
