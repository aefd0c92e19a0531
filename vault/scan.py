"""Checks every new attachment before anyone may download it.

Three signals must agree: the file name's extension is on the allowlist, the type the browser
declared fits that extension, and the content (magic bytes of the first decrypted segment)
is what the extension promises. Then ClamAV, when configured, scans the whole stream.
Status moves pending → clean or rejected, once.
"""

from __future__ import annotations

import codecs
import os
import socket
import struct
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.models import Action
from audit.services import record

from .attachments import AttachmentDestroyed, integrity_failed, open_plaintext
from .crypto import TamperedCiphertext
from .registry import SealedFile, attachment_model
from .signals import attachment_clean

GENERIC_TYPES = {"", "application/octet-stream", "binary/octet-stream", "application/x-download"}
_ZIP = {"application/zip", "application/x-zip-compressed"}
_OOXML = "application/vnd.openxmlformats-officedocument."
# extension → (kind the content must sniff as, declared types that fit it; first = served type)
ALLOWED: dict[str, tuple[str, tuple[str, ...]]] = {
    ".pdf": ("pdf", ("application/pdf",)),
    ".csv": ("text", ("text/csv", "text/plain", "application/csv", "application/vnd.ms-excel")),
    ".json": ("json", ("application/json", "text/json", "text/plain")),
    ".txt": ("text", ("text/plain",)),
    ".md": ("text", ("text/markdown", "text/x-markdown", "text/plain")),
    ".markdown": ("text", ("text/markdown", "text/x-markdown", "text/plain")),
    ".eval": ("zip", ("application/zip", *_ZIP)),
    ".png": ("png", ("image/png",)),
    ".jpg": ("jpeg", ("image/jpeg", "image/pjpeg")),
    ".jpeg": ("jpeg", ("image/jpeg", "image/pjpeg")),
    ".gif": ("gif", ("image/gif",)),
    ".webp": ("webp", ("image/webp",)),
    ".docx": ("zip", (_OOXML + "wordprocessingml.document", *_ZIP)),
    ".xlsx": ("zip", (_OOXML + "spreadsheetml.sheet", *_ZIP)),
    ".pptx": ("zip", (_OOXML + "presentationml.presentation", *_ZIP)),
}
KIND_TYPES = {
    "pdf": "application/pdf",
    "zip": "application/zip",
    "png": "image/png",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "json": "application/json",
    "text": "text/plain",
    "binary": "application/octet-stream",
}
SNIFF_BYTES = 64 * 1024


class ScannerUnavailable(Exception):
    """clamd could not be reached; the task retries and the attachment stays pending."""


def served_type(filename: str) -> str:
    """The Content-Type a download is served with: fixed by the allowlist, never the uploader's."""
    entry = ALLOWED.get(os.path.splitext(filename)[1].lower())
    return entry[1][0] if entry else "application/octet-stream"


def sniff(head: bytes, *, complete: bool) -> str:
    """The kind of content from its first bytes (`complete`: `head` is the whole file)."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=complete)
    except UnicodeDecodeError:
        return "binary"
    if any(ord(ch) < 32 and ch not in "\t\n\r\f" for ch in text) or "\x7f" in text:
        return "binary"
    return "json" if text.lstrip()[:1] in ("{", "[") else "text"


def verdict(filename: str, declared: str, kind: str) -> str | None:
    """None when the three signals agree, else the reason for rejecting."""
    ext = os.path.splitext(filename)[1].lower()
    if ext not in ALLOWED:
        return f"files of type '{ext or 'without extension'}' are not accepted"
    expected, declared_ok = ALLOWED[ext]
    if declared not in GENERIC_TYPES and declared not in declared_ok:
        return f"declared type {declared} does not match a {ext} file"
    # JSON is text too: a .txt or .csv starting with '[' is still text.
    if kind != expected and not (expected == "text" and kind == "json"):
        return f"content looks like {kind}, not a {ext} file"
    return None


def clamd_configured() -> bool:
    return bool(settings.ACCORD_CLAMD_SOCKET or settings.ACCORD_CLAMD_HOST)


def clamd_instream(chunks: Iterable[bytes], *, chunk_limit: int = 64 * 1024) -> tuple[bool, str]:
    """Scan a stream with clamd's INSTREAM command: (infected, clamd's reply).

    Protocol: `zINSTREAM\\0`, then chunks each prefixed by a 4-byte big-endian length, then a
    zero length; clamd answers `stream: OK`, `stream: <name> FOUND` or `... ERROR`, NUL-ended.
    """
    timeout = settings.ACCORD_CLAMD_TIMEOUT
    try:
        if settings.ACCORD_CLAMD_SOCKET:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(settings.ACCORD_CLAMD_SOCKET)
        else:
            sock = socket.create_connection((settings.ACCORD_CLAMD_HOST, settings.ACCORD_CLAMD_PORT), timeout=timeout)
    except OSError as exc:
        raise ScannerUnavailable(f"cannot reach clamd: {exc}") from None
    with sock:
        try:
            sock.sendall(b"zINSTREAM\0")
            for chunk in chunks:
                for i in range(0, len(chunk), chunk_limit):
                    piece = chunk[i : i + chunk_limit]
                    sock.sendall(struct.pack(">I", len(piece)) + piece)
            sock.sendall(struct.pack(">I", 0))
        except (BrokenPipeError, ConnectionResetError):
            pass  # clamd hung up early (e.g. size limit); its reply says why
        except OSError as exc:
            raise ScannerUnavailable(f"clamd failed: {exc}") from None
        reply = bytearray()
        try:
            while not reply.endswith(b"\0"):
                data = sock.recv(4096)
                if not data:
                    break
                reply += data
        except OSError as exc:
            raise ScannerUnavailable(f"clamd failed: {exc}") from None
    text = reply.rstrip(b"\0").decode("utf-8", "replace").strip()
    if text.endswith("OK"):
        return False, text
    if text.endswith("FOUND"):
        return True, text
    if not text:
        raise ScannerUnavailable("clamd closed the connection without an answer")
    # Any other answer (size limit, scan error) fails closed: the file is not served.
    return True, text


def _inspect(attachment: SealedFile) -> tuple[str, str]:
    """(sniffed kind, rejection reason or '') — decrypts in memory only."""
    with open_plaintext(attachment.code) as stream:
        head = stream.read(SNIFF_BYTES)
        kind = sniff(head, complete=len(head) == attachment.size)
        reason = verdict(attachment.filename, attachment.declared_type, kind)
        if reason or not clamd_configured():
            return kind, reason or ""
        stream.seek(0)
        infected, answer = clamd_instream(iter(lambda: stream.read(1024 * 1024), b""))
    return kind, (f"virus scanner: {answer}"[:300] if infected else "")


def attachment_scan(*, code) -> SealedFile | None:
    """Decide pending → clean / rejected. Idempotent: a decided or destroyed attachment is left."""
    model = attachment_model()
    attachment = model.objects.filter(code=code).first()
    if attachment is None or attachment.scan_status != model.ScanStatus.PENDING or attachment.is_destroyed:
        return attachment
    try:
        kind, reason = _inspect(attachment)
    except AttachmentDestroyed:
        return attachment
    except TamperedCiphertext as exc:
        integrity_failed(actor=None, attachment=attachment, error=str(exc))
        kind, reason = "", "the stored file failed its integrity check"
    with transaction.atomic():
        attachment = model.objects.select_for_update().get(pk=attachment.pk)
        if attachment.scan_status != model.ScanStatus.PENDING:
            return attachment
        attachment.sniffed_type = KIND_TYPES.get(kind, "")
        attachment.scan_status = model.ScanStatus.REJECTED if reason else model.ScanStatus.CLEAN
        attachment.scan_reason = reason
        attachment.scanned_at = timezone.now()
        attachment.save(update_fields=["sniffed_type", "scan_status", "scan_reason", "scanned_at"])
        record(
            Action.ATTACHMENT_REJECTED if reason else Action.ATTACHMENT_SCANNED,
            target=attachment,
            organisation_id=attachment.organisation_id,
            details={"status": attachment.scan_status, "reason": reason, "sniffed": attachment.sniffed_type},
        )
        if not reason:
            # Eval logs among clean files are parsed (evals listens): in this transaction.
            attachment_clean.send(sender=model, attachment=attachment)
    return attachment
