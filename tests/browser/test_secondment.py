"""A secondment in a real browser: the US admin proposes seconding a US analyst to the UK
institute, both institutes' admins approve, the analyst switches to acting for the UK, writes and
reads a UK finding, cannot have it released home, and the moment the UK admin ends the
secondment the finding answers 404 on the analyst's next request. Every page is watched for
console errors and CSP violations. (Andrew acts here: no other journey depends on him.)"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.steps import expect_notice, publish, write_finding

pytestmark = pytest.mark.browser

SECONDEE = "andrew@caisi.example"
HOME_ADMIN = "ursula@caisi.example"
HOST_ADMIN = "olivia@ukasi.example"
EXCHANGE_AGREEMENT = "UK-US-EXCHANGE-2026-01"  # seeded by demo/exchanges.py
MOU = "UK-US-MOU-2026-01"


def _approve(session, path: str) -> None:
    session.go(path)
    session.page.get_by_role("button", name="Approve for my organisation").click()
    expect_notice(session, "Approved for your organisation")


def test_a_secondee_works_for_the_host_and_loses_it_at_the_end(open_session):
    token = uuid.uuid4().hex[:8]
    now = datetime.now(UTC)

    # 1. The US admin proposes the secondment.
    home_admin = open_session()
    home_admin.sign_in(HOME_ADMIN)
    page = home_admin.page
    home_admin.go("/secondments/")
    page.get_by_role("link", name="Propose a secondment").click()
    page.wait_for_url("**/secondments/propose/")
    page.get_by_label("Person (their email address)").fill(SECONDEE)
    page.get_by_label("Home").select_option(label="caisi")
    page.get_by_label("Host").select_option(label="ukasi")
    page.get_by_label("Agreement").select_option(label=EXCHANGE_AGREEMENT)
    page.get_by_label("Starts at").fill((now - timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M"))
    page.get_by_label("Ends at").fill((now + timedelta(days=90)).strftime("%Y-%m-%d %H:%M"))
    page.get_by_label("Role").select_option(value="analyst")
    page.get_by_label("Clearance").select_option(label="OFFICIAL-SENSITIVE")
    page.get_by_label("Purpose").fill(f"Three months on the UK safeguards team {token}")
    page.get_by_role("button", name="Propose").click()
    page.wait_for_url(re.compile(r"/secondments/[0-9a-f-]{36}/$"))
    secondment_path = page.url.removeprefix(home_admin.server.url)
    expect(page.locator("main")).to_contain_text("home not yet approved · host not yet approved")

    # 2. An admin of each side approves; only then is it active.
    _approve(home_admin, secondment_path)
    expect(page.locator("main")).not_to_contain_text("active now")
    host_admin = open_session()
    host_admin.sign_in(HOST_ADMIN)
    _approve(host_admin, secondment_path)
    expect(host_admin.page.locator("main")).to_contain_text("active now")

    # 3. The secondee switches to acting for the UK: the header says so.
    secondee = open_session()
    secondee.sign_in(SECONDEE)
    expect(secondee.page.locator(".accord-header")).to_contain_text("on secondment to UKASI")
    secondee.go(secondment_path)
    secondee.page.get_by_role("button", name="Act for UKASI (host)").click()
    expect_notice(secondee, "You are acting for UKASI")
    expect(secondee.page.locator(".accord-header")).to_contain_text("acting for UKASI")

    # 4. ...writes a UK finding (the UK institute is its originator) and reads it.
    finding_path = write_finding(secondee, f"Refusal training holds under paraphrase {token}")
    publish(secondee, finding_path)
    secondee.go(finding_path)
    expect(secondee.page.locator("main")).to_contain_text(f"Refusal training holds under paraphrase {token}")

    # 5. ...and cannot have it released home: the US institute is not eligible, with the reason.
    secondee.page.get_by_role("link", name="Request release").click()
    secondee.page.get_by_label(re.compile(MOU)).check()
    secondee.page.get_by_role("button", name="Show who may receive it").click()
    expect(secondee.page.locator("main")).to_contain_text("a secondee may not release to caisi")

    # 6. The UK admin sees it on the hand-over list, then ends the secondment.
    host_admin.go(secondment_path)
    host_admin.page.get_by_role("link", name="Hand-over list").click()
    expect(host_admin.page.locator("main")).to_contain_text(f"Refusal training holds under paraphrase {token}")
    host_admin.go(secondment_path)
    host_admin.page.get_by_role("button", name="End now").click()
    expect_notice(host_admin, "The secondment has ended")

    # 7. The secondee's very next request falls back to home: the UK finding is not found.
    secondee.go(finding_path, expect_status=404)
    expect(secondee.page.locator(".accord-header")).not_to_contain_text("acting for")
    for session in (home_admin, host_admin, secondee):
        session.assert_clean()
