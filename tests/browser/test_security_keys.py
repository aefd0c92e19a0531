"""Security keys and passkeys in a real Chromium, with its virtual authenticator (the DevTools
WebAuthn domain, through a Playwright CDP session), on a server that asks privileged roles for a
key as production does and keeps the step-up window to a few seconds.

A release officer signed in with TOTP cannot decide; she enrols a passkey, signs in with it
alone, and approves a release after the window has passed by using the key again; with the key
gone, the step-up fails and nothing is approved.
"""

from __future__ import annotations

import re
import time
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import STEP_UP_SECONDS
from tests.browser.steps import expect_notice, publish, request_release, submit_release, write_finding

pytestmark = pytest.mark.browser

ANALYST = "alice@ukasi.example"
OFFICER = "rachel@ukasi.example"
MOU = "UK-US-MOU-2026-01"


def virtual_authenticator(session) -> tuple[object, str]:
    """A platform authenticator holding passkeys, verifying its user, present at every ask."""
    cdp = session.context.new_cdp_session(session.page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def requested_release(open_key_session, title: str) -> None:
    """An analyst (TOTP is enough for her role) publishes a finding and asks to release it to the US."""
    analyst = open_key_session()
    analyst.sign_in(ANALYST)
    path = write_finding(analyst, title)
    publish(analyst, path)
    request_release(analyst, path, agreement=MOU)
    submit_release(analyst)


def approve(officer, title: str) -> None:
    officer.go("/releases/")
    officer.page.locator(".accord-card", has_text=title).get_by_role("button", name="Approve").click()


def test_officer_enrols_a_passkey_signs_in_with_it_and_approves_after_a_step_up(open_key_session):
    title = f"Passkey-approved finding {uuid.uuid4().hex[:8]}"
    requested_release(open_key_session, title)

    officer = open_key_session()
    page = officer.page
    virtual_authenticator(officer)
    # 1. Signed in with TOTP only, a release officer cannot decide.
    officer.sign_in(OFFICER)
    officer.go("/releases/", expect_status=403)

    # 2. She enrols a passkey on her security page, and names it.
    officer.go("/accounts/security/")
    page.get_by_role("button", name="Add a security key or passkey").click()
    keys = page.locator("#security-keys")
    expect(keys).to_be_visible()
    name = keys.get_by_label(re.compile("^Name of"))
    name.fill("Laptop passkey")
    keys.get_by_role("button", name=re.compile("^Rename")).click()
    expect_notice(officer, "Laptop passkey")

    # 3. She signs out and back in with the passkey alone: no password, no code.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/accounts/login/**")
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.wait_for_url(officer.server.url + "/")
    officer.go("/accounts/security/")
    expect(page.locator("#security-keys")).not_to_contain_text("never")  # last used: now

    # 4. Past the step-up window, approving asks for the key again, then comes back to the queue.
    time.sleep(STEP_UP_SECONDS + 1)
    approve(officer, title)
    page.wait_for_url("**/accounts/verify/**")
    page.get_by_role("button", name="Use my security key or passkey").click()
    page.wait_for_url(officer.server.url + "/releases/")
    assert page.locator(".accord-card", has_text=title).is_visible()  # not approved by the detour
    approve(officer, title)
    expect_notice(officer, "Released")
    officer.assert_clean()


def test_a_step_up_without_the_authenticator_fails_and_approves_nothing(open_key_session):
    title = f"Unapproved finding {uuid.uuid4().hex[:8]}"
    requested_release(open_key_session, title)

    officer = open_key_session()
    page = officer.page
    cdp, authenticator = virtual_authenticator(officer)
    officer.sign_in(OFFICER)
    officer.go("/accounts/security/")
    rows = page.locator("#security-keys tbody tr")
    before = rows.count()  # the first journey's key may be there already
    page.get_by_role("button", name="Add a security key or passkey").click()
    expect(rows).to_have_count(before + 1)
    # Verify the session with the key (the step-up page), so the role may act at all.
    officer.go("/accounts/verify/?next=/releases/")
    page.get_by_role("button", name="Use my security key or passkey").click()
    page.wait_for_url(officer.server.url + "/releases/")

    # The key is unplugged; the window passes; the approval asks for it, and it is not there.
    cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": authenticator})
    time.sleep(STEP_UP_SECONDS + 1)
    approve(officer, title)
    page.wait_for_url("**/accounts/verify/**")
    page.get_by_role("button", name="Use my security key or passkey").click()
    status = page.locator("#passkey-verification-status-message")
    expect(status).to_contain_text(re.compile("aborted|not allowed|failed", re.I), timeout=30_000)
    assert "/accounts/verify/" in page.url
    officer.go("/releases/")
    assert page.locator(".accord-card", has_text=title).get_by_role("button", name="Approve").is_visible()
    # The failed ceremony is the one console error this journey expects.
    officer.watcher.problems = [p for p in officer.watcher.problems if "NotAllowedError" not in p]
