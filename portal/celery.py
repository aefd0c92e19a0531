"""The Celery app. With no broker configured, tasks run in-process (CELERY_TASK_ALWAYS_EAGER)."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("accord")
# The default in every thread: the apps reach it as `celery.current_app`, never by importing portal.
app.set_default()
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _check_key_provider(**kwargs) -> None:
    """A worker whose key token is misconfigured stops at start, naming the setting."""
    from vault.masterkeys import verify_configuration

    verify_configuration()
