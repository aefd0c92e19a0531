"""A SoftHSM2 token of the test's own: a fresh SOFTHSM2_CONF and token directory per test.

SoftHSM2 (Debian package `softhsm2`, installed by .ci/run) is a real PKCS#11 implementation;
tests that need it are marked `services` and fail, never skip, when it is missing.
"""

from __future__ import annotations

import shutil
import subprocess  # noqa: S404 - softhsm2-util, the token's own tool
from dataclasses import dataclass
from pathlib import Path

import pytest

from vault import masterkeys

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
TOKEN_LABEL = "accord-test"
PIN = "7391-0451"
SO_PIN = "5522-9134"
KEY_LABEL = "accord-master"


def _util() -> str:
    util = shutil.which("softhsm2-util")
    assert util and Path(MODULE).is_file(), (
        "SoftHSM2 is missing: apt-get install softhsm2 (.ci/run installs it before make test-services)"
    )
    return util


@dataclass
class SoftToken:
    root: Path
    conf: Path

    @property
    def tokens(self) -> Path:
        return self.root / "tokens"

    def settings(self) -> dict[str, str]:
        return {"MODULE": MODULE, "TOKEN": TOKEN_LABEL, "PIN": PIN, "KEY_LABEL": KEY_LABEL}

    def environment(self) -> dict[str, str]:
        return {
            "SOFTHSM2_CONF": str(self.conf),
            "ACCORD_KEY_PROVIDER": "pkcs11",
            "ACCORD_PKCS11_MODULE": MODULE,
            "ACCORD_PKCS11_TOKEN": TOKEN_LABEL,
            "ACCORD_PKCS11_PIN": PIN,
            "ACCORD_PKCS11_KEY_LABEL": KEY_LABEL,
        }

    def unplug(self) -> None:
        """The token goes away (as a network HSM does when its link drops): every session fails."""
        self.tokens.rename(self.root / "unplugged")

    def plug_in(self) -> None:
        (self.root / "unplugged").rename(self.tokens)

    def session(self):
        """A session of the test's own on the same token, through the library the provider loaded
        (PKCS#11 logs in per application: the provider's login covers it)."""
        import pkcs11

        return pkcs11.lib(MODULE).get_token(token_label=TOKEN_LABEL).open(rw=True)


def make_token(root: Path, monkeypatch) -> SoftToken:
    util = _util()
    root.mkdir(parents=True, exist_ok=True)
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    subprocess.run(  # noqa: S603
        [util, "--init-token", "--free", "--label", TOKEN_LABEL, "--pin", PIN, "--so-pin", SO_PIN],
        check=True,
        capture_output=True,
        env={"SOFTHSM2_CONF": str(conf), "PATH": "/usr/bin:/bin"},
    )
    return SoftToken(root=root, conf=conf)


@pytest.fixture
def softhsm(tmp_path, monkeypatch, settings):
    """A new token, and the portal configured to keep its master key there (none created yet)."""
    token = make_token(tmp_path / "softhsm", monkeypatch)
    masterkeys.forget()
    settings.ACCORD_KEY_PROVIDER = "pkcs11"
    settings.ACCORD_PKCS11 = token.settings()
    yield token
    masterkeys.forget()
