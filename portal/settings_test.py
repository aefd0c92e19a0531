"""Test settings: the embedded default with a fast hasher, in-memory mail and in-process tasks.

The service-backed suite sets DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL before import.
"""

from __future__ import annotations

from .settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
AUTH_PASSWORD_VALIDATORS = []
# The demo's setting, said out loud: the suite's privileged personas sign in with TOTP
# (tests/factories.login_verified). The tests of the security-key rule turn it off, as production
# has it (tests/accounts/test_security_keys.py and the browser journeys with a virtual key).
ACCORD_PRIVILEGED_TOTP = True
# Audit events are sealed in the writer's own transaction, so a test that acts and then looks
# at the chain finds it whole. The sequencer's own tests choose "sequencer" (tests/audit).
ACCORD_AUDIT_SEALING = "inline"
