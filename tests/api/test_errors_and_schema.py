"""One JSON error shape for every failure; limits per token; the schema and its docs page."""

from __future__ import annotations

import re

import pytest
import yaml
from django.urls import reverse

from tests.api.conftest import make_token

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code and body["error"]["message"]
    return body["error"]


def test_anonymous_unknown_api_path_is_a_json_404(client):
    assert_error(client.get("/api/v1/no-such-thing/"), 404, "not_found")


def test_outsider_unknown_api_path_is_a_json_404(as_user, bob):
    assert_error(as_user(bob).get("/api/v1/documents/not-a-uuid/"), 404, "not_found")


def test_wrong_method_is_a_json_405(as_user, alice, draft):
    error = assert_error(
        as_user(alice).delete(reverse("api:document_detail", args=[draft.code])), 405, "method_not_allowed"
    )
    assert "DELETE" in error["message"]


def test_malformed_json_is_a_json_400(as_user, alice):
    response = as_user(alice).generic(
        "POST", reverse("api:document_list"), b"{not json", content_type="application/json"
    )
    assert_error(response, 400, "parse_error")


def test_oversized_json_is_a_json_413(as_user, alice, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = as_user(alice).post(
        reverse("api:document_list"), {"title": "x" * 2000, "tier": "official"}, format="json"
    )
    assert_error(response, 413, "too_large")


def test_wrong_media_type_is_a_json_415(as_user, alice):
    response = as_user(alice).generic("POST", reverse("api:document_list"), b"title=x", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")


def test_rate_limit_is_per_token_with_retry_after(api, alice, settings):
    settings.ACCORD_API_RATE = "2/min"
    first, second = api(make_token(alice, name="one")), api(make_token(alice, name="two"))
    url = reverse("api:document_list")
    assert first.get(url).status_code == 200 and first.get(url).status_code == 200
    limited = first.get(url)
    assert_error(limited, 429, "throttled")
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert second.get(url).status_code == 200  # another token has its own budget


def test_rate_limit_lets_requests_through_when_the_cache_is_down(as_user, alice, monkeypatch, settings):
    settings.ACCORD_API_RATE = "1/min"

    def broken(*args, **kwargs):
        raise ConnectionError("cache unreachable")

    monkeypatch.setattr("api.throttling.TokenRateThrottle.cache.get", broken)
    client = as_user(alice)
    assert [client.get(reverse("api:document_list")).status_code for _ in range(3)] == [200, 200, 200]


def test_a_bug_is_a_json_500_that_reveals_nothing(as_user, alice, monkeypatch, caplog):
    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("api.views.documents.readable_documents", explode)
    client = as_user(alice)
    client.raise_request_exception = False
    response = client.get(reverse("api:document_list"))
    error = assert_error(response, 500, "server_error")
    assert "secret internals" not in response.content.decode()
    assert error["details"] == {}
    assert any("unhandled API error" in r.message for r in caplog.records)


# -- schema and docs ---------------------------------------------------------------------------


def test_anonymous_reads_the_openapi_schema(client):
    response = client.get(reverse("api:schema"))
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/documents/", "/api/v1/documents/{code}/attachments/", "/api/v1/eval-runs/"} <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    errors = schema["paths"]["/api/v1/documents/"]["post"]["responses"]
    assert {"400", "401", "403", "413", "429"} <= set(errors)


def test_outsider_reads_the_same_schema(client, verified_client, bob):
    anonymous = client.get(reverse("api:schema")).content
    assert verified_client(bob).get(reverse("api:schema")).content == anonymous


def _docs_page_holds_the_csp(response):
    assert response.status_code == 200
    html = response.content.decode()
    csp = response["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "script-src 'self'" in csp
    assert "<style" not in html
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts and all('src="/' in attrs for attrs in scripts)  # no inline script, all same-origin
    assert all(href.startswith("/") for href in re.findall(r'(?:href|src)="([^"]+)"', html))
    return html


def test_anonymous_docs_page_works_under_the_csp(client):
    html = _docs_page_holds_the_csp(client.get(reverse("api:docs")))
    script_url = re.findall(r'<script src="([^"]+\?[^"]*script[^"]*)"', html)[0].replace("&amp;", "&")
    script = client.get(script_url)
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert reverse("api:schema").encode() in script.content
    for static in re.findall(r'src="(/static/[^"]+)"', html):
        assert client.get(static).status_code == 200


def test_outsider_docs_page_works_under_the_csp(verified_client, bob):
    _docs_page_holds_the_csp(verified_client(bob).get(reverse("api:docs")))
