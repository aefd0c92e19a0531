from __future__ import annotations

import pytest

from sharing.models import Attachment
from tests.factories import AttachmentFactory, DocumentFactory


@pytest.fixture(autouse=True)
def media(media):
    """Every test here stores its ciphertext in a folder of its own."""
    return media


@pytest.fixture
def document(alice):
    """Alice's UK draft at OFFICIAL, the one the attachment tests upload to."""
    return DocumentFactory(author=alice, title="Uplift evaluation", tier="official", status="draft")


@pytest.fixture
def make_attachment(document, django_capture_on_commit_callbacks):
    """Upload bytes through the stream service; the scan (and an eval log's parse) runs on
    commit, as in production."""

    def _make(data: bytes = b"hello, world\n", filename: str = "notes.txt", content_type: str = "text/plain", **kw):
        kw.setdefault("document", document)
        with django_capture_on_commit_callbacks(execute=True):
            attachment = AttachmentFactory(data=data, filename=filename, content_type=content_type, scan=False, **kw)
        attachment.refresh_from_db()
        return attachment

    return _make


def blob_path(media, attachment: Attachment):
    return media / attachment.blob_name
