"""The tidy-up job: records what the policy already enforces, removes stale grants, warns owners;
running it a second time changes nothing more."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core import mail
from django.utils import timezone

from audit.models import Action, AuditEvent
from portal.celery import app
from sharing.housekeeping import tidy
from sharing.models import DocumentGroupObjectPermission, DocumentUserObjectPermission, Release, SharingAgreement
from tests.factories import AgreementFactory, DocumentFactory, PersonFactory, ReleaseFactory

pytestmark = pytest.mark.django_db


def state():
    return (
        list(SharingAgreement.objects.order_by("pk").values_list("status", "expiry_notice_sent_at")),
        list(Release.objects.order_by("pk").values_list("status", flat=True)),
        DocumentGroupObjectPermission.objects.count(),
        DocumentUserObjectPermission.objects.count(),
        AuditEvent.objects.count(),
    )


def test_tidy_expires_tidies_and_is_idempotent(
    ukasi, usaisi, canada, alice, portal_admin, finding, uk_us_agreement, django_capture_on_commit_callbacks
):
    now = timezone.now()
    # An agreement past its date, with a release under it.
    old = AgreementFactory(parties=[ukasi, canada], created_by=portal_admin, reference="OLD")
    finding.releasable_to.add("CAN")
    old_release = ReleaseFactory(document=finding, agreement=old, recipient=canada)
    SharingAgreement.objects.filter(pk=old.pk).update(expires_at=now - timedelta(seconds=1))
    # A release past its own date under a live agreement.
    lapsed = ReleaseFactory(
        document=finding, agreement=uk_us_agreement, recipient=usaisi, expires_at=now + timedelta(days=1)
    )
    Release.objects.filter(pk=lapsed.pk).update(expires_at=now - timedelta(seconds=1))
    # A stray grant no release supports, on a document nothing else touches.
    view = Permission.objects.get(codename="view_document", content_type__app_label="sharing")
    untouched = DocumentFactory(author=alice, releasable_to=["USA"])
    DocumentUserObjectPermission.objects.create(
        user=PersonFactory(organisation=usaisi), permission=view, content_object=untouched
    )
    # An agreement entering its notice window, with a signatory to warn.
    soon = AgreementFactory(
        parties=[ukasi, usaisi], created_by=portal_admin, reference="SOON", expires_at=now + timedelta(days=3)
    )
    signer = PersonFactory(organisation=usaisi, email="sig@caisi.example", roles=["signatory"])

    with django_capture_on_commit_callbacks(execute=True):
        report = tidy()
    assert report.as_dict() == {
        "agreements_expired": 1,
        "releases_expired": 1,
        "grants_removed": 1,
        "expiry_notices": 1,
    }
    old.refresh_from_db()
    old_release.refresh_from_db()
    lapsed.refresh_from_db()
    assert (old.status, old_release.status, lapsed.status) == ("expired", "expired", "expired")
    assert not DocumentGroupObjectPermission.objects.filter(content_object=finding).exists()
    assert not DocumentUserObjectPermission.objects.exists()
    assert {tuple(m.to) for m in mail.outbox} == {(portal_admin.email,), (signer.email,)}
    assert "SOON" in mail.outbox[0].subject
    soon.refresh_from_db()
    assert soon.expiry_notice_sent_at is not None
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        Action.AGREEMENT_EXPIRED,
        Action.RELEASE_EXPIRED,
        Action.GRANTS_TIDIED,
        Action.AGREEMENT_EXPIRY_NOTICE,
    } <= actions

    before = state()
    with django_capture_on_commit_callbacks(execute=True):
        again = tidy()
    assert again.as_dict() == {"agreements_expired": 0, "releases_expired": 0, "grants_removed": 0, "expiry_notices": 0}
    assert state() == before
    assert len(mail.outbox) == 2


def test_tidy_keeps_grants_of_live_and_suspended_releases(alice, finding, uk_us_agreement, usaisi):
    ReleaseFactory(document=finding, agreement=uk_us_agreement, recipient=usaisi)
    SharingAgreement.objects.filter(pk=uk_us_agreement.pk).update(status="suspended")
    assert tidy().grants_removed == 0
    assert DocumentGroupObjectPermission.objects.filter(content_object=finding, group=usaisi.group).exists()


def test_the_tidy_task_is_registered_and_scheduled():
    import sharing.housekeeping_tasks  # noqa: F401 - loaded by SharingConfig.ready in any process

    assert "sharing.tidy" in app.tasks
    assert "sharing.send_release_notice" in app.tasks
    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "sharing.tidy" in schedule


def test_the_tidy_task_runs_the_job(alice, finding, uk_us_agreement, usaisi):
    from sharing.housekeeping_tasks import tidy_sharing

    release = ReleaseFactory(document=finding, agreement=uk_us_agreement, recipient=usaisi, expires_at=timezone.now())
    assert tidy_sharing.delay().get()["releases_expired"] == 1
    release.refresh_from_db()
    assert release.status == "expired"
