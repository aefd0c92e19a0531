"""Checks and builders shared by the UI tests: markup that holds under the strict CSP, and eval
runs made through the real services."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime
from pathlib import Path

from evals.parsed import ParsedEvalLog, ParsedScore
from evals.parser import parse_eval_log
from evals.services import eval_run_from_parsed

FIXTURES = Path(__file__).resolve().parent.parent / "evals" / "fixtures"


def assert_no_inline_code(response) -> None:
    """The page carries a strict CSP and no inline script, style or event handler."""
    html = response.content.decode()
    csp = response["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "script-src 'self'" in csp
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"
    assert not re.search(r"\sstyle=", html), "inline style attribute"
    assert not re.search(r"<style", html), "inline style element"
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"


def fixture_log(name: str = "success.eval") -> ParsedEvalLog:
    """A fixture made by the real inspect_ai, parsed by the real parser."""
    with (FIXTURES / name).open("rb") as stream:
        return parse_eval_log(stream, filename=name)


def store_run(
    attachment, *, model: str, at: datetime, value: float | None, task: str = "arithmetic_success", stderr=0.05
):
    """Store a run for `attachment` as a parse would: the success fixture with another model,
    time and score, through `evals.services.eval_run_from_parsed`."""
    base = fixture_log()
    score = ParsedScore(
        scorer_name="match", scorer="match", reducer=None, metric="accuracy", value=value, stderr=stderr
    )
    parsed = dataclasses.replace(base, task=task, model=model, created=at, started=at, completed=at, scores=(score,))
    return eval_run_from_parsed(attachment_code=attachment.code, parsed=parsed)
