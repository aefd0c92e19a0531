"""Outbox rows store task names: moving the tasks into the vault must not strand queued rows."""

from __future__ import annotations

from portal.celery import app
from vault.tasks import rewrap_organisation_deks, scan_attachment


def test_moved_tasks_keep_the_names_rows_were_queued_under():
    assert scan_attachment.name == "sharing.tasks.scan_attachment"
    assert rewrap_organisation_deks.name == "sharing.tasks.rewrap_organisation_deks"
    assert "sharing.tasks.scan_attachment" in app.tasks
    assert "sharing.tasks.rewrap_organisation_deks" in app.tasks
