"""Every row of the step-up table, each proven on its own route: with a key verification older
than the window, the request is sent to verify again before its view runs (nothing done, one
audited refusal); within the window, the view answers.

The decisions of issue 17 item 8 map onto the rows as follows, so a decision without its row
fails here: approving a release (and its update, and a lowered marking), granting a clearance
(grant, approve, renew) or a read-in (grant, nomination approval), signing an agreement or an
exercise's protocol (a joint report, once it exists, adds its row), exporting the audit trail
(the trail, a document's access history), resetting someone's MFA (the organisation admin's
page, the Django admin's authenticator deletion).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import get_resolver, reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import stepup
from api.permissions import DecideScope
from audit.models import Action, AuditEvent, Outcome
from tests.factories import login_with_key, portal_admin_person, totp_device

pytestmark = pytest.mark.django_db

SOME = uuid.uuid4()

# URL name → the arguments of a request to it (an object that does not exist: the view, when it
# runs, answers 404; the step-up, when it is wanted, answers first).
ROUTES: dict[str, list] = {
    "sharing:release_approve": [SOME],
    "sharing:release_update_approve": [SOME],
    "sharing:marking_approve": [SOME],
    "accounts:org_clearance_grant": [SOME],
    "accounts:org_clearance_approve": [SOME],
    "accounts:org_clearance_renew": [SOME],
    "accounts:org_readin_grant": [SOME],
    "accounts:org_nomination_approve": [SOME],
    "sharing:agreement_sign": [SOME],
    "exercises:protocol_sign": [SOME],
    "audit:export": ["csv"],
    "sharing:document_access_export": [SOME],
    "accounts:org_mfa_reset": [SOME],
    "exchanges:approve": [SOME],
    "exchanges:extension_approve": [SOME],
    "admin:otp_totp_totpdevice_delete": [987654],
    "admin:otp_totp_totpdevice_changelist": [],
}

DECISIONS = {
    "approve a release": "sharing:release_approve",
    "approve a release update": "sharing:release_update_approve",
    "approve a lower marking": "sharing:marking_approve",
    "grant a clearance": "accounts:org_clearance_grant",
    "approve a clearance": "accounts:org_clearance_approve",
    "renew a clearance": "accounts:org_clearance_renew",
    "grant a read-in": "accounts:org_readin_grant",
    "approve a read-in nomination": "accounts:org_nomination_approve",
    "sign an agreement": "sharing:agreement_sign",
    "sign an exercise protocol": "exercises:protocol_sign",
    "export the audit trail": "audit:export",
    "export a document's access history": "sharing:document_access_export",
    "reset someone's MFA": "accounts:org_mfa_reset",
    "approve a secondment (the host's clearance for it)": "exchanges:approve",
    "approve a secondment's extension": "exchanges:extension_approve",
    "delete someone's authenticator in the admin": "admin:otp_totp_totpdevice_delete",
    "delete authenticators in bulk in the admin": "admin:otp_totp_totpdevice_changelist",
}


@pytest.fixture
def production(settings):
    settings.ACCORD_PRIVILEGED_TOTP = False


def _age(client, ago: timedelta) -> None:
    session = client.session
    session[stepup.WEBAUTHN_AT] = (datetime.now(UTC) - ago).timestamp()
    session.save()


def _send(client, name: str):
    url = reverse(name, args=ROUTES[name])
    if stepup.STEP_UP_ACTIONS[name] == "GET":
        return client.get(url)
    return client.post(url, {"reason": "r", "post": "yes"}, HTTP_REFERER="http://testserver/")


def test_the_table_is_exactly_the_decisions():
    assert set(DECISIONS.values()) == set(stepup.STEP_UP_ACTIONS) == set(ROUTES)


def _url_names(resolver=None, namespace=""):
    for pattern in (resolver or get_resolver()).url_patterns:
        if hasattr(pattern, "url_patterns"):
            yield from _url_names(pattern, namespace + (f"{pattern.namespace}:" if pattern.namespace else ""))
        elif pattern.name:
            yield namespace + pattern.name, pattern


def test_every_signing_and_export_page_asks_for_a_fresh_key():
    """Signing (an agreement, a protocol, and a report once it exists) and exporting the audit
    trail are step-up decisions wherever a page offers them: a new one without its row fails here."""
    pages = {name for name, _ in _url_names() if not name.startswith("api:")}
    # Exports of the trail: the audit app's, and a document's access history (an exercise's
    # protocol export is a document, not the trail).
    decisions = {name for name in pages if re.search(r"(_sign|^audit:.*export.*|access_export)$", name)}
    assert decisions, "no signing or export page found: the URL names changed"
    assert decisions <= set(stepup.STEP_UP_ACTIONS), decisions - set(stepup.STEP_UP_ACTIONS)


def test_every_api_approval_needs_the_decide_scope():
    approvals = {name: pattern for name, pattern in _url_names() if re.match(r"api:.*_(approve|sign)$", name)}
    assert approvals
    for name, pattern in approvals.items():
        assert DecideScope in pattern.callback.view_class.permission_classes, name


@pytest.fixture
def actor(request, olivia):
    """Who makes the decision: the portal admin for the Django admin's rows, else an org admin."""
    return portal_admin_person(email="pat@accord.example") if request.param.startswith("admin:") else olivia


@pytest.mark.parametrize(("name", "actor"), [(name, name) for name in ROUTES], indirect=["actor"])
def test_a_stale_key_verification_is_asked_again_before_the_view_runs(production, client, actor, name):
    login_with_key(client, actor)
    _age(client, timedelta(minutes=5, seconds=5))
    before = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    response = _send(client, name)
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:step_up") + "?next=")
    # The only trace is the refusal: the view never ran (it would have audited its own 404).
    [event] = AuditEvent.objects.filter(seq__gt=before)
    assert event.action == Action.AUTH_STEP_UP_NEEDED and event.outcome == Outcome.DENIED
    assert event.details["action"] == name


@pytest.mark.parametrize(("name", "actor"), [(name, name) for name in ROUTES], indirect=["actor"])
def test_a_fresh_key_verification_lets_the_view_answer(production, client, actor, name):
    login_with_key(client, actor)
    _age(client, timedelta(minutes=4, seconds=50))
    response = _send(client, name)
    assert not (response.status_code == 302 and response.url.startswith(reverse("accounts:step_up")))
    assert not AuditEvent.objects.filter(action=Action.AUTH_STEP_UP_NEEDED).exists()


def test_deleting_an_authenticator_in_the_admin_with_a_stale_key_keeps_it(production, client, alice):
    device = totp_device(alice)
    admin = portal_admin_person(email="root@accord.example", is_superuser=True)  # may delete devices
    login_with_key(client, admin)
    _age(client, timedelta(minutes=6))
    url = reverse("admin:otp_totp_totpdevice_delete", args=[device.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    form = {"action": "delete_selected", "_selected_action": [device.pk], "post": "yes"}
    assert client.post(reverse("admin:otp_totp_totpdevice_changelist"), form).status_code == 302
    assert TOTPDevice.objects.filter(pk=device.pk).exists()
    assert not AuditEvent.objects.filter(action=Action.AUTH_MFA_RESET).exists()
    _age(client, timedelta(seconds=5))
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not TOTPDevice.objects.filter(pk=device.pk).exists()
    assert AuditEvent.objects.filter(action=Action.AUTH_MFA_RESET).exists()


def test_exporting_a_documents_access_history_with_a_stale_key_exports_nothing(production, client, olivia, finding):
    login_with_key(client, olivia)
    _age(client, timedelta(minutes=6))
    url = reverse("sharing:document_access_export", args=[finding.code])
    response = client.get(url)
    assert response.status_code == 302 and "access.csv" in response.url
    assert not AuditEvent.objects.filter(action=Action.AUDIT_EXPORTED).exists()
    _age(client, timedelta(seconds=5))
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert AuditEvent.objects.filter(action=Action.AUDIT_EXPORTED).exists()
