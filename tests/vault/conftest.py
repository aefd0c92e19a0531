from __future__ import annotations

# An attachment hangs off a document, so the vault's tests build theirs with sharing's fixtures;
# each test still stores its ciphertext in a folder of its own (`media` is autouse).
from tests.sharing.conftest import document, make_attachment, media  # noqa: F401
