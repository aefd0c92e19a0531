"""The Celery app. With no broker configured, tasks run in-process (CELERY_TASK_ALWAYS_EAGER)."""

from __future__ import annotations

import logging
import os

from celery import Celery
from celery.signals import worker_init
from django.core.exceptions import ImproperlyConfigured

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("accord")
# The default in every thread: the apps reach it as `celery.current_app`, never by importing portal.
app.set_default()
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


logger = logging.getLogger("accord.keys")


@worker_init.connect
def _check_key_provider(**kwargs) -> None:
    """A worker whose key token is misconfigured stops at start, naming the setting.

    Celery logs and swallows any Exception a signal receiver raises, and the worker would come up
    and fail every task that needs a key; SystemExit is not swallowed, so it is the refusal.
    """
    # The vault's models need the app registry, which is ready only once the worker starts.
    from vault.masterkeys import verify_configuration

    try:
        verify_configuration()
    except ImproperlyConfigured as exc:
        logger.critical("the worker cannot use the key token: %s", exc)
        raise SystemExit(f"ImproperlyConfigured: {exc}") from exc
