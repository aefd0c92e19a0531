from __future__ import annotations

# An attachment hangs off a document, so the vault's tests build theirs with sharing's fixtures;
# each test still stores its ciphertext in a folder of its own (`media` is autouse).
import tempfile

import pytest

from tests.sharing.conftest import document, make_attachment, media  # noqa: F401

# A SoftHSM2 token of the test's own, for the tests of the master key in a PKCS#11 token.
from tests.vault.softhsm import softhsm  # noqa: E402, F401


@pytest.fixture
def temp_dirs(settings, tmp_path, monkeypatch):
    """Django's upload temp folder and the system's, of the test's own (searched for plaintext)."""
    upload_tmp, sys_tmp = tmp_path / "upload-tmp", tmp_path / "tmp"
    upload_tmp.mkdir()
    sys_tmp.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(upload_tmp)
    monkeypatch.setattr(tempfile, "tempdir", str(sys_tmp))
    return upload_tmp, sys_tmp
