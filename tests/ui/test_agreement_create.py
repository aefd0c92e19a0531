"""Drafting an agreement in the portal (portal admins only), its signed MoU encrypted on the way
in, and the MoU download for the parties."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from audit.models import Action, AuditEvent
from sharing.models import Attachment, RiskDomain, SharingAgreement
from tests.factories import AgreementFactory, PersonFactory, tier

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

CREATE = reverse("sharing:agreement_create")
MOU_BYTES = b"Memorandum of understanding between the institutes. Signed.\n" * 50


@pytest.fixture
def staff(ukasi):
    return PersonFactory(email="pat@accord.example", display_name="Pat Portal", organisation=ukasi, is_staff=True)


def form_data(*parties, **changes):
    now = timezone.now()
    data = {
        "reference": "UK-US-2027-01",
        "title": "Joint frontier evaluations",
        "parties": [str(org.pk) for org in parties],
        "effective_from": now.strftime("%Y-%m-%dT%H:%M"),
        "expires_at": (now + timedelta(days=365)).strftime("%Y-%m-%dT%H:%M"),
        "tier_ceiling": str(tier("official-sensitive").pk),
        "risk_domains": [str(RiskDomain.objects.get(code="cyber-offence").pk)],
        "onward_sharing": "on",
        "retention_days": "730",
    }
    data.update(changes)
    return data


def blobs(media) -> list:
    return [p for p in media.rglob("*") if p.is_file()]


def _draft(client, data, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(CREATE, data)


def test_staff_drafts_an_agreement_with_an_encrypted_mou(
    verified_client, staff, ukasi, usaisi, bob, media, django_capture_on_commit_callbacks
):
    client = verified_client(staff)
    assert "Draft an agreement" in client.get(reverse("sharing:agreement_list")).content.decode()
    page = client.get(CREATE)
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.content.decode()
    data = form_data(ukasi, usaisi, mou=SimpleUploadedFile("signed mou.txt", MOU_BYTES, "text/plain"))
    response = _draft(client, data, django_capture_on_commit_callbacks)
    agreement = SharingAgreement.objects.get(reference="UK-US-2027-01")
    assert response.status_code == 302 and response["Location"] == reverse(
        "sharing:agreement_detail", args=[agreement.code]
    )
    assert agreement.status == SharingAgreement.Status.DRAFT and agreement.onward_sharing
    assert {p.organisation_id for p in agreement.party_rows.all()} == {ukasi.pk, usaisi.pk}
    assert agreement.retention_days == 730
    mou = agreement.mou
    assert mou.document is None and mou.organisation_id == ukasi.pk  # the admin's own, a party
    assert mou.size == len(MOU_BYTES) and mou.scan_status == Attachment.ScanStatus.CLEAN
    # Only ciphertext was written, and only the one blob.
    [blob] = blobs(media)
    assert b"Memorandum" not in blob.read_bytes()
    assert AuditEvent.objects.filter(action=Action.AGREEMENT_CREATED, outcome="allowed").count() == 1
    assert AuditEvent.objects.filter(action=Action.ATTACHMENT_UPLOADED, target_id=str(mou.code)).exists()
    # A party's member downloads the same bytes from the detail page's link.
    client.logout()
    reader = verified_client(bob)
    detail = reader.get(reverse("sharing:agreement_detail", args=[agreement.code])).content.decode()
    url = reverse("sharing:agreement_mou", args=[agreement.code])
    assert url in detail and "signed mou.txt" in detail
    download = reader.get(url)
    assert download.status_code == 200 and b"".join(download.streaming_content) == MOU_BYTES
    assert AuditEvent.objects.filter(action=Action.ATTACHMENT_DOWNLOADED, actor_id=bob.pk).exists()


def test_a_staff_member_outside_the_parties_seals_the_mou_under_a_partys_key(
    verified_client, ukasi, usaisi, canada, media, django_capture_on_commit_callbacks
):
    admin = PersonFactory(organisation=canada, is_staff=True)
    data = form_data(ukasi, usaisi, mou=SimpleUploadedFile("mou.txt", MOU_BYTES, "text/plain"))
    assert _draft(verified_client(admin), data, django_capture_on_commit_callbacks).status_code == 302
    mou = SharingAgreement.objects.get().mou
    assert mou.organisation_id in {ukasi.pk, usaisi.pk}
    # Re-sealed: the provisional blob is gone, the one left is ciphertext and reads back.
    [blob] = blobs(media)
    assert b"Memorandum" not in blob.read_bytes()
    from vault.attachments import open_plaintext

    with open_plaintext(mou.code) as stream:
        assert stream.read() == MOU_BYTES


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ("one_party", "parties"),
        ("expiry_first", "expires_at"),
        ("garbage_dates", "effective_from"),
        ("no_topics", "risk_domains"),
        ("zero_retention", "retention_days"),
    ],
)
def test_bad_input_gives_form_errors_and_creates_nothing(
    verified_client, staff, ukasi, usaisi, media, change, field, django_capture_on_commit_callbacks
):
    now = timezone.now()
    parties = (ukasi,) if change == "one_party" else (ukasi, usaisi)
    changes = {
        "one_party": {},
        "expiry_first": {"expires_at": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")},
        "garbage_dates": {"effective_from": "next tuesday-ish", "expires_at": "2027-02-30T25:00"},
        "no_topics": {"risk_domains": []},
        "zero_retention": {"retention_days": "0"},
    }[change]
    data = form_data(*parties, mou=SimpleUploadedFile("mou.txt", MOU_BYTES, "text/plain"), **changes)
    response = _draft(verified_client(staff), data, django_capture_on_commit_callbacks)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert "There is a problem" in response.content.decode()
    assert not SharingAgreement.objects.exists() and not Attachment.objects.exists()
    assert blobs(media) == []  # the sealed upload was discarded
    assert AuditEvent.objects.filter(action=Action.AGREEMENT_CREATED, outcome="denied").exists()


def test_a_reference_already_taken_is_a_form_error_from_the_service(
    verified_client, staff, ukasi, usaisi, media, django_capture_on_commit_callbacks
):
    client = verified_client(staff)
    assert _draft(client, form_data(ukasi, usaisi), django_capture_on_commit_callbacks).status_code == 302
    data = form_data(ukasi, usaisi, mou=SimpleUploadedFile("mou.txt", MOU_BYTES, "text/plain"))
    response = _draft(client, data, django_capture_on_commit_callbacks)
    assert response.status_code == 400
    assert "reference" in response.context["form"].errors
    assert SharingAgreement.objects.count() == 1 and not Attachment.objects.exists()
    assert blobs(media) == []


def test_anonymous_is_sent_to_sign_in_and_nothing_is_drafted(client, ukasi, usaisi, staff, media):
    for response in (
        client.get(CREATE),
        client.post(CREATE, form_data(ukasi, usaisi, mou=SimpleUploadedFile("mou.txt", MOU_BYTES))),
        client.get(reverse("sharing:agreement_mou", args=["6b1c7d5e-7f0a-4a53-9d7e-0c1f2a3b4c5d"])),
    ):
        assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
    assert not SharingAgreement.objects.exists() and blobs(media) == []


def test_outsider_without_staff_gets_403_like_the_other_admin_steps(verified_client, olivia, ukasi, usaisi, media):
    client = verified_client(olivia)  # an organisation admin, not a portal admin
    assert client.get(CREATE).status_code == 403
    response = client.post(CREATE, form_data(ukasi, usaisi, mou=SimpleUploadedFile("mou.txt", MOU_BYTES)))
    assert response.status_code == 403
    assert not SharingAgreement.objects.exists() and blobs(media) == []
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, actor_id=olivia.pk).count() == 2
    assert "Draft an agreement" not in client.get(reverse("sharing:agreement_list")).content.decode()


def test_outsider_of_the_agreement_gets_404_for_its_mou_like_a_missing_one(
    verified_client, staff, ukasi, usaisi, canada, django_capture_on_commit_callbacks
):
    data = form_data(ukasi, usaisi, mou=SimpleUploadedFile("mou.txt", MOU_BYTES, "text/plain"))
    _draft(verified_client(staff), data, django_capture_on_commit_callbacks)
    agreement = SharingAgreement.objects.get()
    stranger = PersonFactory(organisation=canada)
    client = verified_client(stranger)
    assert client.get(reverse("sharing:agreement_mou", args=[agreement.code])).status_code == 404
    assert (
        client.get(reverse("sharing:agreement_mou", args=["6b1c7d5e-7f0a-4a53-9d7e-0c1f2a3b4c5d"])).status_code == 404
    )
    denials = AuditEvent.objects.filter(action=Action.ACCESS_DENIED, actor_id=stranger.pk, outcome="denied")
    assert denials.count() == 2


def test_mou_is_404_until_clean_and_for_an_agreement_without_one(
    verified_client, staff, ukasi, usaisi, alice, django_capture_on_commit_callbacks
):
    client = verified_client(staff)
    client.post(CREATE, form_data(ukasi, usaisi, mou=SimpleUploadedFile("mou.txt", MOU_BYTES, "text/plain")))
    agreement = SharingAgreement.objects.get()
    assert agreement.mou.scan_status == Attachment.ScanStatus.PENDING  # the scan has not run
    client.logout()
    reader = verified_client(alice)
    assert reader.get(reverse("sharing:agreement_mou", args=[agreement.code])).status_code == 404
    plain = AgreementFactory(reference="NO-MOU", parties=[ukasi], status="draft", created_by=staff)
    assert reader.get(reverse("sharing:agreement_mou", args=[plain.code])).status_code == 404


def test_get_only_mou_download_refuses_post_with_405(verified_client, staff):
    response = verified_client(staff).post(
        reverse("sharing:agreement_mou", args=["6b1c7d5e-7f0a-4a53-9d7e-0c1f2a3b4c5d"])
    )
    assert response.status_code == 405
