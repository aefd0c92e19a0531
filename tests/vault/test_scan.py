"""The scan: extension allowlist × declared type × sniffed content, and ClamAV over INSTREAM."""

from __future__ import annotations

import io
import socket
import struct
import threading
import zipfile

import pytest
from celery.exceptions import Retry

from audit.models import Action, AuditEvent
from sharing.models import Attachment
from vault import scan

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("filename", "declared", "data"),
    [
        ("report.pdf", "application/pdf", PDF),
        ("table.csv", "text/csv", b"a,b\n1,2\n"),
        ("results.json", "application/json", b'{"accuracy": 0.9}'),
        ("notes.txt", "text/plain", "résumé\n".encode()),
        ("README.md", "", b"# Title\n"),
        ("run.eval", "application/octet-stream", zip_bytes()),
        ("chart.png", "image/png", PNG),
        ("photo.JPG", "image/jpeg", b"\xff\xd8\xff\xe0" + b"\x00" * 20),
        ("anim.gif", "image/gif", b"GIF89a" + b"\x00" * 20),
        ("pic.webp", "image/webp", b"RIFF\x10\x00\x00\x00WEBPVP8 "),
        ("paper.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", zip_bytes()),
        ("sheet.xlsx", "application/zip", zip_bytes()),
        ("deck.pptx", "", zip_bytes()),
        ("empty.txt", "text/plain", b""),
    ],
)
def test_allowed_files_come_out_clean(make_attachment, filename, declared, data):
    attachment = make_attachment(data, filename=filename, content_type=declared)
    assert attachment.scan_status == Attachment.ScanStatus.CLEAN, attachment.scan_reason
    assert attachment.scanned_at is not None


@pytest.mark.parametrize(
    ("filename", "declared", "data", "reason"),
    [
        ("tool.exe", "application/octet-stream", b"MZ\x90\x00", "not accepted"),
        ("noextension", "", b"text", "not accepted"),
        ("script.html", "text/html", b"<script>", "not accepted"),
        ("report.pdf", "application/pdf", PNG, "content looks like png"),
        ("chart.png", "image/png", PDF, "content looks like pdf"),
        ("notes.txt", "text/plain", b"\x00\x01\x02binary", "content looks like binary"),
        ("run.eval", "", PDF, "content looks like pdf"),
        ("report.pdf", "image/png", PDF, "declared type image/png"),
        ("notes.txt", "text/html", b"hello", "declared type text/html"),
        ("data.json", "application/json", b"\xff\xfe not utf-8", "binary"),
    ],
)
def test_mismatches_are_rejected_with_a_reason(make_attachment, filename, declared, data, reason):
    attachment = make_attachment(data, filename=filename, content_type=declared)
    assert attachment.scan_status == Attachment.ScanStatus.REJECTED
    assert reason in attachment.scan_reason
    event = AuditEvent.objects.get(action=Action.ATTACHMENT_REJECTED, target_id=str(attachment.code))
    assert event.details["reason"] == attachment.scan_reason


def test_utf8_split_at_the_sniff_boundary_is_still_text(make_attachment):
    data = b"a" * (scan.SNIFF_BYTES - 1) + "é".encode() + b"tail"
    assert make_attachment(data, filename="long.txt").scan_status == Attachment.ScanStatus.CLEAN


def test_scan_is_idempotent(make_attachment):
    attachment = make_attachment(PDF, filename="r.pdf")
    before = AuditEvent.objects.count()
    scan.attachment_scan(code=attachment.code)
    scan.attachment_scan(code=attachment.code)
    assert AuditEvent.objects.count() == before


def test_scan_of_tampered_blob_rejects_and_audits(make_attachment, media, alice, document):
    attachment = make_attachment(PDF, filename="r.pdf")
    Attachment.objects.filter(pk=attachment.pk).update(scan_status=Attachment.ScanStatus.PENDING)
    path = media / attachment.blob_name
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 1
    path.write_bytes(bytes(raw))
    scanned = scan.attachment_scan(code=attachment.code)
    assert scanned.scan_status == Attachment.ScanStatus.REJECTED
    assert "integrity" in scanned.scan_reason
    assert AuditEvent.objects.filter(action=Action.ATTACHMENT_INTEGRITY_FAILED).exists()


class FakeClamd:
    """A clamd speaking INSTREAM on a Unix socket: records what it received, answers as told."""

    def __init__(self, path, answer: bytes) -> None:
        self.answer, self.received, self.command = answer, bytearray(), b""
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen(1)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def _exactly(self, conn, n):
        data = b""
        while len(data) < n:
            part = conn.recv(n - len(data))
            if not part:
                raise ConnectionError("short read")
            data += part
        return data

    def serve(self):
        conn, _ = self.server.accept()
        with conn:
            self.command = self._exactly(conn, len(b"zINSTREAM\0"))
            while True:
                (length,) = struct.unpack(">I", self._exactly(conn, 4))
                if length == 0:
                    break
                self.received += self._exactly(conn, length)
            conn.sendall(self.answer + b"\0")
        self.server.close()


@pytest.fixture
def clamd(settings, tmp_path):
    def _start(answer: bytes) -> FakeClamd:
        path = tmp_path / "clamd.sock"
        settings.ACCORD_CLAMD_SOCKET = str(path)
        return FakeClamd(path, answer)

    return _start


def test_clamd_clean_answer_marks_clean_and_receives_the_whole_plaintext(clamd, make_attachment):
    fake = clamd(b"stream: OK")
    data = b"line of text\n" * 30_000  # several segments and INSTREAM chunks
    attachment = make_attachment(data, filename="big.txt")
    fake.thread.join(5)
    assert fake.command == b"zINSTREAM\0"
    assert bytes(fake.received) == data
    assert attachment.scan_status == Attachment.ScanStatus.CLEAN


def test_clamd_found_answer_rejects(clamd, make_attachment):
    clamd(b"stream: Eicar-Test-Signature FOUND")
    attachment = make_attachment(b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR", filename="eicar.txt")
    assert attachment.scan_status == Attachment.ScanStatus.REJECTED
    assert "Eicar-Test-Signature FOUND" in attachment.scan_reason


def test_clamd_error_answer_fails_closed(clamd, make_attachment):
    clamd(b"INSTREAM size limit exceeded. ERROR")
    attachment = make_attachment(b"text", filename="a.txt")
    assert attachment.scan_status == Attachment.ScanStatus.REJECTED


def test_unreachable_clamd_leaves_attachment_pending_and_the_task_retries(settings, tmp_path, make_attachment):
    settings.ACCORD_CLAMD_SOCKET = str(tmp_path / "nobody-listens.sock")
    with pytest.raises(Retry, match="cannot reach clamd"):
        make_attachment(b"text", filename="a.txt")
    attachment = Attachment.objects.get()
    assert attachment.scan_status == Attachment.ScanStatus.PENDING
    with pytest.raises(scan.ScannerUnavailable):
        scan.attachment_scan(code=attachment.code)


def test_type_mismatch_is_rejected_without_asking_clamd(settings, tmp_path, make_attachment):
    settings.ACCORD_CLAMD_SOCKET = str(tmp_path / "nobody-listens.sock")
    assert make_attachment(PNG, filename="x.pdf").scan_status == Attachment.ScanStatus.REJECTED


def test_served_type_comes_from_the_allowlist():
    assert scan.served_type("a.PDF") == "application/pdf"
    assert scan.served_type("a.html") == "application/octet-stream"
