"""Streaming downloads: the decrypted file as a response, with the headers every download carries.

The portal's page and the API serve the same bytes the same way; only how they say "refused"
differs (text for a browser, JSON for a client), so each catches TamperedCiphertext itself.
"""

from __future__ import annotations

import base64

from django.http import StreamingHttpResponse

from .attachments import attachment_stream, content_disposition
from .scan import served_type

INTEGRITY_FAILED = "This file failed its integrity check and cannot be served. The failure has been recorded."


def download_response(*, actor, attachment) -> StreamingHttpResponse:
    """The decrypted file, streamed, for an attachment a gate has already allowed (audited).

    Raises TamperedCiphertext before the response exists when the blob is already wrong, so the
    caller can still answer 409. Caching is the caller's: each view states its own.
    """
    segments = attachment_stream(actor=actor, attachment=attachment)
    response = StreamingHttpResponse(segments, content_type=served_type(attachment.filename))
    response["Content-Length"] = str(attachment.size)
    response["Content-Disposition"] = content_disposition(attachment.filename)
    if digest := repr_digest(attachment.sha256):
        # Known before the first byte (hashed as the upload was encrypted), so a client whose
        # stream was cut by a tampered segment can tell its partial file from the whole one.
        response["Repr-Digest"] = digest
    # The file is an uploader's, not ours: a browser must not sniff it into something it would
    # run, run scripts in it if opened in place, or let another site embed it.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


def repr_digest(sha256_hex: str) -> str:
    """RFC 9530 `Repr-Digest` of the plaintext: `sha-256=:<base64 of the raw digest>:`, or ""
    for a row without a recorded hash."""
    if len(sha256_hex) != 64:
        return ""
    return f"sha-256=:{base64.b64encode(bytes.fromhex(sha256_hex)).decode('ascii')}:"
