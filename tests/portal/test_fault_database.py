"""PostgreSQL becoming unreachable while Accord serves requests: a calm 503, nothing half-written,
and everything as before once it returns. The shared PostgreSQL server is never stopped: Accord
reaches its own scratch database through a TCP proxy that the test cuts and restores."""

from __future__ import annotations

import http.client
import json
import re
import select
import subprocess
import time
import uuid

import pytest
import requests
from django_otp.oath import totp

from tests.factories import PASSWORD
from tests.portal.faults import (
    CHAIN_AND_COUNTS,
    PYTHON,
    ROOT,
    LiveAccord,
    accord_env,
    database_proxy,
    manage,
    pg_base_url,
    psql,
    shell_json,
)

pytestmark = pytest.mark.services

SEED = r"""
import json
from django_otp.plugins.otp_totp.models import TOTPDevice
from tests.factories import OrganisationFactory, PersonFactory
from accounts.models import Country
uk = OrganisationFactory(short_name="ukasi", country=Country.objects.get(code="GBR"))
us = OrganisationFactory(short_name="caisi", country=Country.objects.get(code="USA"))
keys = {}
for email, org in (("alice@ukasi.example", uk), ("bob@caisi.example", us)):
    user = PersonFactory(email=email, organisation=org)
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
    proxy, proxied_url = database_proxy(name)
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


SEED_AUTHOR = r"""
import json
from django_otp.plugins.otp_totp.models import TOTPDevice
from tests.factories import DocumentFactory, OrganisationFactory, PersonFactory
uk = OrganisationFactory(short_name="ukasi", country="GBR")
alice = PersonFactory(
    email="alice@ukasi.example", organisation=uk, roles=["author"], clearance="official-sensitive"
)
document = DocumentFactory(author=alice, title="Cyber uplift finding", releasable_to=["USA"], risk_domains=["cyber-offence"])
key = TOTPDevice.objects.create(user=alice, name="Authenticator", confirmed=True).key
print("JSON " + json.dumps({"key": key, "document": str(document.code)}))
"""

# Run in its own process through the proxy: document_create stops just before its audit append
# (the document, its marking rows and its first revision are written, not committed), says
# READY, and waits for the test to cut the database before it goes on.
CREATE_DURING_CUT = r"""
import json, os, time
from pathlib import Path
from accounts.models import Country, Tier, User
from sharing.models import RiskDomain
from sharing.services import documents
go = Path(os.environ["FAULT_GO_FILE"])
real_record = documents.record
def paused_record(*args, **kwargs):
    print("READY", flush=True)
    while not go.exists():
        time.sleep(0.05)
    return real_record(*args, **kwargs)
documents.record = paused_record
alice = User.objects.get(email="alice@ukasi.example")
tier = Tier.objects.get(code="official-sensitive")
usa = Country.objects.get(code="USA")
domains = list(RiskDomain.objects.filter(code="cyber-offence"))
try:
    documents.document_create(actor=alice, title="Written during the cut", body="half", tier=tier,
                              releasable_to=[usa], risk_domains=domains)
    outcome = "committed"
except Exception as exc:
    outcome = type(exc).__name__
print("JSON " + json.dumps({"outcome": outcome}), flush=True)
"""


def blobs(home) -> list:
    return sorted(p for p in (home / "media").rglob("*") if p.is_file())


def upload_body(boundary: str, size: int) -> bytes:
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="notes.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    return head + b"a line of text\n" * (size // 15) + f"\r\n--{boundary}--\r\n".encode()


def upload_in_two_halves(live, session, path: str, on_half) -> tuple[int, str]:
    """POST a 3 MiB file: send 2 MiB, call `on_half()`, send the rest, return the response."""
    boundary = uuid.uuid4().hex
    body = upload_body(boundary, 3 * 1024 * 1024)
    cookies = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    csrf = next(c.value for c in session.cookies if "csrf" in c.name)
    conn = http.client.HTTPConnection("127.0.0.1", live.port, timeout=30)
    conn.putrequest("POST", path)
    for name, value in {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(len(body)),
        "Cookie": cookies,
        "X-CSRFToken": csrf,
    }.items():
        conn.putheader(name, value)
    conn.endheaders()
    half = 2 * 1024 * 1024
    conn.send(body[:half])
    on_half()
    try:
        conn.send(body[half:])
    except OSError:
        pass  # the server may answer before it has read everything
    response = conn.getresponse()
    text = response.read().decode(errors="replace")
    conn.close()
    return response.status, text


def wait_until(condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def wait_for_line(proc: subprocess.Popen, wanted: str, *, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
        line = proc.stdout.readline() if ready else ""
        if line.strip() == wanted:
            return True
        if ready and not line:  # end of output: the process is gone
            return False
    return False


def test_database_cut_during_document_and_attachment_writes(scratch_db, tmp_path):
    name, direct = scratch_db
    seeded = shell_json(direct, SEED_AUTHOR)
    proxy, proxied_url = database_proxy(name)
    proxied = accord_env(proxied_url, tmp_path)
    live = LiveAccord(proxied, tmp_path / "gunicorn.log")
    upload_path = f"/documents/{seeded['document']}/attachments/"
    try:
        alice = sign_in(live.url, "alice@ukasi.example", seeded["key"])
        status, text = upload_in_two_halves(live, alice, upload_path, lambda: None)
        assert status == 201, text[:300]
        assert len(blobs(tmp_path)) == 1

        # 1. An upload whose body is streaming when the database goes: the gate, the key lookup
        # and the first encrypted segments are done (its blob exists); the row cannot be written.
        before = shell_json(direct, CHAIN_AND_COUNTS)

        def cut_once_the_blob_is_written():
            wait_until(lambda: len(blobs(tmp_path)) == 2)
            proxy.cut()

        status, text = upload_in_two_halves(live, alice, upload_path, cut_once_the_blob_is_written)
        assert status == 503, text[:300]
        assert "temporarily unavailable" in text
        assert len(blobs(tmp_path)) == 1  # the half-written blob was removed
        # 2. An upload that starts while the database is away.
        status, text = upload_in_two_halves(live, alice, upload_path, lambda: None)
        assert status == 503, text[:300]
        assert len(blobs(tmp_path)) == 1
        # 3. The document form posted while the database is away.
        csrf = next(c.value for c in alice.cookies if "csrf" in c.name)
        page = alice.post(
            f"{live.url}/documents/new/",
            data={"title": "Posted during the cut", "body": "x", "releasable_to": ["GBR"], "csrfmiddlewaretoken": csrf},
            allow_redirects=False,
            timeout=10,
        )
        assert page.status_code == 503 and "temporarily unavailable" in page.text
        during_uploads = shell_json(direct, CHAIN_AND_COUNTS)

        # 4. A document created as the database goes: everything but the audit row is written,
        # uncommitted, when the connection is cut.
        proxy.restore()
        go = tmp_path / "go"
        creator = subprocess.Popen(  # noqa: S603 - our venv's python, fixed arguments
            [PYTHON, "manage.py", "shell", "-c", CREATE_DURING_CUT],
            env={**proxied, "FAULT_GO_FILE": str(go)},
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=(tmp_path / "creator.log").open("w"),
            text=True,
        )
        try:
            assert wait_for_line(creator, "READY", timeout=60), (tmp_path / "creator.log").read_text()[-2000:]
            proxy.cut()
            go.touch()
            out, _ = creator.communicate(timeout=60)
        finally:
            if creator.poll() is None:
                creator.kill()
        outcome = json.loads(next(line for line in out.splitlines() if line.startswith("JSON "))[5:])
        assert outcome["outcome"] in {"OperationalError", "InterfaceError"}, (tmp_path / "creator.log").read_text()
        during_create = shell_json(direct, CHAIN_AND_COUNTS)

        proxy.restore()
        status, text = upload_in_two_halves(live, alice, upload_path, lambda: None)
        assert status == 201, text[:300]
        after = shell_json(direct, CHAIN_AND_COUNTS)
    finally:
        live.close()
        proxy.cut()

    # Nothing of either write survived: no document, revision, marking or attachment rows, no
    # audit events, no blob; the chain holds throughout and grows again once the database is back.
    assert during_uploads["counts"] == before["counts"] == during_create["counts"]
    assert during_uploads["events"] == before["events"] == during_create["events"]
    assert before["chain_ok"] and during_uploads["chain_ok"] and during_create["chain_ok"] and after["chain_ok"]
    assert after["counts"]["sharing.Document"] == before["counts"]["sharing.Document"] == 1
    assert after["counts"]["sharing.Attachment"] == 2
    assert after["actions"]["attachment.uploaded"] == 2
    assert "document.created" not in after["actions"]
    assert len(blobs(tmp_path)) == 2
    assert manage(direct, "audit", "verify").startswith("audit chain OK")
