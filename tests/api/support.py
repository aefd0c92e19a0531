"""Builders for the API tests: a clean attachment and a parsed eval run, made the real way."""

from __future__ import annotations

import io
from pathlib import Path

from sharing.attachments import attachment_create_from_stream
from sharing.models import Attachment

FIXTURES = Path(__file__).resolve().parent.parent / "evals" / "fixtures"


# What a pipeline declares for each kind of file; a wrong type gets the upload rejected by the scan.
CONTENT_TYPES = {".eval": "application/zip", ".json": "application/json"}


def clean_attachment(author, document, data: bytes = b"hello, world\n", filename: str = "notes.txt") -> Attachment:
    """Upload through the stream service and run the scan (on commit, as in production)."""
    from django.db import transaction

    from vault.tasks import scan_attachment

    attachment = attachment_create_from_stream(
        actor=author,
        document=document,
        stream=io.BytesIO(data),
        filename=filename,
        content_type=CONTENT_TYPES.get(Path(filename).suffix, "text/plain"),
    )
    if transaction.get_connection().in_atomic_block:
        scan_attachment(str(attachment.code))  # tests run inside a transaction: no commit comes
    return Attachment.objects.get(pk=attachment.pk)


def parsed_run(attachment: Attachment):
    """Parse an uploaded Inspect log with the real task; returns its EvalRun."""
    from evals.models import EvalRun
    from evals.tasks import parse_eval_log

    parse_eval_log(str(attachment.code))
    return EvalRun.objects.get(attachment_code=attachment.code)
