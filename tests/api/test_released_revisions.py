"""The API gives a partner the revision released to it, as the pages do."""

from __future__ import annotations

import pytest

from tests.sharing.test_released_revisions import released  # noqa: F401 - the fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("released")]


def test_the_api_gives_a_partner_the_released_revision(as_user, bob, finding):
    api = as_user(bob)
    body = api.get(f"/api/v1/documents/{finding.code}/").json()
    assert body["title"] == "Cyber uplift finding"
    assert "Secret correction" not in str(body)
    files = api.get(f"/api/v1/documents/{finding.code}/attachments/").json()
    assert [f["filename"] for f in files] == ["early.txt"]


def test_the_api_list_gives_a_partner_the_released_title(as_user, bob, finding):
    body = as_user(bob).get("/api/v1/documents/").json()
    assert "Cyber uplift finding" in str(body) and "Revised title" not in str(body)
