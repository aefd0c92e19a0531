"""Builders for the API tests: a clean attachment and a parsed eval run, made the real way."""

from __future__ import annotations

from pathlib import Path

from sharing.models import Attachment
from tests.factories import AttachmentFactory

FIXTURES = Path(__file__).resolve().parent.parent / "evals" / "fixtures"


# What a pipeline declares for each kind of file; a wrong type gets the upload rejected by the scan.
CONTENT_TYPES = {".eval": "application/zip", ".json": "application/json"}


def clean_attachment(author, document, data: bytes = b"hello, world\n", filename: str = "notes.txt") -> Attachment:
    """Upload through the stream service, declaring the type a pipeline would, and run the scan."""
    return AttachmentFactory(
        document=document,
        uploaded_by=author,
        data=data,
        filename=filename,
        content_type=CONTENT_TYPES.get(Path(filename).suffix, "text/plain"),
    )


def parsed_run(attachment: Attachment):
    """Parse an uploaded Inspect log with the real task; returns its EvalRun."""
    from evals.models import EvalRun
    from evals.tasks import parse_eval_log

    parse_eval_log(str(attachment.code))
    return EvalRun.objects.get(attachment_code=attachment.code)
