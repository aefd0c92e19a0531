"""The list and detail pages pay each access question once: the filter menu comes from the
cache until a write or a change of the reader retires it, role questions are answered once per
request, and the detail page decides the read once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import ClearanceGrant
from accounts.roles import Role, grant_role, has_role, remembered_roles
from sharing import menus, policy
from sharing.models import Visibility
from tests.factories import DocumentFactory, ReleaseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache(settings):
    """The menu cache on, in the test process's memory cache (one process: it sees every write)."""
    settings.ACCORD_MENU_CACHE = True
    cache.clear()


def test_without_a_shared_cache_the_menu_is_built_every_time(verified_client, alice, settings):
    settings.ACCORD_MENU_CACHE = False
    DocumentFactory(author=alice, model_developer="Acme", model_name="Borealis")
    client = verified_client(alice)
    client.get(reverse("sharing:document_list"))
    with CaptureQueriesContext(connection) as again:
        client.get(reverse("sharing:document_list"))
    assert _menu_queries(again)


def _menu_queries(queries) -> list[str]:
    return [q["sql"] for q in queries if "DISTINCT" in q["sql"].upper() and "model_name" in q["sql"]]


def test_the_filter_menu_is_built_once_then_served_from_the_cache(verified_client, alice):
    DocumentFactory(author=alice, model_developer="Acme", model_name="Borealis")
    client = verified_client(alice)
    with CaptureQueriesContext(connection) as first:
        page = client.get(reverse("sharing:document_list")).content.decode()
    assert _menu_queries(first) and 'value="Borealis"' in page
    with CaptureQueriesContext(connection) as second:
        page = client.get(reverse("sharing:document_list")).content.decode()
    assert not _menu_queries(second) and 'value="Borealis"' in page


def test_a_write_retires_the_cached_menu(verified_client, alice, django_capture_on_commit_callbacks):
    DocumentFactory(author=alice, model_developer="Acme", model_name="Borealis")
    client = verified_client(alice)
    client.get(reverse("sharing:document_list"))
    with django_capture_on_commit_callbacks(execute=True):
        DocumentFactory(author=alice, model_developer="Acme", model_name="Cirrus")
    assert 'value="Cirrus"' in client.get(reverse("sharing:document_list")).content.decode()


def test_the_menu_is_each_readers_own(verified_client, alice, sam):
    """Two members of one organisation read different documents: neither sees the other's menu."""
    DocumentFactory(author=sam, tier="secret", model_developer="Acme", model_name="Secretmodel")
    DocumentFactory(author=sam, tier="official", model_developer="Acme", model_name="Openmodel")
    assert 'value="Secretmodel"' in verified_client(sam).get(reverse("sharing:document_list")).content.decode()
    page = verified_client(alice).get(reverse("sharing:document_list")).content.decode()
    assert 'value="Openmodel"' in page and "Secretmodel" not in page


def test_a_reader_whose_clearance_ends_gets_a_new_menu(verified_client, sam):
    DocumentFactory(author=sam, tier="secret", model_developer="Acme", model_name="Secretmodel")
    client = verified_client(sam)
    assert 'value="Secretmodel"' in client.get(reverse("sharing:document_list")).content.decode()
    ClearanceGrant.objects.filter(user=sam, tier__code="secret").update(revoked_at=timezone.now())
    assert "Secretmodel" not in client.get(reverse("sharing:document_list")).content.decode()


def test_a_cached_menu_lives_no_longer_than_the_next_kept_date(bob, finding, uk_us_agreement, usaisi):
    """A release that ends in a minute bounds the menu's life to that minute."""
    ends = timezone.now() + timedelta(seconds=60)
    ReleaseFactory(document=finding, agreement=uk_us_agreement, recipient=usaisi, expires_at=ends)
    assert Visibility.objects.get().valid_until == ends
    dates = menus._organisation_dates_ahead(usaisi.pk, timezone.now())
    assert min(dates) == ends


def test_role_questions_are_answered_once_per_request(alice, ukasi):
    with remembered_roles():
        assert has_role(alice, Role.AUTHOR, ukasi)
        with CaptureQueriesContext(connection) as again:
            assert has_role(alice, Role.AUTHOR, ukasi)
        assert len(again) == 0
        assert not has_role(alice, Role.RELEASE_OFFICER, ukasi)
        grant_role(alice, Role.RELEASE_OFFICER, ukasi)  # a grant forgets every answer
        assert has_role(alice, Role.RELEASE_OFFICER, ukasi)
    # Outside a request nothing is remembered.
    with CaptureQueriesContext(connection) as outside:
        has_role(alice, Role.AUTHOR, ukasi)
    assert len(outside) >= 1


def test_the_detail_page_decides_the_read_once(verified_client, alice, monkeypatch):
    document = DocumentFactory(author=alice)
    calls = []
    decide = policy._read_decision

    def counted(user, doc):
        calls.append(doc.pk)
        return decide(user, doc)

    monkeypatch.setattr(policy, "_read_decision", counted)
    page = verified_client(alice).get(reverse("sharing:document_detail", args=[document.code]))
    assert page.status_code == 200 and "Edit" in page.content.decode()
    assert calls == [document.pk]
