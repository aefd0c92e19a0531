"""A full journey with every logger at DEBUG through the real JSON formatter: no secret, no
attachment content and no document text in any line; request lines carry the request ids of the
audit rows their requests wrote."""

from __future__ import annotations

import base64
import json
import logging
import re
import uuid

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Country, Tier
from audit.models import Action, AuditEvent
from portal.logs import JsonFormatter, RequestIdFilter
from sharing.models import Release, RiskDomain
from sharing.services.documents import document_create, document_publish
from sharing.services.releases import release_approve, release_request
from tests.factories import PASSWORD, UserFactory, give_role, grant_clearance
from tests.sharing import world

pytestmark = pytest.mark.django_db


class Captured(logging.Handler):
    """Formats every record through the production formatter, as the console handler would."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.addFilter(RequestIdFilter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def debug_logs():
    """Root and every named logger at DEBUG for the test, whatever LOGGING set them to."""
    handler = Captured()
    root = logging.getLogger()
    loggers = [root, *(logging.getLogger(n) for n in list(logging.root.manager.loggerDict))]
    levels = {lg: lg.level for lg in loggers}
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        for lg, level in levels.items():
            lg.setLevel(level)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _csrf_field(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def _code(key_hex: str) -> str:
    return f"{totp(bytes.fromhex(key_hex), step=30, t0=0, digits=6, drift=0):06d}"


def sign_in(client: Client, email: str, device: TOTPDevice, secrets: set[str]) -> None:
    """Password, then TOTP, through the real pages with CSRF enforced."""
    page = client.get(reverse("accounts:login"))
    token = _csrf_field(page.content.decode())
    response = client.post(
        reverse("accounts:login"), {"username": email, "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302, response.content[:300]
    page = client.get(reverse("accounts:mfa_verify"))
    token = _csrf_field(page.content.decode())
    code = _code(device.key)
    response = client.post(reverse("accounts:mfa_verify"), {"token": code, "csrfmiddlewaretoken": token})
    assert response.status_code == 302, response.content[:300]
    secrets |= {
        token,
        code,
        device.key,
        base64.b32encode(bytes.fromhex(device.key)).decode().rstrip("="),
        client.cookies[settings.SESSION_COOKIE_NAME].value,
        client.cookies[settings.CSRF_COOKIE_NAME].value,
    }


def test_a_full_journey_logs_no_secret_or_content_and_ties_requests_to_audit_rows(
    debug_logs, django_capture_on_commit_callbacks, ukasi, usaisi
):
    marker = f"ATTACHMENT-MARKER-{uuid.uuid4().hex}"
    body_marker = f"BODY-MARKER-{uuid.uuid4().hex}"
    alice = UserFactory(email="alice@ukasi.example", organisation=ukasi)
    give_role(alice, "author")
    grant_clearance(alice, "official-sensitive")
    rita = UserFactory(email="rita@ukasi.example", organisation=ukasi)
    give_role(rita, "release_officer")
    grant_clearance(rita, "secret")
    bob = UserFactory(email="bob@caisi.example", organisation=usaisi)
    grant_clearance(bob, "official-sensitive")
    admin = UserFactory(email="pat@accord.example", organisation=None, is_staff=True)
    agreement = world.agreement(parties=[ukasi, usaisi], created_by=admin, reference="UK-US-LOGS")
    devices = {u: TOTPDevice.objects.create(user=u, name="Authenticator", confirmed=True) for u in (alice, bob)}
    secrets: set[str] = {PASSWORD}

    author = Client(enforce_csrf_checks=True)
    sign_in(author, alice.email, devices[alice], secrets)
    assert author.get("/").status_code == 200

    # The document and its release go through the services: this branch has no pages for them.
    fields = {
        "title": "Cyber uplift at scale",
        "summary": f"Summary {body_marker}",
        "body": f"## Method\n\nThe body {body_marker}.",
    }
    with django_capture_on_commit_callbacks(execute=True):
        document = document_create(
            actor=alice,
            tier=Tier.objects.get(code="official-sensitive"),
            releasable_to=[Country.objects.get(code="USA")],
            risk_domains=list(RiskDomain.objects.filter(code="cyber-offence")),
            **fields,
        )
        document_publish(actor=alice, document=document)

    csrf = author.cookies[settings.CSRF_COOKIE_NAME].value
    with django_capture_on_commit_callbacks(execute=True):
        upload = author.post(
            reverse("sharing:attachment_upload", args=[document.code]),
            {
                "file": SimpleUploadedFile(
                    "transcript.txt", f"line one\n{marker}\nline three\n".encode(), "text/plain"
                ),
                "csrfmiddlewaretoken": csrf,
            },
        )
    assert upload.status_code == 201, upload.content[:300]
    attachment_code = upload.json()["code"]
    download_url = reverse("sharing:attachment_download", args=[attachment_code])
    own = author.get(download_url)
    assert marker.encode() in b"".join(own.streaming_content)

    with django_capture_on_commit_callbacks(execute=True):
        [release] = release_request(
            actor=alice, document=document, agreement=agreement, recipients=[usaisi], justification="joint work"
        )
        release_approve(actor=rita, release=release, reason="agreed")
    assert Release.objects.get(pk=release.pk).status == Release.Status.APPROVED

    partner = Client(enforce_csrf_checks=True)
    sign_in(partner, bob.email, devices[bob], secrets)
    theirs = partner.get(download_url)
    assert theirs.status_code == 200
    assert marker.encode() in b"".join(theirs.streaming_content)

    lines = debug_logs.lines
    assert lines, "nothing was logged"
    text = "\n".join(lines)
    for secret in secrets | {marker, body_marker, fields["body"]}:
        assert secret not in text, f"a log line carries {secret[:12]}…"
    # Every line is one JSON object.
    entries = [json.loads(line) for line in lines]

    # Request lines carry the request id of the audit rows written by the same request.
    requests = [e for e in entries if e["logger"] == "accord.request"]

    def ids(method: str, path: str) -> set[str]:
        return {e["request_id"] for e in requests if e["method"] == method and e["path"] == path}

    assert all(re.fullmatch(r"[0-9a-f]{32}", e["request_id"]) for e in requests)
    upload_path = reverse("sharing:attachment_upload", args=[document.code])
    assert ids("POST", upload_path) == {upload["X-Request-ID"]}
    assert AuditEvent.objects.get(action=Action.ATTACHMENT_UPLOADED).request_id == upload["X-Request-ID"]
    for action, path in ((Action.AUTH_LOGIN, "accounts:login"), (Action.AUTH_MFA_VERIFIED, "accounts:mfa_verify")):
        written = set(AuditEvent.objects.filter(action=action).values_list("request_id", flat=True))
        assert len(written) == 2 and written == ids("POST", reverse(path)), action
    downloads = AuditEvent.objects.filter(action=Action.ATTACHMENT_DOWNLOADED).values_list("request_id", flat=True)
    assert set(downloads) == {own["X-Request-ID"], theirs["X-Request-ID"]}
    assert set(downloads) <= {e["request_id"] for e in requests if e["path"] == download_url}
    # Every audit row written inside a request (the middleware's ids are 32 hex digits; the
    # service calls made directly by this test have ids of their own) names a logged request.
    in_requests = AuditEvent.objects.filter(request_id__regex=r"^[0-9a-f]{32}$")
    assert in_requests.count() >= 7
    assert set(in_requests.values_list("request_id", flat=True)) <= {e["request_id"] for e in requests}
