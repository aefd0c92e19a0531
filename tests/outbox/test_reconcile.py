"""The reaper: overdue work, read from the database, queued again through the outbox — once."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.utils import timezone

from audit.models import Action, AuditEvent
from evals.models import EvalRun
from outbox import reconcile
from outbox.models import OutboxMessage
from outbox.services import enqueue
from portal.celery import app
from sharing.attachments import attachment_create_from_stream
from sharing.models import Attachment
from tests.sharing.documents_support import new_document
from vault import keys
from vault.models import OrganisationKey

pytestmark = pytest.mark.django_db

SCAN = "sharing.tasks.scan_attachment"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ACCORD_ATTACHMENT_SEGMENT_SIZE = 64 * 1024
    return settings.MEDIA_ROOT


@pytest.fixture
def lost_scan(alice, django_capture_on_commit_callbacks):
    """An upload whose scan message was lost: the row says pending, nothing will ever scan it."""
    document = new_document(alice)
    with django_capture_on_commit_callbacks(execute=False):
        attachment = attachment_create_from_stream(
            actor=alice, document=document, stream=io.BytesIO(b"model,score\n"), filename="r.csv"
        )
    assert Attachment.objects.get(pk=attachment.pk).scan_status == Attachment.ScanStatus.PENDING
    return attachment


def age(model, pk, field: str, seconds: float) -> None:
    model.objects.filter(pk=pk).update(**{field: timezone.now() - timedelta(seconds=seconds)})


def upload_overdue(attachment, seconds: float | None = None) -> None:
    """As if uploaded (and its scan queued) `seconds` ago, by default just past the deadline."""
    seconds = seconds or reconcile.KINDS["scan"].deadline.total_seconds() + 5
    age(Attachment, attachment.pk, "uploaded_at", seconds)
    for message in OutboxMessage.objects.filter(task=SCAN):
        age(OutboxMessage, message.pk, "created_at", seconds)


def reap(django_capture_on_commit_callbacks, *, run: bool = True) -> dict[str, int]:
    with django_capture_on_commit_callbacks(execute=run):
        return reconcile.reap()


def test_every_kind_of_tracked_work_is_registered():
    # The audit sequencer does not exist yet; it joins this list when it does.
    assert set(reconcile.KINDS) == {"scan", "parse", "rewrap", "notice"}
    assert set(django_settings.ACCORD_WORK_DEADLINES) == set(reconcile.KINDS)


def test_a_scan_past_its_deadline_is_queued_again_runs_and_is_audited(lost_scan, django_capture_on_commit_callbacks):
    upload_overdue(lost_scan)
    assert reap(django_capture_on_commit_callbacks)["scan"] == 1
    assert Attachment.objects.get(pk=lost_scan.pk).scan_status == Attachment.ScanStatus.CLEAN
    event = AuditEvent.objects.get(action=Action.WORK_REQUEUED)
    assert event.details["kind"] == "scan"
    assert event.details["items"][0]["args"] == [str(lost_scan.code)]
    # Done: nothing left for the next tick.
    assert reap(django_capture_on_commit_callbacks) == {"scan": 0, "parse": 0, "rewrap": 0, "notice": 0}


def test_a_scan_within_its_deadline_is_left_alone(lost_scan, django_capture_on_commit_callbacks):
    assert reap(django_capture_on_commit_callbacks)["scan"] == 0
    assert OutboxMessage.objects.filter(task=SCAN).count() == 1  # the upload's own message


def test_work_queued_again_is_not_queued_a_second_time_within_its_deadline(
    lost_scan, django_capture_on_commit_callbacks
):
    upload_overdue(lost_scan)
    assert reap(django_capture_on_commit_callbacks, run=False)["scan"] == 1  # lost again
    assert reap(django_capture_on_commit_callbacks, run=False)["scan"] == 0
    assert OutboxMessage.objects.filter(task=SCAN).count() == 2
    assert AuditEvent.objects.filter(action=Action.WORK_REQUEUED).count() == 1


def test_deadlines_come_from_settings(lost_scan, settings, django_capture_on_commit_callbacks):
    settings.ACCORD_WORK_DEADLINES = {**settings.ACCORD_WORK_DEADLINES, "scan": 2}
    upload_overdue(lost_scan, 3)
    assert reconcile.KINDS["scan"].deadline == timedelta(seconds=2)
    assert reap(django_capture_on_commit_callbacks)["scan"] == 1


def test_a_log_waiting_to_be_read_past_its_deadline_is_queued_again(django_capture_on_commit_callbacks):
    code = uuid.uuid4()
    run = EvalRun.objects.create(attachment_code=code)
    age(EvalRun, run.pk, "recorded_at", reconcile.KINDS["parse"].deadline.total_seconds() + 5)
    assert reap(django_capture_on_commit_callbacks)["parse"] == 1
    # The attachment is gone here, so the parse finds nothing to read; it was queued all the same.
    assert OutboxMessage.objects.filter(task="evals.tasks.parse_eval_log", args=[str(code)]).exists()


def test_data_keys_left_under_a_retired_key_are_rewrapped(lost_scan, alice, ukasi, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):  # the re-wrap message is lost
        key = keys.kek_rotate(organisation=ukasi, actor=alice)
    assert reconcile.backlog()["rewrap"]["pending"] == 1
    overdue = reconcile.KINDS["rewrap"].deadline.total_seconds() + 5
    age(OrganisationKey, key.pk, "created_at", overdue)
    age(
        OutboxMessage,
        OutboxMessage.objects.get(task="sharing.tasks.rewrap_organisation_deks").pk,
        "created_at",
        overdue,
    )
    assert reap(django_capture_on_commit_callbacks)["rewrap"] == 1
    assert Attachment.objects.get(pk=lost_scan.pk).kek_version == key.version
    assert reconcile.backlog()["rewrap"] == {"pending": 0, "oldest_seconds": None, "deadline_seconds": 4200}


def test_a_notice_is_done_when_its_task_ends_and_queued_again_when_it_never_does(django_capture_on_commit_callbacks):
    task = "sharing.send_release_notice"
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            finished = enqueue(task, args=[0])  # no such release: the task ends at once
    finished.refresh_from_db()
    assert finished.done_at is not None
    with django_capture_on_commit_callbacks(execute=False):
        with transaction.atomic():
            lost = enqueue(task, args=[1])
    OutboxMessage.objects.filter(pk=lost.pk).update(sent_at=timezone.now())  # handed over, then lost
    age(OutboxMessage, lost.pk, "created_at", reconcile.KINDS["notice"].deadline.total_seconds() + 5)
    assert reap(django_capture_on_commit_callbacks)["notice"] == 1
    lost.refresh_from_db()
    assert lost.done_at is not None and "queued again" in lost.last_error
    again = OutboxMessage.objects.exclude(pk__in=[finished.pk, lost.pk]).get()
    assert again.task == task and again.args == [1] and again.done_at is not None


def test_a_notice_never_sent_is_left_to_the_relay(django_capture_on_commit_callbacks):
    # The broker was down past the deadline: the relay will send this message; a second one
    # from the reaper would mail the notice twice.
    with django_capture_on_commit_callbacks(execute=False):
        with transaction.atomic():
            waiting = enqueue("sharing.send_release_notice", args=[1])
    age(OutboxMessage, waiting.pk, "created_at", reconcile.KINDS["notice"].deadline.total_seconds() + 5)
    assert reap(django_capture_on_commit_callbacks, run=False)["notice"] == 0
    assert OutboxMessage.objects.count() == 1
    assert reconcile.backlog()["notice"]["pending"] == 1  # still shown as waiting


def test_backlog_reports_the_oldest_pending_age_of_each_kind(lost_scan):
    age(Attachment, lost_scan.pk, "uploaded_at", 100)
    report = reconcile.backlog()
    assert report["scan"]["pending"] == 1 and 99 <= report["scan"]["oldest_seconds"] <= 110
    assert report["parse"] == {"pending": 0, "oldest_seconds": None, "deadline_seconds": 900}


def test_readyz_shows_the_oldest_pending_age_of_each_kind(client, lost_scan):
    age(Attachment, lost_scan.pk, "uploaded_at", 100)
    body = client.get("/readyz").json()
    assert set(body["work"]) == {"scan", "parse", "rewrap", "notice"}
    assert body["work"]["scan"] >= 99 and body["work"]["parse"] is None


def test_admin_health_view_shows_each_kind_to_portal_admins_only(verified_client, alice, lost_scan):
    from tests.factories import portal_admin_person

    admin = portal_admin_person(is_superuser=True)
    age(Attachment, lost_scan.pk, "uploaded_at", 3000)
    page = verified_client(admin).get("/admin/health/")
    assert page.status_code == 200
    text = page.content.decode()
    for kind in ("scan", "parse", "rewrap", "notice"):
        assert f'<th scope="row">{kind}</th>' in text
    assert "overdue" in text
    assert verified_client(alice).get("/admin/health/").status_code in {302, 403}


def test_the_broker_visibility_timeout_is_just_above_the_longest_time_limit():
    app.loader.import_default_modules()
    limits = [t.time_limit or app.conf.task_time_limit for n, t in app.tasks.items() if not n.startswith("celery.")]
    timeout = app.conf.broker_transport_options["visibility_timeout"]
    assert max(limits) < timeout <= max(limits) * 1.25
