"""Inspect eval logs for the demo: a few real logs attached to demo documents, so the running
demo shows results on document pages, in the results list and in a task comparison.

The logs go through the same path as any upload (encrypted, scanned, then parsed on commit), so
they are readable only by those who may read their document: the UK–US released documents show
them to US reviewers, the JOINT-EX-1 one only to people read in. Calling it again adds nothing.
"""

from __future__ import annotations

from pathlib import Path

from accounts.models import Organisation
from sharing.attachments import attachment_create_from_stream
from sharing.models import Attachment, Document

DEMO_DATA = Path(__file__).resolve().parent / "data"
CONTENT_TYPES = {".eval": "application/zip", ".json": "application/json"}
# (title of a UK demo document, log in data/)
LOGS = [
    ("Jailbreak robustness of Frontier-7", "success.eval"),
    ("Persuasion study: opinion shift in long conversations", "success.json"),
    ("Joint exercise 1: autonomous replication tasks", "multi_scorer.eval"),
]


def seed_eval_logs(*, originator: Organisation) -> list[Attachment]:
    """Attach each demo log to its document of `originator`, unless already attached (by
    filename, not destroyed). Returns the attachments created by this call; their scan and
    parse run when the caller's transaction commits."""
    created = []
    for title, filename in LOGS:
        document = Document.objects.filter(originator=originator, title=title).select_related("author").first()
        if document is None:
            continue
        if Attachment.objects.filter(document=document, filename=filename, destroyed_at__isnull=True).exists():
            continue
        with (DEMO_DATA / filename).open("rb") as stream:
            created.append(
                attachment_create_from_stream(
                    actor=document.author,
                    document=document,
                    stream=stream,
                    filename=filename,
                    content_type=CONTENT_TYPES[Path(filename).suffix],
                )
            )
    return created
