from __future__ import annotations

from celery import shared_task

from . import reconcile, services


@shared_task(name="outbox.relay", ignore_result=True, time_limit=120, soft_time_limit=100)
def relay() -> int:
    """Beat, every few seconds: publish what the on-commit relay could not (broker was down)."""
    sent = services.relay_pending()
    services.purge_sent()
    return sent


@shared_task(name="outbox.reap", ignore_result=True, time_limit=120, soft_time_limit=100)
def reap() -> dict[str, int]:
    """Beat: queue again whatever background work is older than its deadline (outbox.reconcile)."""
    return reconcile.reap()
