"""A filesystem storage that fails part-way through writing, as a full disk or a dropped
object-store connection would."""

from __future__ import annotations

from django.core.files.storage import FileSystemStorage

# Set by the tests: fail once this many bytes have been written to one file (None: never), or
# fail at open.
FAIL_AFTER_BYTES: int | None = None
FAIL_AT_OPEN = False


class _FailingFile:
    def __init__(self, inner):
        self._inner = inner
        self._written = 0

    def write(self, data: bytes) -> int:
        self._written += len(data)
        if FAIL_AFTER_BYTES is not None and self._written > FAIL_AFTER_BYTES:
            raise OSError(28, "No space left on device")
        return self._inner.write(data)

    def close(self) -> None:
        self._inner.close()


class FailingStorage(FileSystemStorage):
    def open(self, name, mode="rb"):
        if "w" in mode:
            if FAIL_AT_OPEN:
                raise OSError(13, "Permission denied")
            return _FailingFile(super().open(name, mode))
        return super().open(name, mode)
