"""Liveness and readiness probes: cheap, unauthenticated, and revealing nothing sensitive."""

from __future__ import annotations

import logging
import os
import time

from django.conf import settings
from django.core.files.storage import storages
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from audit.models import ChainHead
from audit.sequencer import seal_lag_seconds
from outbox.reconcile import backlog
from vault import masterkeys

from .celery import app

logger = logging.getLogger("accord.health")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is alive and answering."""
    return JsonResponse({"status": "ok"})


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _broker() -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return  # in-process tasks: nothing to reach
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def _storage() -> None:
    """The ciphertext store answers: a bucket HEAD on S3 (never a listing, which grows with the
    store), a writable directory on the local filesystem."""
    storage = storages["attachments"]
    bucket = getattr(storage, "bucket_name", None)
    if bucket is not None:
        storage.connection.meta.client.head_bucket(Bucket=bucket)
        return
    location = getattr(storage, "location", None)
    if location is not None:
        if not (os.path.isdir(location) and os.access(location, os.W_OK | os.X_OK)):
            raise RuntimeError("ciphertext directory not writable")
        return
    storage.exists("readyz")


def _master_key() -> None:
    """The configured provider wraps and unwraps a probe: a token round trip with pkcs11."""
    masterkeys.provider().check()


def _audit_head() -> None:
    ChainHead.objects.filter(pk=1).values_list("seq", flat=True).first()


def work_ages() -> dict[str, int | None]:
    """The oldest unfinished item of each kind of background work, in seconds (None: nothing
    waits). Shown, never failed on: a backlog is the reaper's to clear, not a reason to stop
    sending requests here. Ages only; what waits is the admin health view's to show."""
    try:
        return {kind: row["oldest_seconds"] for kind, row in backlog().items()}
    except Exception:
        logger.exception("work backlog unreadable")
        return {}


def seal_lag() -> dict:
    """How far the audit sequencer is behind: the age of the oldest event not yet sealed. Above
    ACCORD_AUDIT_SEAL_LAG_LIMIT the answer is "degraded", not a failure: requests are still
    recorded (every event is stored at once), only their linking into the chain waits, and a
    web node is no reason to take out of service for it. Monitoring alerts on it."""
    lag = seal_lag_seconds()
    limit = settings.ACCORD_AUDIT_SEAL_LAG_LIMIT
    return {
        "seal_lag_seconds": None if lag is None else round(lag, 3),
        "status": "degraded" if lag is not None and lag > limit else "ok",
    }


CHECKS = {
    "database": _database,
    "broker": _broker,
    "storage": _storage,
    "master_key": _master_key,
    "audit_chain": _audit_head,
}


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Every dependency a request needs answers. Failures are logged, never described."""
    results: dict[str, str] = {}
    started = time.monotonic()
    for name, check in CHECKS.items():
        try:
            check()
        except Exception:
            logger.exception("readiness check failed", extra={"check": name})
            results[name] = "fail"
        else:
            results[name] = "ok"
    ready = all(value == "ok" for value in results.values())
    audit = {}
    if results["database"] == "ok":
        try:
            audit = seal_lag()
        except Exception:
            logger.exception("audit seal lag unreadable")
            audit = {"seal_lag_seconds": None, "status": "degraded"}
    status = "fail" if not ready else ("degraded" if audit.get("status") == "degraded" else "ok")
    body = {
        "status": status,
        "checks": results,
        "work": work_ages() if results["database"] == "ok" else {},
        "audit": audit,
        "ms": round((time.monotonic() - started) * 1000),
    }
    return JsonResponse(body, status=200 if ready else 503)
