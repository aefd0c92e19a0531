"""Anonymous and outsider access to attachment URLs not covered elsewhere."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import Action, AuditEvent, Outcome

pytestmark = pytest.mark.django_db


def test_anonymous_destroy_goes_to_login_and_destroys_nothing(make_attachment, client):
    attachment = make_attachment()
    response = client.post(reverse("sharing:attachment_destroy", args=[attachment.code]))
    assert response.status_code == 302 and "/accounts/login" in response["Location"]
    attachment.refresh_from_db()
    assert attachment.wrapped_dek is not None and attachment.destroyed_at is None


def test_outsider_download_is_404_like_a_missing_one_and_audited(make_attachment, verified_client, bob):
    import uuid

    attachment = make_attachment()
    client = verified_client(bob)
    forbidden = client.get(reverse("sharing:attachment_download", args=[attachment.code]))
    missing = client.get(reverse("sharing:attachment_download", args=[uuid.uuid4()]))
    assert forbidden.status_code == missing.status_code == 404
    assert b"hello, world" not in forbidden.content
    assert AuditEvent.objects.filter(
        action=Action.ACCESS_DENIED, actor_id=bob.pk, outcome=Outcome.DENIED, target_id=str(attachment.code)
    ).exists()
    assert not AuditEvent.objects.filter(action=Action.ATTACHMENT_DOWNLOADED).exists()
