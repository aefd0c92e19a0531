"""Points 2 to 5 and 7: one identity, two affiliations; the host's rules while acting for it; no
carrying across; authorship; the end at the second."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.affiliations import HostAffiliation, acting_for_host, present_as_host_member
from accounts.models import User, clearance_of
from accounts.roles import Role, grant_role, has_role
from audit.access import ViewerScope
from audit.models import Action, AuditEvent
from audit.selectors import visible_events
from exchanges import services
from exchanges.middleware import SESSION_KEY
from exchanges.models import Secondment
from sharing.policy import can_read, readable_documents
from sharing.services.documents import document_create
from sharing.services.release_updates import release_update_approve
from sharing.services.releases import release_approve, release_reinstate, release_request
from tests.factories import (
    AgreementFactory,
    AttachmentFactory,
    DocumentFactory,
    ReadInFactory,
    ReleaseFactory,
    compartment,
    grant_clearance,
    login_verified,
    revise,
    tier,
)

DAY = timedelta(days=1)


def _as_host(user: User, secondment: Secondment) -> User:
    """`user` as the middleware presents them while they act for the host."""
    user = User.objects.get(pk=user.pk)
    present_as_host_member(
        user,
        HostAffiliation(
            secondment_code=str(secondment.code), home=secondment.home, host=secondment.host, role=secondment.role,
            clearance=secondment.clearance, ends_at=secondment.ends_at,
        ),
    )  # fmt: skip
    return user


def _switch(client, secondment, to="host"):
    return client.post(reverse("exchanges:switch", kwargs={"code": secondment.code}), {"to": to})


def _read(client, document):
    return client.get(reverse("sharing:document_detail", kwargs={"code": document.code}))


@pytest.fixture
def uk_only(alice):
    """A UK finding released to nobody."""
    return DocumentFactory(author=alice, title="Host finding", releasable_to=["USA"], risk_domains=["cyber-offence"])


@pytest.fixture
def us_only(hank):
    return DocumentFactory(author=hank, title="Home finding", risk_domains=["cyber-offence"])


def test_the_switch_is_an_audited_post_and_the_header_names_the_host(client, sid, secondment, uk_only):
    login_verified(client, sid)
    assert _read(client, uk_only).status_code == 404
    # Acting for home, the header says so and offers the switch.
    assert (
        b'CAISI</span> <span class="accord-header__secondment">(on secondment to UKASI'
        in client.get(reverse("home")).content
    )
    assert client.get(reverse("exchanges:switch", kwargs={"code": secondment.code})).status_code == 405
    assert _switch(client, secondment).status_code == 302
    event = AuditEvent.objects.filter(action=Action.SECONDMENT_SWITCHED).get()
    assert event.details == {"to": "host"} and event.target_id == str(secondment.code)
    page = _read(client, uk_only)
    assert page.status_code == 200
    assert b"acting for UKASI" in page.content and b"seconded from CAISI" in page.content
    _switch(client, secondment, to="home")
    assert _read(client, uk_only).status_code == 404
    assert b"acting for" not in client.get(reverse("home")).content


def test_a_page_shows_home_or_host_material_never_both(client, sid, secondment, uk_only, us_only):
    login_verified(client, sid)
    assert _read(client, us_only).status_code == 200
    _switch(client, secondment)
    assert _read(client, us_only).status_code == 404
    listing = client.get(reverse("sharing:document_list")).content
    assert b"Host finding" in listing and b"Home finding" not in listing


def test_someone_else_cannot_switch_to_a_secondment_not_theirs(client, hank, secondment):
    login_verified(client, hank)
    assert _switch(client, secondment).status_code == 404
    assert SESSION_KEY not in client.session


def test_a_secondment_not_yet_approved_by_both_does_not_let_them_act_for_the_host(client, sid, secondment):
    Secondment.objects.filter(pk=secondment.pk).update(status=Secondment.Status.PROPOSED, host_approved_at=None)
    login_verified(client, sid)
    assert _switch(client, secondment).status_code == 403
    assert SESSION_KEY not in client.session


@pytest.mark.parametrize("how", ["ended early", "reached its end", "agreement suspended"])
def test_host_access_ends_on_the_very_next_request(how, client, sid, secondment, uk_only, olivia):
    login_verified(client, sid)
    _switch(client, secondment)
    assert _read(client, uk_only).status_code == 200
    if how == "ended early":
        services.secondment_end(actor=olivia, secondment=secondment)
    elif how == "reached its end":
        Secondment.objects.filter(pk=secondment.pk).update(ends_at=timezone.now() - timedelta(seconds=1))
    else:
        type(secondment.agreement).objects.filter(pk=secondment.agreement_id).update(status="suspended")
    assert _read(client, uk_only).status_code == 404
    assert SESSION_KEY not in client.session
    fell_back = AuditEvent.objects.get(action=Action.SECONDMENT_FELL_BACK)
    assert fell_back.actor_id == sid.pk and fell_back.target_id == str(secondment.code)
    home = client.get(reverse("home")).content
    assert b"acting for" not in home and b"on secondment" not in home


def test_the_clearance_is_the_hosts_grant_capped_by_the_homes(sid, secondment, alice):
    secret = DocumentFactory(author=alice, tier="secret", releasable_to=["USA"])
    official = DocumentFactory(author=alice, tier="official", releasable_to=["USA"])
    host_side = _as_host(sid, secondment)
    assert clearance_of(host_side).code == "official-sensitive"  # host grants SECRET, home attests O-S
    assert not can_read(host_side, secret) and can_read(host_side, official)
    assert set(readable_documents(host_side)) == {official}
    grant_clearance(sid, "secret")
    assert can_read(_as_host(sid, secondment), secret)
    Secondment.objects.filter(pk=secondment.pk).update(clearance=tier("official"))
    secondment.refresh_from_db()
    lower = _as_host(sid, secondment)
    assert clearance_of(lower).code == "official"
    assert set(readable_documents(lower)) == {official}


def test_only_the_hosts_own_read_ins_count_at_the_host(sid, secondment, alice, ukasi, usaisi):
    uk_programme = compartment("uk-cbrn", owner=ukasi)
    us_programme = compartment("us-joint", owner=usaisi)
    in_uk = DocumentFactory(author=alice, compartments=[uk_programme], releasable_to=["USA"])
    in_us = DocumentFactory(author=alice, compartments=[us_programme], releasable_to=["USA"])
    ReadInFactory(user=sid, compartment=us_programme)
    host_side = _as_host(sid, secondment)
    assert not can_read(host_side, in_uk) and not can_read(host_side, in_us)
    ReadInFactory(user=sid, compartment=uk_programme)
    host_side = _as_host(sid, secondment)
    assert can_read(host_side, in_uk) and not can_read(host_side, in_us)
    assert set(readable_documents(host_side)) == {in_uk}


def test_partner_material_received_by_the_host_needs_the_agreements_term(sid, secondment, hank, ukasi, usaisi, rory):
    from_us = DocumentFactory(author=hank, releasable_to=["GBR"], risk_domains=["cyber-offence"])
    ReleaseFactory(document=from_us, agreement=secondment.agreement, recipient=ukasi)
    uk_colleague = rory
    assert can_read(uk_colleague, from_us)
    host_side = _as_host(sid, secondment)
    decision = can_read(host_side, from_us)
    assert not decision and decision.reason == "secondee_partner_material"
    assert from_us not in readable_documents(host_side)
    allowing = AgreementFactory(parties=[ukasi, usaisi], seconded_staff_read_partner_material=True)
    ReleaseFactory(document=from_us, agreement=allowing, recipient=ukasi)
    assert can_read(host_side, from_us)
    assert from_us in readable_documents(host_side)


def test_an_analyst_writes_for_the_host_and_a_reviewer_does_not(sid, secondment):
    host_side = _as_host(sid, secondment)
    assert has_role(host_side, Role.AUTHOR, secondment.host)
    assert not has_role(host_side, Role.AUTHOR, secondment.home)  # nor the home's own roles
    document = document_create(actor=host_side, title="Written at the host", tier=tier("official"))
    assert document.originator == secondment.host and document.author_id == sid.pk
    Secondment.objects.filter(pk=secondment.pk).update(role="reviewer")
    secondment.refresh_from_db()
    assert not has_role(_as_host(sid, secondment), Role.AUTHOR, secondment.host)


def test_a_home_admin_acting_for_the_host_holds_no_admin_role_anywhere(ursula, ukasi, usaisi, exchange_agreement):
    now = timezone.now()
    secondment = Secondment.objects.create(
        person=ursula, home=usaisi, host=ukasi, agreement=exchange_agreement, starts_at=now - DAY,
        ends_at=now + DAY, role="reviewer", clearance=tier("secret"), purpose="p", status="approved",
        proposed_by=ursula,
    )  # fmt: skip
    host_side = _as_host(ursula, secondment)
    for organisation in (ukasi, usaisi):
        for role in Role:
            assert not has_role(host_side, role, organisation)


def test_saving_the_presented_user_keeps_the_home_organisation(sid, secondment):
    host_side = _as_host(sid, secondment)
    host_side.display_name = "Sid S."
    host_side.save()
    stored = User.objects.get(pk=sid.pk)
    assert stored.organisation_id == secondment.home_id and stored.display_name == "Sid S."
    assert host_side.organisation_id == secondment.host_id and acting_for_host(host_side) is not None


def test_no_carrying_home_nor_into_the_host(sid, secondment, uk_only, exchange_agreement, usaisi, ukasi, alice):
    # A UK colleague may ask for the same release: the refusal is the secondee's alone.
    release_request(actor=alice, document=uk_only, agreement=exchange_agreement, recipients=[usaisi], justification="x")
    host_side = _as_host(sid, secondment)
    with pytest.raises(ValidationError) as caught:
        release_request(
            actor=host_side, document=uk_only, agreement=exchange_agreement, recipients=[usaisi], justification="x"
        )
    assert caught.value.code == "secondee_carries_across"
    home_side = User.objects.get(pk=sid.pk)
    at_home = DocumentFactory(author=home_side, releasable_to=["GBR"], risk_domains=["cyber-offence"])
    with pytest.raises(ValidationError) as caught:
        release_request(
            actor=home_side, document=at_home, agreement=exchange_agreement, recipients=[ukasi], justification="x"
        )
    assert caught.value.code == "secondee_carries_across"


def test_no_attaching_into_a_home_document_while_acting_for_the_host(client, sid, secondment, us_only, media):
    mine = DocumentFactory(author=sid, title="Sid's home note")
    login_verified(client, sid)
    _switch(client, secondment)
    for document in (mine, us_only):
        url = reverse("sharing:attachment_upload", kwargs={"code": document.code})
        assert client.post(url, {}).status_code == 404


def test_the_host_admin_sees_a_hand_over_list_and_the_home_admin_does_not(client, sid, secondment, olivia, ursula):
    document_create(actor=_as_host(sid, secondment), title="Written at the host", tier=tier("official"))
    url = reverse("exchanges:handover", kwargs={"code": secondment.code})
    login_verified(client, olivia)
    page = client.get(url)
    assert page.status_code == 200 and b"Written at the host" in page.content
    login_verified(client, ursula)
    assert client.get(url).status_code == 403


def test_home_admins_see_the_switches_but_not_what_was_read_at_the_host(
    client, sid, secondment, uk_only, usaisi, ukasi
):
    login_verified(client, sid)
    _switch(client, secondment)
    _read(client, uk_only)
    _switch(client, secondment, to="home")
    home = visible_events(ViewerScope(everything=False, organisation_ids=frozenset({usaisi.pk})))
    host = visible_events(ViewerScope(everything=False, organisation_ids=frozenset({ukasi.pk})))
    assert home.filter(action=Action.SECONDMENT_SWITCHED).count() == 2
    assert not home.filter(action=Action.DOCUMENT_VIEWED, target_id=str(uk_only.code)).exists()
    assert host.filter(action=Action.DOCUMENT_VIEWED, target_id=str(uk_only.code), actor_id=sid.pk).exists()
    assert host.filter(action=Action.SECONDMENT_SWITCHED).count() == 2


def test_a_download_at_the_host_is_in_the_hosts_access_history(client, sid, secondment, uk_only, ukasi, usaisi, media):
    attachment = AttachmentFactory(document=uk_only, uploaded_by=uk_only.author, filename="range.csv")
    login_verified(client, sid)
    _switch(client, secondment)
    response = client.get(reverse("sharing:attachment_download", kwargs={"code": attachment.code}))
    assert response.status_code == 200
    b"".join(response.streaming_content)
    download = AuditEvent.objects.get(action=Action.ATTACHMENT_DOWNLOADED, actor_id=sid.pk)
    assert download.organisation_id == ukasi.pk
    host = visible_events(ViewerScope(everything=False, organisation_ids=frozenset({ukasi.pk})))
    home = visible_events(ViewerScope(everything=False, organisation_ids=frozenset({usaisi.pk})))
    assert host.filter(seq=download.seq).exists() and not home.filter(seq=download.seq).exists()


def test_a_secondee_release_officer_cannot_pass_home_material_to_the_host_by_approving_it(
    sid, secondment, hank, exchange_agreement, ukasi
):
    """Approving is carrying too: a release, an update of one, or a reinstatement, to the other
    side of the secondment, by the secondee's hand (at home in the browser, or through the API,
    which always acts for home)."""
    grant_role(sid, Role.RELEASE_OFFICER, secondment.home)
    home_side = User.objects.get(pk=sid.pk)
    finding = DocumentFactory(author=hank, releasable_to=["GBR"], risk_domains=["cyber-offence"])
    (requested,) = release_request(
        actor=hank, document=finding, agreement=exchange_agreement, recipients=[ukasi], justification="x"
    )
    with pytest.raises(ValidationError) as caught:
        release_approve(actor=home_side, release=requested, reason="")
    assert caught.value.code == "secondee_carries_across"
    requested.refresh_from_db()
    assert requested.status == "requested"

    released = DocumentFactory(author=hank, releasable_to=["GBR"], risk_domains=["cyber-offence"])
    approved = ReleaseFactory(document=released, agreement=exchange_agreement, recipient=ukasi, decided_by=hank)
    revise(released, body="A newer revision")
    with pytest.raises(ValidationError) as caught:
        release_update_approve(actor=home_side, release=approved, revision=released.revision)
    assert caught.value.code == "secondee_carries_across"
    approved.refresh_from_db()
    assert approved.revision.number < released.revision

    approved.status = "suspended"
    approved.save(update_fields=["status"])
    with pytest.raises(ValidationError) as caught:
        release_reinstate(actor=home_side, release=approved)
    assert caught.value.code == "secondee_carries_across"
    refused = AuditEvent.objects.filter(outcome="denied", details__reason="secondee_carries_across")
    assert refused.count() == 3
