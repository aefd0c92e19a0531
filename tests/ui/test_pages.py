"""What the pages show: banners at the highest marking, portion marks, filters, the home inbox,
error pages that reveal nothing, and markup that holds under the strict CSP."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Tier
from sharing.models import Caveat, Release, RiskDomain
from sharing.views.tiers import text_colour_for
from tests.factories import AgreementFactory, DocumentFactory, ReadInFactory, ReleaseFactory, give_role, grant_clearance
from tests.ui.support import assert_no_inline_code

pytestmark = pytest.mark.django_db


def _banners(html: str) -> list[str]:
    return re.findall(r'data-classification="([^"]*)"', html)


def test_detail_page_has_the_documents_banner_at_top_and_bottom(verified_client, alice, gbr_usa):
    document = DocumentFactory(author=alice, releasable_to=gbr_usa, compartments=["joint-ex-1"])
    ReadInFactory(user=alice, compartment="joint-ex-1")
    html = verified_client(alice).get(reverse("sharing:document_detail", args=[document.code])).content.decode()
    assert _banners(html) == ["OFFICIAL-SENSITIVE // REL TO USA, GBR // JOINT-EX-1"] * 2
    assert html.index("accord-banner--top") < html.index("accord-header")
    assert html.rindex("accord-banner--bottom") > html.index("accord-footer")
    assert "accord-tier-official-sensitive" in html


def test_banner_uses_the_viewers_own_word_for_the_tier(verified_client, alice, bob, gbr_usa):
    document = DocumentFactory(author=alice, releasable_to=gbr_usa)
    from sharing.views.banners import banner_for, mark_for

    assert banner_for([document], bob).text == "CUI // REL TO USA, GBR"
    assert banner_for([document], alice).text == "OFFICIAL-SENSITIVE // REL TO USA, GBR"
    assert mark_for(document, alice).text == "(OS//REL TO USA, GBR)"


def test_eyes_only_and_caveats_are_marked(verified_client, alice):
    document = DocumentFactory(author=alice)
    document.caveats.add(Caveat.objects.get(code="orcon"))
    html = verified_client(alice).get(reverse("sharing:document_detail", args=[document.code])).content.decode()
    assert _banners(html)[0] == "OFFICIAL-SENSITIVE // GBR EYES ONLY // ORCON"


def test_list_banner_reads_the_highest_marking_and_each_row_has_its_portion_mark(verified_client, olivia, gbr_usa):
    DocumentFactory(author=olivia, title="Low finding", tier="official", releasable_to=gbr_usa)
    DocumentFactory(author=olivia, title="High finding", tier="secret", releasable_to=gbr_usa)
    html = verified_client(olivia).get(reverse("sharing:document_list")).content.decode()
    assert _banners(html) == ["SECRET // REL TO USA, GBR"] * 2
    assert "(O//REL TO USA, GBR)" in html
    assert "(S//REL TO USA, GBR)" in html


def test_list_shows_only_readable_documents(verified_client, alice, olivia):
    DocumentFactory(author=olivia, title="Above her clearance", tier="secret")
    DocumentFactory(author=alice, title="Within her clearance")
    html = verified_client(alice).get(reverse("sharing:document_list")).content.decode()
    assert "Within her clearance" in html
    assert "Above her clearance" not in html
    assert "SECRET //" not in html


def test_list_filters_and_search(verified_client, alice):
    cyber = RiskDomain.objects.get(code="cyber-offence")
    DocumentFactory(
        author=alice, title="Exploit chains", body="autonomous exploitation of web services", model_name="Atlas"
    )
    DocumentFactory(author=alice, title="Persuasion study", tier="official", model_name="Borealis").risk_domains.add(
        RiskDomain.objects.get(code="persuasion")
    )
    DocumentFactory(author=alice, title="Draft on cyber", status="draft").risk_domains.add(cyber)
    client = verified_client(alice)

    def titles(**params):
        html = client.get(reverse("sharing:document_list"), params).content.decode()
        return {t for t in ["Exploit chains", "Persuasion study", "Draft on cyber"] if t in html}

    official = Tier.objects.get(code="official")
    assert titles(text="exploitation") == {"Exploit chains"}
    assert titles(tier=official.pk) == {"Persuasion study"}
    assert titles(risk_domain="cyber-offence") == {"Draft on cyber"}
    assert titles(model_name="Borealis") == {"Persuasion study"}
    assert titles(status="draft") == {"Draft on cyber"}
    assert titles(originator="ukasi") == {"Exploit chains", "Persuasion study", "Draft on cyber"}


def test_list_is_paginated(verified_client, alice):
    for n in range(27):
        DocumentFactory(author=alice, title=f"Finding number {n:02d}")
    client = verified_client(alice)
    first = client.get(reverse("sharing:document_list")).content.decode()
    second = client.get(reverse("sharing:document_list"), {"page": 2}).content.decode()
    assert "Page 1" in first and "Finding number 26" in first and "Finding number 00" not in first
    assert "Documents 1 to 25" in first and 'rel="next"' in first and 'rel="prev"' not in first
    assert "Finding number 00" in second and "Finding number 26" not in second
    assert "Documents 26 to 27" in second and 'rel="next"' not in second and 'rel="prev"' in second


def test_list_counts_exactly_when_one_page_holds_them(verified_client, alice):
    for n in range(24):
        DocumentFactory(author=alice, title=f"Finding number {n:02d}")
    page = verified_client(alice).get(reverse("sharing:document_list")).content.decode()
    assert "24 documents" in page
    assert 'rel="next"' not in page and "more than the pages reach" not in page


def test_list_never_counts_the_readable_documents(verified_client, alice):
    """The page fetches its rows and one more to know there is a next page: no COUNT."""
    for n in range(27):
        DocumentFactory(author=alice, title=f"Finding number {n:02d}")
    client = verified_client(alice)
    client.get(reverse("sharing:document_list"))  # warm the session and the filter menu
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("sharing:document_list")).status_code == 200
    assert not [q["sql"] for q in queries if q["sql"].upper().startswith("SELECT COUNT(")]
    assert [q["sql"] for q in queries if "LIMIT 26" in q["sql"]], "one extra row tells whether there is a next page"


def test_list_stops_at_the_deepest_page_and_asks_for_a_filter(verified_client, alice, monkeypatch):
    monkeypatch.setattr("sharing.pagination.MAX_PAGE", 2)
    monkeypatch.setattr("sharing.views.documents.PAGE_SIZE", 10)
    for n in range(30):
        DocumentFactory(author=alice, title=f"Finding number {n:02d}")
    client = verified_client(alice)
    second = client.get(reverse("sharing:document_list"), {"page": 2}).content.decode()
    assert "Documents 11 to 20, and more than the pages reach" in second
    assert "narrow them with a filter" in second
    assert 'rel="next"' not in second
    # Asking for a page beyond them shows the deepest one, never the rows past it.
    third = client.get(reverse("sharing:document_list"), {"page": 3}).content.decode()
    assert "Finding number 10" in third and "Finding number 09" not in third


def test_home_shows_what_needs_me_now(verified_client, alice, rory, bob, ukasi, usaisi, gbr_usa):
    draft = DocumentFactory(author=alice, title="My unfinished draft", status="draft")
    published = DocumentFactory(author=alice, title="Ready to share", releasable_to=gbr_usa)
    agreement = AgreementFactory(parties=[ukasi, usaisi])
    ReleaseFactory(document=published, agreement=agreement, recipient=usaisi, status="requested")
    alice_home = verified_client(alice).get(reverse("home")).content.decode()
    assert draft.title in alice_home
    assert "Releases awaiting your approval" not in alice_home
    assert _banners(alice_home)[0].startswith("OFFICIAL-SENSITIVE")

    rory_home = verified_client(rory).get(reverse("home")).content.decode()
    assert "Releases awaiting your approval" in rory_home
    assert "Ready to share" in rory_home


def test_home_lists_new_releases_to_my_organisation_only_when_i_may_read_them(
    verified_client, alice, rory, bob, ukasi, usaisi, gbr_usa
):
    readable = DocumentFactory(author=alice, title="Released and readable", releasable_to=gbr_usa)
    eyes_only = DocumentFactory(author=alice, title="Released but eyes only")
    agreement = AgreementFactory(parties=[ukasi, usaisi])
    ReleaseFactory(document=readable, agreement=agreement, recipient=usaisi, status=Release.Status.APPROVED)
    ReleaseFactory(document=eyes_only, agreement=agreement, recipient=usaisi, status=Release.Status.APPROVED)
    html = verified_client(bob).get(reverse("home")).content.decode()
    assert "Released but eyes only" not in html


def test_home_warns_about_expiring_clearances_and_agreements(verified_client, alice, olivia, ukasi, usaisi, rory):
    grant_clearance(alice, "official", days=5)
    agreement = AgreementFactory(parties=[ukasi, usaisi])
    agreement.expires_at = timezone.now() + timedelta(days=20)
    agreement.save(update_fields=["expires_at"])
    html = verified_client(olivia).get(reverse("home")).content.decode()
    assert "Alice Analyst" in html
    assert agreement.reference in html


def test_tier_stylesheet_colours_each_tier_with_readable_text(client):
    css = client.get(reverse("sharing:tiers_css"))
    assert css["Content-Type"].startswith("text/css")
    body = css.content.decode()
    assert ".accord-tier-secret{background-color:#c8102e;color:#ffffff}" in body
    assert text_colour_for("#ffdd00") == "#0b0c0c"
    assert text_colour_for("#1d70b8") == "#ffffff"


def test_404_reveals_nothing(verified_client, alice):
    response = verified_client(alice).get("/documents/not-a-code/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html
    assert "Traceback" not in html and "urlpatterns" not in html


@override_settings(DEBUG=False)
def test_500_page_is_friendly_and_standalone(rf):
    from portal.errors import server_error

    response = server_error(rf.get("/"))
    assert response.status_code == 500
    assert "Sorry, there is a problem" in response.content.decode()


STRICT_PAGES = ["home", "sharing:document_list", "sharing:agreement_list", "sharing:release_queue", "evals:results"]


@pytest.mark.parametrize("name", STRICT_PAGES)
def test_pages_carry_no_inline_code_and_a_strict_csp(verified_client, rory, name):
    give_role(rory, "author")
    assert_no_inline_code(verified_client(rory).get(reverse(name)))


def test_detail_page_with_everything_carries_no_inline_code(verified_client, alice, gbr_usa):
    document = DocumentFactory(author=alice, releasable_to=gbr_usa, body="<script>alert(1)</script> and *text*")
    html = verified_client(alice).get(reverse("sharing:document_detail", args=[document.code])).content.decode()
    assert "<script>alert" not in html
    assert not re.search(r"\son[a-z]+=", html)


def test_forms_label_every_field(verified_client, alice):
    html = verified_client(alice).get(reverse("sharing:document_list")).content.decode()
    for field_id in re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', html):
        assert f'for="{field_id}"' in html, field_id


def test_list_page_costs_the_same_queries_for_few_and_many_rows(verified_client, alice, gbr_usa):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = verified_client(alice)
    DocumentFactory(author=alice, title="First", releasable_to=gbr_usa)
    client.get(reverse("sharing:document_list"))  # warm the session and the tier cache

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("sharing:document_list")).status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for n in range(24):
        DocumentFactory(author=alice, title=f"More {n}", releasable_to=gbr_usa)
    assert count() == few
