"""The view matrix of every page: anonymous → sign-in, outsider → 404, member without the role →
403, GET on a state-changing view → 405."""

from __future__ import annotations

import re
import uuid

import pytest
from django.urls import reverse

from audit.models import Action, AuditEvent, Outcome
from tests.factories import AgreementFactory, DocumentFactory, OrganisationFactory, PersonFactory, ReleaseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(alice, bob, rory, ukasi, usaisi):
    """Alice's UK finding, the UK-US agreement, and a release of it to the US awaiting Rory."""
    document = DocumentFactory(author=alice)
    agreement = AgreementFactory(parties=[ukasi, usaisi])
    release = ReleaseFactory(document=document, agreement=agreement, recipient=usaisi, status="requested")
    return {"document": document, "agreement": agreement, "release": release}


GET_VIEWS = [
    ("home", None),
    ("sharing:document_list", None),
    ("sharing:document_create", None),
    ("sharing:document_detail", "document"),
    ("sharing:document_edit", "document"),
    ("sharing:document_attachments", "document"),
    ("sharing:release_request", "document"),
    ("sharing:release_queue", None),
    ("sharing:agreement_list", None),
    ("sharing:agreement_detail", "agreement"),
]

POST_VIEWS = [
    ("sharing:document_publish", "document"),
    ("sharing:document_withdraw", "document"),
    ("sharing:release_approve", "release"),
    ("sharing:release_refuse", "release"),
    ("sharing:release_revoke", "release"),
    ("sharing:agreement_sign", "agreement"),
    ("sharing:agreement_suspend", "agreement"),
    ("sharing:agreement_resume", "agreement"),
    ("sharing:agreement_terminate", "agreement"),
]


def _url(world, name, key):
    return reverse(name, args=[world[key].code]) if key else reverse(name)


@pytest.mark.parametrize(("name", "key"), GET_VIEWS + POST_VIEWS)
def test_anonymous_is_sent_to_sign_in(client, world, name, key):
    response = client.post(_url(world, name, key)) if (name, key) in POST_VIEWS else client.get(_url(world, name, key))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize(("name", "key"), POST_VIEWS)
def test_get_on_a_state_changing_view_is_405(verified_client, alice, world, name, key):
    assert verified_client(alice).get(_url(world, name, key)).status_code == 405


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("sharing:document_detail", "document"),
        ("sharing:document_edit", "document"),
        ("sharing:document_attachments", "document"),
        ("sharing:release_request", "document"),
    ],
)
def test_outsider_gets_404_on_a_document_not_released_to_them(verified_client, bob, world, name, key):
    response = verified_client(bob).get(_url(world, name, key))
    assert response.status_code == 404
    assert world["document"].title not in response.content.decode()
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, actor_id=bob.pk, outcome=Outcome.DENIED).exists()


def test_missing_and_forbidden_documents_answer_the_same(verified_client, bob, world):
    client = verified_client(bob)
    forbidden = client.get(reverse("sharing:document_detail", args=[world["document"].code]))
    missing = client.get(reverse("sharing:document_detail", args=[uuid.uuid4()]))
    assert forbidden.status_code == missing.status_code == 404
    # Identical but for the per-response masking of the sign-out form's CSRF token.
    assert _unmasked(forbidden) == _unmasked(missing)


def _unmasked(response) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


def test_outsider_gets_404_on_an_agreement_they_are_not_party_to(verified_client, world, rory, ukasi):
    other = OrganisationFactory(short_name="elsewhere")
    stranger = PersonFactory(organisation=other)
    agreement = AgreementFactory(parties=[ukasi, other])
    response = verified_client(PersonFactory(organisation=OrganisationFactory(short_name="third"))).get(
        reverse("sharing:agreement_detail", args=[agreement.code])
    )
    assert response.status_code == 404
    assert verified_client(stranger).get(reverse("sharing:agreement_detail", args=[agreement.code])).status_code == 200


def test_outsider_release_officer_gets_404_on_another_organisations_release(verified_client, world, usaisi):
    officer = PersonFactory(organisation=usaisi, roles=["release_officer"])
    response = verified_client(officer).post(reverse("sharing:release_approve", args=[world["release"].code]))
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("name", "key", "method"),
    [
        ("sharing:document_create", None, "get"),
        ("sharing:document_edit", "document", "get"),
        ("sharing:document_attachments", "document", "get"),
        ("sharing:release_request", "document", "get"),
        ("sharing:document_publish", "document", "post"),
        ("sharing:release_queue", None, "get"),
        ("sharing:release_approve", "release", "post"),
        ("sharing:agreement_sign", "agreement", "post"),
        ("sharing:agreement_suspend", "agreement", "post"),
    ],
)
def test_member_without_the_role_gets_403(verified_client, uma, world, name, key, method):
    response = getattr(verified_client(uma), method)(_url(world, name, key))
    assert response.status_code == 403
    assert "You cannot do this" in response.content.decode()
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, actor_id=uma.pk).exists()


@pytest.mark.parametrize(
    ("name", "key"), [v for v in GET_VIEWS if v[0] not in {"sharing:document_create", "sharing:document_edit"}]
)
def test_pages_render_for_someone_allowed(verified_client, alice, rory, world, name, key):
    user = rory if name == "sharing:release_queue" else alice
    assert verified_client(user).get(_url(world, name, key)).status_code == 200


@pytest.fixture
def stranger(world):
    """Every role, but in a third institute that is party to nothing of the world's."""
    return PersonFactory(
        organisation=OrganisationFactory(short_name="thirdinst"),
        roles=["author", "release_officer", "org_admin", "signatory"],
        clearance="secret",
    )


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("sharing:document_publish", "document"),
        ("sharing:document_withdraw", "document"),
        ("sharing:release_approve", "release"),
        ("sharing:release_refuse", "release"),
        ("sharing:release_revoke", "release"),
        ("sharing:agreement_sign", "agreement"),
        ("sharing:agreement_suspend", "agreement"),
        ("sharing:agreement_resume", "agreement"),
        ("sharing:agreement_terminate", "agreement"),
    ],
)
def test_outsider_with_every_role_gets_404_on_other_organisations_things(verified_client, stranger, world, name, key):
    from sharing.models import Document, Release, SharingAgreement

    before = (
        Document.objects.get(pk=world["document"].pk).status,
        Release.objects.get(pk=world["release"].pk).status,
        SharingAgreement.objects.get(pk=world["agreement"].pk).status,
    )
    response = verified_client(stranger).post(_url(world, name, key), {"reason": "because"})
    assert response.status_code == 404
    after = (
        Document.objects.get(pk=world["document"].pk).status,
        Release.objects.get(pk=world["release"].pk).status,
        SharingAgreement.objects.get(pk=world["agreement"].pk).status,
    )
    assert after == before


@pytest.mark.parametrize("name", ["sharing:document_list", "sharing:agreement_list", "sharing:release_queue", "home"])
def test_outsider_lists_show_nothing_of_other_organisations(verified_client, stranger, world, name):
    html = verified_client(stranger).get(reverse(name)).content.decode()
    assert world["document"].title not in html
    assert world["agreement"].reference not in html


def test_outsider_without_the_author_role_cannot_open_the_writing_page(verified_client, world):
    outsider = PersonFactory(organisation=OrganisationFactory(short_name="fourthinst"))
    assert verified_client(outsider).get(reverse("sharing:document_create")).status_code == 403


def test_outsider_author_writes_only_for_their_own_organisation(verified_client, stranger):
    response = verified_client(stranger).get(reverse("sharing:document_create"))
    assert response.status_code == 200
    assert "Write a finding" in response.content.decode()


def test_tier_stylesheet_is_public_to_anonymous_visitors(client):
    response = client.get(reverse("sharing:tiers_css"))
    assert response.status_code == 200 and ".accord-tier-official{" in response.content.decode()


def test_tier_stylesheet_for_an_outsider_holds_only_colours(verified_client, stranger):
    body = verified_client(stranger).get(reverse("sharing:tiers_css")).content.decode()
    assert all(line.startswith(".accord-tier-") for line in body.splitlines())
