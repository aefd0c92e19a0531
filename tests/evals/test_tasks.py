"""The parsing task, with attachments replaced by a stand-in `open_plaintext`."""

from __future__ import annotations

import contextlib
import importlib
import sys
import types
import uuid
from pathlib import Path

import pytest
from celery.exceptions import Retry, SoftTimeLimitExceeded
from django.core.exceptions import ObjectDoesNotExist

from evals.models import EvalRun
from evals.tasks import MAX_RETRIES, parse_eval_log
from tests.evals.test_parser_fixtures import OneWayStream
from tests.evals.zips import Entry, build_zip, zstd_stream

FIXTURES = Path(__file__).parent / "fixtures"

pytestmark = pytest.mark.django_db


@pytest.fixture
def attachments(monkeypatch):
    """Plaintexts by attachment code, served by a stand-in `vault.attachments.open_plaintext`
    (a one-way stream, as decryption gives). A value that is an exception is raised instead."""
    store: dict[uuid.UUID, object] = {}
    try:
        module = importlib.import_module("vault.attachments")
    except ImportError:
        module = types.ModuleType("vault.attachments")
        monkeypatch.setitem(sys.modules, "vault.attachments", module)

    @contextlib.contextmanager
    def open_plaintext(code):
        content = store.get(code)
        if content is None:
            raise ObjectDoesNotExist("no such attachment")
        if isinstance(content, BaseException):
            raise content
        yield OneWayStream(content)

    monkeypatch.setattr(module, "open_plaintext", open_plaintext, raising=False)
    return store


def run_task(code, **options):
    return parse_eval_log.apply(args=[str(code)], **options).get()


@pytest.mark.parametrize("name", ["multi_scorer.eval", "multi_scorer.json"])
def test_task_parses_the_attachment_into_its_run(attachments, name):
    code = uuid.uuid4()
    attachments[code] = (FIXTURES / name).read_bytes()
    assert run_task(code) == "parsed"
    run = EvalRun.objects.get(attachment_code=code)
    assert (run.parse_status, run.task, run.scores.count()) == ("parsed", "arithmetic_multi_scorer", 4)


def test_task_run_twice_leaves_one_run(attachments):
    code = uuid.uuid4()
    attachments[code] = (FIXTURES / "epochs.eval").read_bytes()
    assert run_task(code) == run_task(code) == "parsed"
    assert EvalRun.objects.filter(attachment_code=code).count() == 1
    assert EvalRun.objects.get().scores.count() == 2


def test_task_marks_a_zip_bomb_failed_without_raising(attachments):
    code = uuid.uuid4()
    bomb = zstd_stream([b'{"samples": "', *(bytes(1 << 20) for _ in range(256))])
    attachments[code] = build_zip([Entry("header.json", compressed=bomb, declared_size=10, crc=0)])
    assert run_task(code) == "failed"
    run = EvalRun.objects.get(attachment_code=code)
    assert run.parse_status == "failed"
    assert run.parse_error == "header.json expands more than 500 times when decompressed (a zip bomb?)"


def test_task_marks_garbage_failed(attachments):
    code = uuid.uuid4()
    attachments[code] = b"\x89PNG\r\n\x1a\n not a log at all"
    assert run_task(code) == "failed"
    assert EvalRun.objects.get(attachment_code=code).parse_error.startswith("not an Inspect log")


def test_task_limits_come_from_settings(attachments, settings):
    settings.EVALS_MAX_LOG_BYTES = 1000
    code = uuid.uuid4()
    attachments[code] = (FIXTURES / "success.json").read_bytes()
    assert run_task(code) == "failed"
    assert EvalRun.objects.get().parse_error == "the log is larger than the 1000 bytes allowed"


def test_task_for_a_destroyed_attachment_does_nothing(attachments):
    assert run_task(uuid.uuid4()) == "missing"
    assert not EvalRun.objects.exists()


def test_task_with_a_bad_code_does_nothing(attachments):
    assert run_task("not-a-uuid") == "invalid"


def test_task_retries_when_the_attachment_cannot_be_read(attachments):
    code = uuid.uuid4()
    attachments[code] = OSError("storage unavailable")
    with pytest.raises(Retry):
        run_task(code)
    assert not EvalRun.objects.exists()


def test_task_gives_up_after_the_last_retry_and_says_so(attachments, caplog):
    code = uuid.uuid4()
    attachments[code] = OSError("SECRET plaintext fragment")
    assert run_task(code, retries=MAX_RETRIES) == "failed"
    run = EvalRun.objects.get(attachment_code=code)
    assert (run.parse_status, run.parse_error) == ("failed", "the attachment could not be read")
    # The exception's message could carry plaintext: only its type is logged.
    assert "OSError" in caplog.text and "SECRET" not in caplog.text


def test_task_over_its_time_limit_marks_the_run_failed(attachments):
    code = uuid.uuid4()
    attachments[code] = SoftTimeLimitExceeded()
    assert run_task(code) == "failed"
    assert EvalRun.objects.get().parse_error == "reading the log took longer than 120 seconds"


def test_task_is_acks_late_with_time_limits():
    assert parse_eval_log.acks_late is True and parse_eval_log.reject_on_worker_lost is True
    assert parse_eval_log.soft_time_limit < parse_eval_log.time_limit
