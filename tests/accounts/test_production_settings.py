"""Production settings, checked in a fresh interpreter with only the production environment."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess  # noqa: S404 - runs this project's own manage.py
import sys
from pathlib import Path

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "ACCORD_ENV": "production",
    "ACCORD_SECRET_KEY": secrets.token_urlsafe(64),
    "ACCORD_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    # Never contacted: `check --deploy` runs no database checks.
    "DATABASE_URL": "postgres://accord:secret@db.invalid:5432/accord",
    "CELERY_BROKER_URL": "redis://redis.invalid:6379/0",
    "ACCORD_ALLOWED_HOSTS": "accord.example.org",
}


def _run(tmp_path, *args, env_overrides=None, drop=()):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACCORD_", "DATABASE_URL", "CELERY_"))}
    env.update(PRODUCTION_ENV, ACCORD_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="portal.settings")
    env.update(env_overrides or {})
    for name in drop:
        env.pop(name, None)
    return subprocess.run(  # noqa: S603
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_check_deploy_passes_with_the_production_variables(tmp_path):
    result = _run(tmp_path, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    # Nothing was generated on disk: production keys come from the environment.
    assert not (tmp_path / "secret_key").exists()
    assert not (tmp_path / "keys" / "master.key").exists()


@pytest.mark.parametrize(
    ("drop", "named"),
    [
        ("ACCORD_SECRET_KEY", "ACCORD_SECRET_KEY"),
        ("ACCORD_MASTER_KEY", "ACCORD_MASTER_KEY"),
        ("DATABASE_URL", "DATABASE_URL"),
        ("CELERY_BROKER_URL", "CELERY_BROKER_URL"),
        ("ACCORD_ALLOWED_HOSTS", "ACCORD_ALLOWED_HOSTS"),
    ],
)
def test_production_without_a_required_variable_fails_loudly_naming_it(tmp_path, drop, named):
    result = _run(tmp_path, "manage.py", "check", drop=[drop])
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert named in result.stderr


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"ACCORD_MASTER_KEY": base64.b64encode(b"short").decode()}, "32 bytes"),
        ({"ACCORD_DEBUG": "true"}, "ACCORD_DEBUG"),
        ({"DATABASE_URL": "sqlite:////tmp/x.sqlite3"}, "DATABASE_URL"),
        ({"ACCORD_SESSION_IDLE_MINUTES": "soon"}, "ACCORD_SESSION_IDLE_MINUTES"),
        # The demo's TOTP-for-privileged-roles setting stops production at start.
        ({"ACCORD_PRIVILEGED_TOTP": "true"}, "ACCORD_PRIVILEGED_TOTP"),
    ],
)
def test_production_refuses_bad_values(tmp_path, overrides, named):
    result = _run(tmp_path, "manage.py", "check", env_overrides=overrides)
    assert result.returncode != 0
    assert named in result.stderr


def test_production_cookies_hsts_and_proxy_settings(tmp_path):
    script = (
        "import django, json; django.setup(); from django.conf import settings as s; print(json.dumps({"
        "'session': s.SESSION_COOKIE_NAME, 'csrf': s.CSRF_COOKIE_NAME, 'secure': [s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE], 'hsts': s.SECURE_HSTS_SECONDS, 'proxies': s.ACCORD_TRUSTED_PROXIES, "
        "'idle': s.SESSION_IDLE_TIMEOUT.total_seconds(), 'absolute': s.SESSION_ABSOLUTE_TIMEOUT.total_seconds(), "
        "'hasher': s.PASSWORD_HASHERS[0], 'xfo': s.X_FRAME_OPTIONS, 'ip': s.AXES_CLIENT_IP_CALLABLE, "
        "'totp': s.ACCORD_PRIVILEGED_TOTP, 'rp': s.OTP_WEBAUTHN_RP_ID, 'origins': s.OTP_WEBAUTHN_ALLOWED_ORIGINS}))"
    )
    result = _run(tmp_path, "-c", script, env_overrides={"ACCORD_SITE_URL": "https://accord.example.org"})
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["rp"] == "accord.example.org" and values["origins"] == ["https://accord.example.org"]
    assert values["session"].startswith("__Host-")
    assert values["csrf"].startswith("__Host-")
    assert values["secure"] == [True, True]
    assert values["hsts"] >= 365 * 24 * 3600
    assert values["proxies"] == 1
    assert values["idle"] == 15 * 60
    assert values["absolute"] == 12 * 3600
    assert values["hasher"].endswith("Argon2PasswordHasher")
    assert values["xfo"] == "DENY"
    assert values["ip"] == "audit.middleware.client_ip"
    # Privileged roles need a security key: TOTP does not stand in for it unless asked, and
    # asking is refused above.
    assert values["totp"] is False


@pytest.mark.django_db
def test_pages_carry_a_strict_csp_and_refuse_framing(client):
    response = client.get("/accounts/login/")
    csp = response["Content-Security-Policy"]
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_csp_nonce_reaches_the_header_when_a_page_uses_it():
    from csp.middleware import CSPMiddleware

    seen = {}

    def view(request):
        seen["nonce"] = str(request.csp_nonce)
        return HttpResponse("<script nonce='...'></script>")

    response = CSPMiddleware(view)(RequestFactory().get("/"))
    csp = response["Content-Security-Policy"]
    assert f"'nonce-{seen['nonce']}'" in csp
    assert "unsafe-inline" not in csp
