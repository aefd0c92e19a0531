"""An outage is a 503 that says "try again", in the API's error shape; a bug stays a 500."""

from __future__ import annotations

import pytest
from botocore.exceptions import EndpointConnectionError
from django.db import OperationalError
from django.urls import reverse
from kombu.exceptions import OperationalError as BrokerError

from audit.models import Action, AuditEvent, Outcome
from audit.reasons import Reason
from sharing.models import Attachment
from tests.api.test_attachments_evals import stored_bytes, upload
from tests.api.test_errors_and_schema import assert_error

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("exc", "retry_after"),
    [
        (OperationalError("server closed the connection unexpectedly"), "30"),
        (EndpointConnectionError(endpoint_url="http://s3.internal"), "60"),
        (BrokerError("Error 111 connecting to redis.internal"), "30"),
    ],
    ids=["database", "storage", "broker"],
)
def test_an_unavailable_service_is_a_json_503_with_retry_after(as_user, alice, monkeypatch, caplog, exc, retry_after):
    def away(*args, **kwargs):
        raise exc

    monkeypatch.setattr("api.views.documents.readable_documents", away)
    client = as_user(alice)
    client.raise_request_exception = False
    response = client.get(reverse("api:document_list"))
    error = assert_error(response, 503, "unavailable")
    assert response["Retry-After"] == retry_after
    assert "internal" not in response.content.decode()  # nothing of the failure is shown
    assert not any("unhandled API error" in r.message for r in caplog.records)  # not logged as a bug
    assert any("unavailable" in r.getMessage() for r in caplog.records)
    assert error["details"] == {}


def test_a_wrapped_database_error_is_a_503_too(as_user, alice, monkeypatch):
    def away(*args, **kwargs):
        try:
            raise OperationalError("could not connect")
        except OperationalError as exc:
            raise RuntimeError("while listing") from exc

    monkeypatch.setattr("api.views.documents.readable_documents", away)
    client = as_user(alice)
    client.raise_request_exception = False
    assert_error(client.get(reverse("api:document_list")), 503, "unavailable")


def test_upload_while_the_store_fails_is_a_503_recorded_as_the_web_records_it(
    as_user, alice, draft, media, monkeypatch
):
    def refuse(name):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("vault.attachments._open_blob_for_write", refuse)
    response = upload(as_user(alice), draft, b"model,score\nm1,0.4\n")
    assert_error(response, 503, "unavailable")
    assert response["Retry-After"] == "60"
    assert not Attachment.objects.exists()
    assert stored_bytes(media) == b""
    rejected = AuditEvent.objects.get(action=Action.ATTACHMENT_REJECTED)
    assert rejected.outcome == Outcome.DENIED
    assert rejected.details["reason"] == Reason.STORAGE_UNAVAILABLE and rejected.details["via"] == "api"
