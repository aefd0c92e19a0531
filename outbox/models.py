"""The transactional outbox: a task to run, written in the same transaction as the change."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class OutboxMessage(models.Model):
    """One task to publish. Written with the change that asks for it, so a change that commits
    always has its task recorded, and one that rolls back never does — whatever the broker's
    state at that moment. The relay publishes it (at least once) and marks it sent."""

    # Also the Celery task id, so a message published twice is recognisably the same task.
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    task = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    # When its task ended, for tasks whose outcome shows nowhere else (outbox.reconcile); a
    # message sent but never done is work a lost worker or a lost queue dropped.
    done_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["created_at"], condition=models.Q(sent_at__isnull=True), name="outbox_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.task} ({'sent' if self.sent_at else 'pending'})"
