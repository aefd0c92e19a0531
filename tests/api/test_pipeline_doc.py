"""docs/API.md's "push from a pipeline" snippets, run exactly as written against a live Accord.

The curl block runs in bash with a stand-in `inspect` on PATH (it writes a real Inspect log, the
one the eval tests use); the Python block runs in a fresh interpreter. Both talk HTTP to a live
server, so the URLs, headers and payloads in the docs are the ones that work.
"""

from __future__ import annotations

import os
import re
import subprocess  # noqa: S404
import sys
from pathlib import Path

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from evals.models import EvalRun
from sharing.models import Attachment, Document
from tests.api.conftest import make_token
from tests.api.support import FIXTURES

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

DOC = Path(__file__).resolve().parents[2] / "docs" / "API.md"


def snippet(heading: str, language: str) -> str:
    text = DOC.read_text()
    section = text[text.index(heading) :]
    return re.search(rf"```{language}\n(.*?)```", section, re.S).group(1)


@pytest.fixture
def pipeline_dir(tmp_path):
    """A working folder and a stand-in `inspect` that writes a real .eval log into logs/."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "inspect"
    fake.write_text(
        f'#!/bin/sh\nmkdir -p logs && cp "{FIXTURES / "success.eval"}" logs/2026-11-28T03-00-00_arithmetic.eval\n'
    )
    fake.chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    return work, bin_dir


def run(args, work, env):
    result = subprocess.run(args, cwd=work, env=env, capture_output=True, text=True, timeout=120)  # noqa: S603
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def check_pushed(alice, token):
    document = Document.objects.get(title="Arithmetic eval of GPT-4o")
    assert document.author == alice and document.status == Document.Status.PUBLISHED
    assert sorted(document.releasable_to.values_list("code", flat=True)) == ["GBR", "USA"]
    attachment = Attachment.objects.get(document=document)
    assert attachment.filename == "2026-11-28T03-00-00_arithmetic.eval"
    assert attachment.size == (FIXTURES / "success.eval").stat().st_size
    assert attachment.scan_status == Attachment.ScanStatus.CLEAN
    # The log became results, readable through the API.
    run_ = EvalRun.objects.get(attachment_code=attachment.code)
    assert run_.parse_status == EvalRun.ParseStatus.PARSED
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    runs = client.get(reverse("api:eval_run_list"), {"document": str(document.code)}).json()["results"]
    assert [r["code"] for r in runs] == [str(run_.code)] and runs[0]["scores"]


def test_curl_snippet_pushes_a_finding_and_its_log(live_server, alice, pipeline_dir):
    work, bin_dir = pipeline_dir
    token = make_token(alice)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "ACCORD_URL": live_server.url,
        "ACCORD_TOKEN": token,
    }
    run(["bash", "-euo", "pipefail", "-c", snippet("### With curl", "sh")], work, env)
    check_pushed(alice, token)


def test_python_snippet_pushes_a_finding_and_its_log(live_server, alice, pipeline_dir):
    work, bin_dir = pipeline_dir
    run([str(bin_dir / "inspect")], work, dict(os.environ))  # the eval the pipeline just ran
    token = make_token(alice)
    env = {**os.environ, "ACCORD_URL": live_server.url, "ACCORD_TOKEN": token}
    result = run([sys.executable, "-c", snippet("### With Python", "python")], work, env)
    check_pushed(alice, token)
    assert result.stdout.strip() == str(Document.objects.get(title="Arithmetic eval of GPT-4o").code)
