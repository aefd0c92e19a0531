"""PostgreSQL becoming unreachable while Accord serves requests: a calm 503, nothing half-written,
and everything as before once it returns. The shared PostgreSQL server is never stopped: Accord
reaches its own scratch database through a TCP proxy that the test cuts and restores."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

import pytest
import requests
from django_otp.oath import totp

from tests.factories import PASSWORD
from tests.portal.faults import (
    CHAIN_AND_COUNTS,
    LiveAccord,
    TcpProxy,
    accord_env,
    manage,
    pg_base_url,
    psql,
    shell_json,
)

pytestmark = pytest.mark.services

SEED = r"""
import json
from django_otp.plugins.otp_totp.models import TOTPDevice
from tests.factories import OrganisationFactory, UserFactory
from accounts.models import Country
uk = OrganisationFactory(short_name="ukasi", country=Country.objects.get(code="GBR"))
us = OrganisationFactory(short_name="caisi", country=Country.objects.get(code="USA"))
keys = {}
for email, org in (("alice@ukasi.example", uk), ("bob@caisi.example", us)):
    user = UserFactory(email=email, organisation=org)
    keys[email] = TOTPDevice.objects.create(user=user, name="Authenticator", confirmed=True).key
print("JSON " + json.dumps(keys))
"""


def _csrf(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def sign_in(base: str, email: str, key_hex: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/accounts/login/", timeout=10)
    response = session.post(
        f"{base}/accounts/login/",
        data={"username": email, "password": PASSWORD, "csrfmiddlewaretoken": _csrf(page.text)},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text[:500]
    page = session.get(f"{base}/accounts/mfa/", timeout=10)
    code = f"{totp(bytes.fromhex(key_hex), step=30, t0=0, digits=6, drift=0):06d}"
    response = session.post(
        f"{base}/accounts/mfa/",
        data={"token": code, "csrfmiddlewaretoken": _csrf(page.text)},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text[:500]
    return session


@pytest.fixture
def scratch_db(tmp_path):
    name = f"accord_ops_fault_{uuid.uuid4().hex[:8]}"
    psql(f"CREATE DATABASE {name}")
    direct = accord_env(f"{pg_base_url()}/{name}", tmp_path)
    try:
        manage(direct, "migrate", "--noinput", "-v", "0")
        yield name, direct
    finally:
        psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_database_outage_answers_503_writes_nothing_and_recovers(scratch_db, tmp_path):
    name, direct = scratch_db
    keys = shell_json(direct, SEED)
    upstream = urlsplit(pg_base_url())
    proxy = TcpProxy((upstream.hostname or "127.0.0.1", upstream.port or 5432))
    proxy.restore()
    proxied_url = f"{upstream.scheme}://{upstream.username or 'postgres'}@127.0.0.1:{proxy.port}/{name}"
    live = LiveAccord(accord_env(proxied_url, tmp_path), tmp_path / "gunicorn.log")
    try:
        alice = sign_in(live.url, "alice@ukasi.example", keys["alice@ukasi.example"])
        assert alice.get(f"{live.url}/", timeout=10).status_code == 200
        before = shell_json(direct, CHAIN_AND_COUNTS)

        proxy.cut()
        # A signed-in reader: the session cannot be read, so the page is a calm 503.
        page = alice.get(f"{live.url}/", timeout=10)
        assert page.status_code == 503
        assert "temporarily unavailable" in page.text
        assert page.headers["Retry-After"] == "30"
        # A write (a sign-in writes a session and audit rows) fails whole.
        stranger = requests.Session()
        form = stranger.get(f"{live.url}/accounts/login/", timeout=10)
        attempt = stranger.post(
            f"{live.url}/accounts/login/",
            data={"username": "bob@caisi.example", "password": PASSWORD, "csrfmiddlewaretoken": _csrf(form.text)},
            allow_redirects=False,
            timeout=10,
        )
        assert attempt.status_code == 503
        ready = requests.get(f"{live.url}/readyz", timeout=10)
        assert ready.status_code == 503 and ready.json()["checks"]["database"] == "fail"
        assert requests.get(f"{live.url}/healthz", timeout=10).status_code == 200
        during = shell_json(direct, CHAIN_AND_COUNTS)

        proxy.restore()
        assert alice.get(f"{live.url}/", timeout=10).status_code == 200
        bob = sign_in(live.url, "bob@caisi.example", keys["bob@caisi.example"])
        assert bob.get(f"{live.url}/", timeout=10).status_code == 200
        after = shell_json(direct, CHAIN_AND_COUNTS)
    finally:
        live.close()
        proxy.cut()

    # Nothing was written while the database was away, and the chain holds throughout.
    assert during["counts"] == before["counts"]
    assert during["events"] == before["events"]
    assert before["chain_ok"] and during["chain_ok"] and after["chain_ok"]
    assert after["actions"].get("auth.login") == 2
    assert after["counts"]["sessions.Session"] == 2
    log = (tmp_path / "gunicorn.log").read_text()
    assert PASSWORD not in log
