from __future__ import annotations

# An attachment hangs off a document, so the vault's tests build theirs with sharing's fixtures;
# each test still stores its ciphertext in a folder of its own (`media` is autouse).
from tests.sharing.conftest import document, make_attachment, media  # noqa: F401

# A SoftHSM2 token of the test's own, for the tests of the master key in a PKCS#11 token.
from tests.vault.softhsm import softhsm  # noqa: E402, F401
