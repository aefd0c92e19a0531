"""What the vault tells the apps built on it. They connect receivers in their `AppConfig.ready()`;
the vault imports none of them."""

from __future__ import annotations

from django.dispatch import Signal

# An attachment passed its scan (`attachment=`, a row of the registered attachment model). Sent
# inside the transaction that records the clean verdict: what a receiver writes commits or rolls
# back with it, and work it queues through the outbox is published only once it commits.
attachment_clean = Signal()
