"""Test settings: the embedded default with a fast hasher, in-memory mail and in-process tasks.

The service-backed suite sets DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL before import.
"""

from __future__ import annotations

from .settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
AUTH_PASSWORD_VALIDATORS = []
