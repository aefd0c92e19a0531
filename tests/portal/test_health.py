from __future__ import annotations

import json
import logging

import pytest

from portal import health
from portal.logs import JsonFormatter, RequestIdFilter

pytestmark = pytest.mark.django_db


def test_healthz_answers_anonymous_without_detail(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_readyz_reports_each_dependency(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "storage", "master_key", "audit_chain"}


def test_readyz_fails_with_503_and_names_only_the_check(client, monkeypatch):
    def broken():
        raise RuntimeError("password=hunter2 at db.internal")

    monkeypatch.setitem(health.CHECKS, "database", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "fail"
    assert b"hunter2" not in response.content
    assert b"db.internal" not in response.content


def test_readyz_reports_the_audit_seal_lag_and_degrades_above_the_limit(client, settings):
    from audit import sequencer
    from audit.models import Action
    from audit.services import record

    assert client.get("/readyz").json()["audit"] == {"seal_lag_seconds": None, "status": "ok"}
    settings.ACCORD_AUDIT_SEALING = "sequencer"  # no sequencer runs: the event waits
    record(Action.DOCUMENT_VIEWED)
    body = client.get("/readyz").json()
    assert body["audit"]["seal_lag_seconds"] >= 0 and body["status"] == "ok"
    settings.ACCORD_AUDIT_SEAL_LAG_LIMIT = -1  # anything waiting is now too long
    response = client.get("/readyz")
    # Degraded, not failed: the events are stored, only their linking waits.
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["audit"]["status"]) == ("degraded", "degraded")
    sequencer.seal_pending(sign=False)
    assert client.get("/readyz").json()["audit"] == {"seal_lag_seconds": None, "status": "ok"}


def test_readyz_refuses_post(client):
    assert client.post("/readyz").status_code == 405


def test_response_carries_request_id_and_json_log_line_matches(client, caplog):
    with caplog.at_level(logging.INFO, logger="accord.request"):
        response = client.get("/healthz", HTTP_X_REQUEST_ID="trace-abcdef123")
    assert response["X-Request-ID"] == "trace-abcdef123"
    record = next(r for r in caplog.records if r.name == "accord.request")
    RequestIdFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "trace-abcdef123"
    assert line["path"] == "/healthz"
    assert line["status"] == 200


def test_malformed_request_id_is_replaced(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="<script>")
    assert response["X-Request-ID"] != "<script>"
    assert len(response["X-Request-ID"]) == 32
