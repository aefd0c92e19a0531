from __future__ import annotations

import json
import os
import re
import subprocess  # noqa: S404 - this project's own settings, in a fresh interpreter
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_production_table_lists_exactly_the_variables_settings_read():
    settings_src = (ROOT / "portal" / "settings.py").read_text()
    read = set(re.findall(r'"((?:ACCORD_[A-Z0-9_]+)|DATABASE_URL|CELERY_BROKER_URL)"', settings_src))
    readme = (ROOT / "README.md").read_text()
    production = readme[readme.index("## Production") :]
    rows = [line for line in production.splitlines() if line.startswith("| `")]
    documented = {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}
    assert documented == read


def test_readme_opens_with_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```")[1]
    assert "make run" in first_block and "make test" in first_block


def test_readme_passkey_demo_instructions_match_the_embedded_default(tmp_path):
    """The README tells a demo user to try a passkey on http://localhost:8000 with TOTP still
    doing for the privileged personas: the embedded default's settings must agree, and the page
    it sends them to must carry the button it names."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Security keys and passkeys") :]
    section = section[: section.index("\n#")]
    for said in ("`ACCORD_PRIVILEGED_TOTP=true`", "production refuses", "<http://localhost:8000/>", "**Security**"):
        assert said in section
    assert "Sign in with a passkey" in section
    assert "Sign in with a passkey" in (ROOT / "templates" / "accounts" / "login.html").read_text()
    assert "runserver 127.0.0.1:$(PORT)" in (ROOT / "Makefile").read_text()

    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACCORD_", "DJANGO_", "DATABASE_URL"))}
    env.update(ACCORD_VAR_DIR=str(tmp_path / "var"), DJANGO_SETTINGS_MODULE="portal.settings")
    script = (
        "import django, json; django.setup(); from django.conf import settings as s; print(json.dumps({"
        "'totp': s.ACCORD_PRIVILEGED_TOTP, 'rp': s.OTP_WEBAUTHN_RP_ID, 'origins': s.OTP_WEBAUTHN_ALLOWED_ORIGINS, "
        "'hosts': s.ALLOWED_HOSTS}))"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["totp"] is True
    assert values["rp"] == "localhost" and values["origins"] == ["http://localhost:8000"]
    assert "localhost" in values["hosts"]
