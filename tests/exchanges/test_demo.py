"""Point 8: the demo's US analyst seconded to the UK institute for six months."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from demo import seed
from demo.exchanges import FINDING_TITLE
from exchanges.models import Secondment
from sharing.models import Document
from tests.factories import login_verified

pytestmark = pytest.mark.django_db


def test_the_demo_seconds_a_us_analyst_to_the_uk_for_six_months_once(client):
    seed.seed_all()
    seed.seed_all()
    secondment = Secondment.objects.get()
    assert (secondment.home.short_name, secondment.host.short_name) == ("caisi", "ukasi")
    assert secondment.is_active_at(timezone.now()) and (secondment.ends_at - secondment.starts_at).days == 182
    written = Document.objects.get(title=FINDING_TITLE)
    assert written.originator == secondment.host and written.author == secondment.person
    sana = User.objects.get(email="sana@caisi.example")
    login_verified(client, sana)
    uk_finding = reverse("sharing:document_detail", kwargs={"code": written.code})
    assert client.get(uk_finding).status_code == 404
    client.post(reverse("exchanges:switch", kwargs={"code": secondment.code}), {"to": "host"})
    page = client.get(uk_finding)
    assert page.status_code == 200 and b"acting for UKASI" in page.content
