"""The API in an outage: a 503 in its JSON error shape with Retry-After, never a 500, and the
rejected upload on the record as the web's is. A live gunicorn reaches its own scratch database
through a TCP proxy the test cuts; the ciphertext store is a folder the test takes away."""

from __future__ import annotations

import shutil

import pytest
import requests

from tests.portal.faults import CHAIN_AND_COUNTS, LiveAccord, accord_env, database_proxy, shell_json
from tests.portal.test_fault_database import scratch_db  # noqa: F401 - the fixture

pytestmark = pytest.mark.services

SEED_TOKEN = r"""
import json
from api.tokens import token_create
from tests.factories import DocumentFactory, OrganisationFactory, PersonFactory
uk = OrganisationFactory(short_name="ukasi", country="GBR")
alice = PersonFactory(email="alice@ukasi.example", organisation=uk, roles=["author"], clearance="official-sensitive")
document = DocumentFactory(author=alice, title="Cyber uplift finding", releasable_to=["USA"])
secret = token_create(actor=alice, user=alice, name="pipeline", scopes="read,write", days=30).secret
print("JSON " + json.dumps({"secret": secret, "document": str(document.code)}))
"""

REJECTED = r"""
import json
from audit.models import AuditEvent
rows = AuditEvent.objects.filter(action="attachment.rejected").values_list("outcome", "details")
print("JSON " + json.dumps([[o, d] for o, d in rows]))
"""


def assert_503(response, retry_after: str) -> dict:
    assert response.status_code == 503, response.text[:500]
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Retry-After"] == retry_after
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"} and error["code"] == "unavailable"
    return error


def api_upload(live, seeded, data: bytes = b"model,score\nm1,0.4\n") -> requests.Response:
    return requests.post(
        f"{live.url}/api/v1/documents/{seeded['document']}/attachments/?filename=results.csv",
        data=data,
        headers={"Authorization": f"Bearer {seeded['secret']}", "Content-Type": "text/csv"},
        timeout=30,
    )


def test_api_answers_503_while_the_database_is_cut(scratch_db, tmp_path):  # noqa: F811
    name, direct = scratch_db
    seeded = shell_json(direct, SEED_TOKEN)
    proxy, proxied_url = database_proxy(name)
    live = LiveAccord(accord_env(proxied_url, tmp_path), tmp_path / "gunicorn.log")
    auth = {"Authorization": f"Bearer {seeded['secret']}"}
    try:
        assert requests.get(f"{live.url}/api/v1/documents/", headers=auth, timeout=10).status_code == 200
        before = shell_json(direct, CHAIN_AND_COUNTS)
        proxy.cut()
        assert_503(requests.get(f"{live.url}/api/v1/documents/", headers=auth, timeout=10), "30")
        assert_503(api_upload(live, seeded), "30")
        during = shell_json(direct, CHAIN_AND_COUNTS)
        proxy.restore()
        assert requests.get(f"{live.url}/api/v1/documents/", headers=auth, timeout=10).status_code == 200
    finally:
        live.close()
        proxy.cut()
    assert during["counts"] == before["counts"] and during["chain_ok"]
    log = (tmp_path / "gunicorn.log").read_text()
    assert "unhandled API error" not in log  # an outage, not a bug
    assert seeded["secret"] not in log


def test_api_upload_answers_503_when_the_store_fails_and_records_it(scratch_db, tmp_path):  # noqa: F811
    name, direct = scratch_db
    seeded = shell_json(direct, SEED_TOKEN)
    live = LiveAccord(direct, tmp_path / "gunicorn.log")
    media = tmp_path / "media"
    try:
        assert api_upload(live, seeded).status_code == 201
        before = shell_json(direct, CHAIN_AND_COUNTS)
        # The store goes: its folder is gone and a file stands in its place (root may write
        # anywhere, so a read-only folder would not stop it).
        shutil.move(media, tmp_path / "media.away")
        media.write_text("not a folder")
        assert_503(api_upload(live, seeded), "60")
        media.unlink()
        shutil.move(tmp_path / "media.away", media)
        after_failure = shell_json(direct, CHAIN_AND_COUNTS)
        assert api_upload(live, seeded).status_code == 201
    finally:
        live.close()
    # Recorded as the web records it: one refused upload, no attachment row.
    rejected = shell_json(direct, REJECTED)
    assert [details["reason"] for outcome, details in rejected if outcome == "denied"] == ["storage_unavailable"]
    assert rejected[0][1]["via"] == "api"
    assert after_failure["counts"]["sharing.Attachment"] == before["counts"]["sharing.Attachment"] == 1
    assert after_failure["chain_ok"]
    assert "unhandled API error" not in (tmp_path / "gunicorn.log").read_text()
