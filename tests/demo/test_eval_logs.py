"""The demo's Inspect logs: attached once, parsed through the real path, seen as the rules say."""

from __future__ import annotations

import pytest

from accounts.models import User
from demo import seed
from demo.eval_logs import DEMO_DATA, LOGS
from evals.models import EvalRun
from evals.selectors import readable_runs
from sharing.models import Attachment

pytestmark = pytest.mark.django_db


def test_demo_logs_become_results_once_and_follow_the_access_rules(
    settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path / "media"
    with django_capture_on_commit_callbacks(execute=True):
        seed.seed_all()
    logs = Attachment.objects.filter(filename__in=[name for _, name in LOGS])
    assert logs.count() == len(LOGS)
    assert set(logs.values_list("scan_status", flat=True)) == {Attachment.ScanStatus.CLEAN}
    runs = EvalRun.objects.filter(attachment_code__in=logs.values("code"))
    assert set(runs.values_list("parse_status", flat=True)) == {EvalRun.ParseStatus.PARSED}
    # Two runs of one task: the comparison page has something to compare.
    assert runs.filter(task="arithmetic_success").count() == 2

    bob = User.objects.get(email="bob@caisi.example")  # US reviewer: released documents only
    carl = User.objects.get(email="carl@cais.example")  # Canada: no agreement, no release
    assert readable_runs(bob).filter(task="arithmetic_success").count() == 2
    assert not readable_runs(carl).exists()

    with django_capture_on_commit_callbacks(execute=True):
        seed.seed_all()
    assert Attachment.objects.filter(filename__in=[name for _, name in LOGS]).count() == len(LOGS)
    assert EvalRun.objects.count() == len(LOGS)


def test_demo_logs_are_copies_kept_outside_the_tests():
    from pathlib import Path

    fixtures = Path(__file__).resolve().parent.parent / "evals" / "fixtures"
    for _, name in LOGS:
        assert (DEMO_DATA / name).read_bytes() == (fixtures / name).read_bytes()
