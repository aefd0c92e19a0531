"""A newer revision reaches a partner only when the originator's release officer approves the
update, from the page that shows the difference; until then the partner reads the revision
released to it, and learns nothing of the newer one."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from audit.models import Action, AuditEvent
from audit.reasons import Reason
from sharing.models import Release
from sharing.policy import released_revision
from sharing.services.agreements import agreement_suspend
from sharing.services.release_updates import pending_update, release_update_approve, release_update_decline
from tests.factories import AttachmentFactory, PersonFactory, ReleaseFactory, caveat, login_verified, revise

pytestmark = pytest.mark.django_db

NEW_TITLE = "Revised uplift title"


@pytest.fixture
def release(finding, uk_us_agreement, usaisi, rita):
    """The finding released to the US at revision 1; then its author writes revision 2."""
    release = ReleaseFactory(document=finding, agreement=uk_us_agreement, recipient=usaisi, decided_by=rita)
    revise(finding, title=NEW_TITLE, body="Line one\nA corrected line\nLine three")
    return release


def denied(action):
    return AuditEvent.objects.filter(action=action, outcome="denied")


def test_the_newer_revision_is_pending_and_the_partner_keeps_the_released_one(release, bob, finding):
    assert pending_update(release).number == 2
    assert released_revision(bob, finding).number == 1


def test_approval_moves_the_release_to_the_latest_revision_audited_and_told(
    release, rita, bob, finding, usaisi, django_capture_on_commit_callbacks
):
    uncleared = PersonFactory(organisation=usaisi, clearance="official", email="low@caisi.example")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        release_update_approve(actor=rita, release=release, revision=2, reason="correction")
    assert release.revision.number == 2 and pending_update(release) is None
    assert released_revision(bob, finding).number == 2
    event = AuditEvent.objects.get(action=Action.RELEASE_UPDATE_APPROVED, outcome="allowed")
    assert (event.details["from_revision"], event.details["revision"]) == (1, 2)
    told = {m.to[0] for m in mail.outbox}
    # Only people of the recipient who may read it now; the mail carries no marked content.
    assert bob.email in told and uncleared.email not in told and rita.email not in told
    for message in mail.outbox:
        assert NEW_TITLE not in message.body and finding.title not in message.body
        assert "OFFICIAL" not in message.body and "corrected" not in message.body


def test_decline_keeps_the_partner_on_its_revision_until_a_newer_one(release, rita, bob, finding):
    with pytest.raises(ValidationError):
        release_update_decline(actor=rita, release=release, revision=2, reason=" ")
    assert denied(Action.RELEASE_UPDATE_DECLINED).get().details["reason"] == Reason.DECLINE_REASON_REQUIRED
    release_update_decline(actor=rita, release=release, revision=2, reason="not for partners")
    assert pending_update(release) is None
    assert released_revision(bob, finding).number == 1
    assert AuditEvent.objects.get(action=Action.RELEASE_UPDATE_DECLINED, outcome="allowed").details["revision"] == 2
    revise(finding, body="A third revision")
    assert pending_update(release).number == 3


@pytest.mark.parametrize(
    ("who", "reason"),
    [
        ("alice", Reason.NOT_A_RELEASE_OFFICER_OF_ORIGINATOR),  # the author alone
        ("ursula", Reason.NOT_A_RELEASE_OFFICER_OF_ORIGINATOR),  # the partner's admin
    ],
)
def test_only_the_originators_release_officer_decides(request, release, who, reason):
    actor = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied):
        release_update_approve(actor=actor, release=release, revision=2)
    assert denied(Action.RELEASE_UPDATE_APPROVED).get().details["reason"] == reason
    assert pending_update(release).number == 2


def test_an_officer_who_wrote_the_update_cannot_pass_it_on(release, rita, finding):
    finding.author = rita
    revise(finding, body="The officer's own edit")
    with pytest.raises(PermissionDenied):
        release_update_approve(actor=rita, release=release, revision=3)
    assert denied(Action.RELEASE_UPDATE_APPROVED).get().details["reason"] == Reason.AUTHOR_DECIDES_UPDATE


def test_the_officer_approves_only_the_revision_they_were_shown(release, rita, finding):
    revise(finding, body="Written while the officer read the difference")
    with pytest.raises(ValidationError):
        release_update_approve(actor=rita, release=release, revision=2)
    event = denied(Action.RELEASE_UPDATE_APPROVED).get()
    assert event.details["reason"] == Reason.UPDATE_CHANGED_SINCE_SHOWN and event.details["latest"] == 3
    assert release.revision.number == 1


def test_nothing_to_approve_without_a_newer_revision(finding, uk_us_agreement, usaisi, rita):
    release = ReleaseFactory(document=finding, agreement=uk_us_agreement, recipient=usaisi)
    with pytest.raises(ValidationError):
        release_update_approve(actor=rita, release=release, revision=1)
    assert denied(Action.RELEASE_UPDATE_APPROVED).get().details["reason"] == Reason.NO_UPDATE_PENDING


def test_approval_re_checks_releasability_to_the_recipients_country(release, rita, bob, finding):
    revise(finding, releasable_to=[])  # GBR EYES ONLY, written straight to the database
    with pytest.raises(ValidationError):
        release_update_approve(actor=rita, release=release, revision=3)
    assert denied(Action.RELEASE_UPDATE_APPROVED).get().details["reason"] == Reason.COUNTRY_NOT_RELEASABLE
    assert released_revision(bob, finding).number == 1


def test_approval_re_checks_the_agreement(release, rita, portal_admin, uk_us_agreement):
    agreement_suspend(actor=portal_admin, agreement=uk_us_agreement, reason="review")
    with pytest.raises(ValidationError):
        release_update_approve(actor=rita, release=release, revision=2)
    assert denied(Action.RELEASE_UPDATE_APPROVED).exists()
    release.refresh_from_db()
    assert release.revision.number == 1


# -- pages ---------------------------------------------------------------------------------------


def test_the_difference_page_shows_marking_first_then_text_then_attachments(client, release, rita, finding, media):
    AttachmentFactory(document=finding, filename="added-later.txt")
    finding.caveats.add(caveat())
    revise(finding, tier="official")
    login_verified(client, rita)
    page = client.get(reverse("sharing:release_update", args=[release.code])).content.decode()
    assert "Update pending: revision 1 → 4" in page  # the text (2), the file (3), the re-mark (4)
    marking, text, files = page.index('id="marking"'), page.index('id="text"'), page.index('id="attachments"')
    assert marking < text < files
    assert "ORCON" in page[marking:text] and "OFFICIAL" in page[marking:text]
    assert "A corrected line" in page[text:files] and "accord-diff__added" in page
    assert "added-later.txt" in page[files:]
    assert "<script" not in page.split("</header>")[-1].split("<footer")[0] and "style=" not in page


def test_the_officer_approves_from_the_page_and_the_partner_reads_the_new_revision(client, release, rita, bob, finding):
    login_verified(client, rita)
    response = client.post(
        reverse("sharing:release_update_approve", args=[release.code]), {"revision": 2, "reason": ""}
    )
    assert response.status_code == 302
    client.logout()
    login_verified(client, bob)
    page = client.get(reverse("sharing:document_detail", args=[finding.code])).content.decode()
    assert NEW_TITLE in page and "A corrected line" in page


@pytest.mark.parametrize(("who", "status"), [("bob", 404), ("ursula", 404), ("carl", 404), ("alice", 403)])
def test_a_partner_or_outsider_gets_404_on_the_difference_a_colleague_403(client, request, release, who, status):
    actor = request.getfixturevalue(who)
    login_verified(client, actor)
    for name, method in (
        ("sharing:release_update", client.get),
        ("sharing:release_update_approve", client.post),
        ("sharing:release_update_decline", client.post),
    ):
        response = method(reverse(name, args=[release.code]), {"revision": 2, "reason": "x"})
        assert response.status_code == status
        assert NEW_TITLE not in response.content.decode()
    assert denied(Action.ACCESS_DENIED).filter(details__wanted="release update").count() == 3
    release.refresh_from_db()
    assert release.revision.number == 1


def test_update_pending_shows_on_the_originators_side_only(client, release, rita, alice, bob):
    login_verified(client, rita)
    assert "Update pending" in client.get(reverse("sharing:release_queue")).content.decode()
    assert "Updates pending" in client.get(reverse("home")).content.decode()
    client.logout()
    login_verified(client, alice)
    page = client.get(reverse("sharing:document_detail", args=[release.document.code])).content.decode()
    assert "Update pending" in page
    client.logout()
    login_verified(client, bob)
    for url in (
        reverse("home"),
        reverse("sharing:document_list"),
        reverse("sharing:document_detail", args=[release.document.code]),
    ):
        page = client.get(url).content.decode()
        assert "Update pending" not in page and NEW_TITLE not in page and "revision 2" not in page


# -- API -----------------------------------------------------------------------------------------


def test_the_api_approves_and_declines_updates_for_the_officer_only(client, release, rita, bob, finding):
    from tests.api.conftest import bearer, make_token

    # The partner holds every scope, so only the release gate stands between it and the update.
    partner = bearer(make_token(bob, scopes="decide,read,write"))
    for partner_url in (
        reverse("api:document_detail", args=[finding.code]),
        reverse("api:document_list"),
        reverse("api:release_detail", args=[release.code]),
        reverse("api:release_list"),
    ):
        assert NEW_TITLE not in client.get(partner_url, **partner).content.decode()
    url = reverse("api:release_update_approve", args=[release.code])
    response = client.post(url, {"revision": 2}, content_type="application/json", **partner)
    assert response.status_code == 404 and NEW_TITLE not in response.content.decode()
    # Approving is a decision: a token without the `decide` scope is refused and nothing moves.
    response = client.post(url, {"revision": 2}, content_type="application/json", **bearer(make_token(rita)))
    assert response.status_code == 403 and "decide_scope_missing" in response.content.decode()
    assert Release.objects.get(pk=release.pk).revision.number == 1
    officer = bearer(make_token(rita, scopes="decide,read,write"))
    response = client.post(url, {"revision": 2}, content_type="application/json", **officer)
    assert response.status_code == 200, response.content
    assert Release.objects.get(pk=release.pk).revision.number == 2
    response = client.get(reverse("api:document_detail", args=[finding.code]), **partner)
    assert response.json()["title"] == NEW_TITLE


def test_anonymous_is_sent_to_sign_in_from_the_difference_page(client, release):
    for name, method in (
        ("sharing:release_update", client.get),
        ("sharing:release_update_approve", client.post),
        ("sharing:release_update_decline", client.post),
    ):
        response = method(reverse(name, args=[release.code]))
        assert response.status_code == 302 and "/login" in response["Location"]
    release.refresh_from_db()
    assert release.revision.number == 1
