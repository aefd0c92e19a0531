from __future__ import annotations

import io

import pytest

from accounts.models import Tier
from sharing.attachments import attachment_create_from_stream
from sharing.models import Attachment, Document
from tests.factories import UserFactory, give_role, grant_clearance
from tests.sharing import world


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Each test stores ciphertext in its own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ACCORD_ATTACHMENT_SEGMENT_SIZE = 64 * 1024
    return settings.MEDIA_ROOT


@pytest.fixture
def document(alice, ukasi):
    return Document.objects.create(
        title="Uplift evaluation", originator=ukasi, author=alice, tier=Tier.objects.get(code="official")
    )


@pytest.fixture
def make_attachment(alice, document, django_capture_on_commit_callbacks):
    """Upload bytes through the stream service; the scan runs on commit, as in production."""

    def _make(data: bytes = b"hello, world\n", filename: str = "notes.txt", content_type: str = "text/plain", **kw):
        with django_capture_on_commit_callbacks(execute=True):
            attachment = attachment_create_from_stream(
                actor=kw.pop("actor", alice),
                document=kw.pop("document", document),
                stream=io.BytesIO(data),
                filename=filename,
                content_type=content_type,
                **kw,
            )
        return Attachment.objects.get(pk=attachment.pk)

    return _make


def blob_path(media, attachment: Attachment):
    return media / attachment.blob_name


@pytest.fixture
def canada(db):
    return world.org("caaisi", "CAN")


@pytest.fixture
def portal_admin(db):
    return UserFactory(email="pat@accord.example", display_name="Pat Portaladmin", organisation=None, is_staff=True)


@pytest.fixture
def rita(ukasi):
    """The UK release officer, cleared to SECRET."""
    user = UserFactory(email="rita@ukasi.example", display_name="Rita Releaser", organisation=ukasi)
    give_role(user, "release_officer")
    grant_clearance(user, "secret")
    return user


@pytest.fixture
def uk_us_agreement(ukasi, usaisi, portal_admin):
    return world.agreement(parties=[ukasi, usaisi], created_by=portal_admin, reference="UK-US-1")


@pytest.fixture
def finding(ukasi, alice):
    """A published UK finding at OFFICIAL-SENSITIVE, releasable to the US, about cyber offence."""
    return world.document(originator=ukasi, author=alice, title="Cyber uplift finding")
