"""What the vault tells the apps built on it. They connect receivers in their `AppConfig.ready()`;
the vault imports none of them."""

from __future__ import annotations

from django.dispatch import Signal

# An attachment passed its scan (`attachment=`, a row of the registered attachment model). Sent
# inside the transaction that records the clean verdict: what a receiver writes commits or rolls
# back with it, and work it queues through the outbox is published only once it commits.
attachment_clean = Signal()

# An attachment was crypto-shredded (`attachment=`, a row of the registered attachment model,
# `actor=`). Sent inside the destroying transaction, before its audit event: a receiver deletes
# whatever it derived from the file's plaintext (parsed results, extracted text) and returns a
# dict of counts (`{"eval_runs": 1, ...}`), which the event records under "removed". What it
# deletes goes or stays with the destruction itself.
attachment_destroyed = Signal()
