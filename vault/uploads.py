"""The upload handler that encrypts each chunk as it arrives.

Django's default handlers keep small uploads in memory and write larger ones to a temporary
file in clear; views that accept attachments replace them with this handler alone (see
sharing/views/attachments.py), so the only bytes written anywhere are ciphertext.
"""

from __future__ import annotations

from django.core.files.uploadhandler import FileUploadHandler, StopFutureHandlers, StopUpload

from .attachments import AttachmentTooLarge, BlobWriter, SealedBlob


class EncryptingUploadHandler(FileUploadHandler):
    """Seals the one file field `field_name` into a blob; every other file part is dropped.

    After parsing: `sealed` holds the finished blob, or `too_large` says the cap stopped it
    (the blob is already deleted). `discard_unclaimed()` deletes a finished blob that no
    Attachment row took, whatever went wrong after parsing (CSRF failure, bad form, crash).
    """

    chunk_size = 1024 * 1024

    def __init__(self, request=None, *, org_id: int, field_name: str = "file", limit: int | None = None) -> None:
        super().__init__(request)
        self.org_id = org_id
        self.field_name = field_name
        self.limit = limit
        self.writer: BlobWriter | None = None
        self.sealed: SealedBlob | None = None
        self.too_large: AttachmentTooLarge | None = None
        self.claimed = False
        self._active = False

    def new_file(self, field_name, file_name, content_type, content_length, charset=None, content_type_extra=None):
        super().new_file(field_name, file_name, content_type, content_length, charset, content_type_extra)
        self._active = field_name == self.field_name and self.writer is None
        if self._active:
            self.writer = BlobWriter(org_id=self.org_id, limit=self.limit)
        # No later handler may ever see these bytes (a default handler would spill to disk).
        raise StopFutureHandlers

    def receive_data_chunk(self, raw_data, start):
        if self._active:
            try:
                self.writer.write(raw_data)
            except AttachmentTooLarge as exc:
                self.too_large = exc
                self._active = False
                # Stop reading the body at once rather than draining gigabytes we will refuse.
                raise StopUpload(connection_reset=True) from None
        return None

    def file_complete(self, file_size):
        if not self._active:
            return None
        self._active = False
        self.sealed = self.writer.finish(filename=self.file_name or "", content_type=self.content_type or "")
        return self.sealed

    def upload_interrupted(self):
        self.discard_unclaimed()

    def discard_unclaimed(self) -> None:
        if self.writer is not None and not self.writer.done:
            self.writer.abort()
        if self.sealed is not None and not self.claimed:
            self.sealed.discard()
            self.sealed = None
