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

from accounts.models import Tier
from audit.models import Action, AuditEvent
from portal.logs import JsonFormatter, RequestIdFilter
from sharing.models import Document, Release, RiskDomain
from tests.factories import PASSWORD, AgreementFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


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
    """ACCORD_LOG_LEVEL=DEBUG, and Django's own logger lowered to DEBUG too (as someone debugging
    would): everything logs at DEBUG except the loggers LOGGING pins on purpose."""
    handler = Captured()
    lowered = [logging.getLogger(), logging.getLogger("django")]
    levels = [lg.level for lg in lowered]
    for lg in lowered:
        lg.setLevel(logging.DEBUG)
    lowered[0].addHandler(handler)
    try:
        yield handler
    finally:
        lowered[0].removeHandler(handler)
        for lg, level in zip(lowered, levels, strict=True):
            lg.setLevel(level)


def _csrf_field(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def _code(key_hex: str) -> str:
    return f"{totp(bytes.fromhex(key_hex), step=30, t0=0, digits=6, drift=0):06d}"


def sign_in(client: Client, email: str, device: TOTPDevice, secrets: dict[str, str]) -> None:
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
    secrets.update(
        {
            f"{email}: CSRF form token": token,
            f"{email}: TOTP code": code,
            f"{email}: TOTP secret (hex)": device.key,
            f"{email}: TOTP secret (base32)": base64.b32encode(bytes.fromhex(device.key)).decode().rstrip("="),
            f"{email}: session cookie": client.cookies[settings.SESSION_COOKIE_NAME].value,
            f"{email}: CSRF cookie": client.cookies[settings.CSRF_COOKIE_NAME].value,
        }
    )


def test_a_full_journey_logs_no_secret_or_content_and_ties_requests_to_audit_rows(
    debug_logs, django_capture_on_commit_callbacks, ukasi, usaisi, alice, rita, bob, portal_admin
):
    marker = f"ATTACHMENT-MARKER-{uuid.uuid4().hex}"
    body_marker = f"BODY-MARKER-{uuid.uuid4().hex}"
    agreement = AgreementFactory(parties=[ukasi, usaisi], created_by=portal_admin, reference="UK-US-LOGS")
    devices = {u: TOTPDevice.objects.create(user=u, name="Authenticator", confirmed=True) for u in (alice, rita, bob)}
    secrets = {"password": PASSWORD}

    author = Client(enforce_csrf_checks=True)
    sign_in(author, alice.email, devices[alice], secrets)
    csrf = author.cookies[settings.CSRF_COOKIE_NAME].value
    body = f"## Method\n\nThe body {body_marker}."
    response = author.post(
        reverse("sharing:document_create"),
        {
            "title": "Cyber uplift at scale",
            "summary": f"Summary {body_marker}",
            "body": body,
            "tier": str(Tier.objects.get(code="official-sensitive").pk),
            "releasable_to": ["USA"],
            "risk_domains": [str(RiskDomain.objects.get(code="cyber-offence").pk)],
            "csrfmiddlewaretoken": csrf,
        },
    )
    assert response.status_code == 302, response.content[:500]
    document = Document.objects.get(title="Cyber uplift at scale")
    response = author.post(reverse("sharing:document_publish", args=[document.code]), {"csrfmiddlewaretoken": csrf})
    assert response.status_code == 302
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
    assert body_marker in author.get(reverse("sharing:document_detail", args=[document.code])).content.decode()
    response = author.post(
        reverse("sharing:release_request", args=[document.code]),
        {
            "agreement": str(agreement.code),
            "recipients": ["caisi"],
            "justification": "joint work",
            "csrfmiddlewaretoken": csrf,
        },
    )
    assert response.status_code == 302, response.content[:500]

    officer = Client(enforce_csrf_checks=True)
    sign_in(officer, rita.email, devices[rita], secrets)
    release = Release.objects.get(document=document)
    with django_capture_on_commit_callbacks(execute=True):
        response = officer.post(
            reverse("sharing:release_approve", args=[release.code]),
            {"reason": "agreed", "csrfmiddlewaretoken": officer.cookies[settings.CSRF_COOKIE_NAME].value},
        )
    assert response.status_code == 302, response.content[:500]
    assert Release.objects.get(pk=release.pk).status == Release.Status.APPROVED

    partner = Client(enforce_csrf_checks=True)
    sign_in(partner, bob.email, devices[bob], secrets)
    theirs = partner.get(download_url)
    assert theirs.status_code == 200
    assert marker.encode() in b"".join(theirs.streaming_content)
    # A personal API token, made on its page and used as a pipeline would use it.
    response = partner.post(
        reverse("api:tokens"),
        {
            "name": "nightly",
            "read": "on",
            "days": "30",
            "csrfmiddlewaretoken": partner.cookies[settings.CSRF_COOKIE_NAME].value,
        },
    )
    assert response.status_code == 200
    token = response.context["secret"]
    secrets["API token"] = token
    pipeline = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    listed = pipeline.get(reverse("api:document_list"))
    assert listed.status_code == 200 and str(document.code) in listed.content.decode()
    via_api = pipeline.get(reverse("api:attachment_download", args=[attachment_code]))
    assert via_api.status_code == 200
    assert marker.encode() in b"".join(via_api.streaming_content)

    lines = debug_logs.lines
    assert lines, "nothing was logged"

    secrets |= {"attachment content": marker, "document text": body_marker}
    for line in lines:
        leaked = [label for label, value in secrets.items() if value in line]
        assert not leaked, f"{json.loads(line)['logger']} logged: {', '.join(leaked)}: {line[-1500:]}"
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
        assert len(written) == 3 and written == ids("POST", reverse(path)), action
    downloads = AuditEvent.objects.filter(action=Action.ATTACHMENT_DOWNLOADED).values_list("request_id", flat=True)
    assert set(downloads) == {own["X-Request-ID"], theirs["X-Request-ID"], via_api["X-Request-ID"]}
    api_download = reverse("api:attachment_download", args=[attachment_code])
    assert set(downloads) == ids("GET", download_url) | ids("GET", api_download)
    # Every audit row written inside a request (the middleware's ids are 32 hex digits; the
    # service calls made directly by this test have ids of their own) names a logged request.
    in_requests = AuditEvent.objects.filter(request_id__regex=r"^[0-9a-f]{32}$")
    assert in_requests.count() >= 7
    assert set(in_requests.values_list("request_id", flat=True)) <= {e["request_id"] for e in requests}
