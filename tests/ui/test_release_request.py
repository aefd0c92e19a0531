"""The release request page's narrowing and expiry: the service decides, the page shows its answer,
and the release officer sees who may read a release and until when before deciding."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Country
from audit.models import Action, AuditEvent
from audit.reasons import Reason
from sharing.models import Release
from tests.factories import AgreementFactory, DocumentFactory, OrganisationFactory, PersonFactory, grant_clearance
from tests.ui.support import assert_no_inline_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def cai():
    return OrganisationFactory(
        name="Canadian AI Safety Institute", short_name="caisi-ca", country=Country.objects.get(code="CAN")
    )


@pytest.fixture
def world(alice, rory, ukasi, usaisi, cai):
    countries = list(Country.objects.filter(code__in=["GBR", "USA", "CAN"]))
    document = DocumentFactory(author=alice, releasable_to=countries)
    agreement = AgreementFactory(parties=[ukasi, usaisi, cai])
    return document, agreement


def _url(document):
    return reverse("sharing:release_request", args=[document.code])


def _post(client, document, agreement, **fields):
    data = {"agreement": agreement.code, "justification": "Joint pre-deployment testing.", "readers": "organisation"}
    data.update(fields)
    return client.post(_url(document), data)


def _refusals():
    return AuditEvent.objects.filter(action=Action.RELEASE_REQUESTED, outcome="denied")


def test_the_form_lists_each_eligible_partners_active_members_by_name_only(
    verified_client, alice, bob, carol, usaisi, world
):
    document, agreement = world
    PersonFactory(display_name="Gone Former", organisation=usaisi, is_active=False)
    grant_clearance(carol, "secret")
    response = verified_client(alice).get(_url(document), {"agreement": agreement.code})
    html = response.content.decode()
    assert_no_inline_code(response)
    assert "Named readers at US Center for AI Standards (USA)" in html
    assert "Named readers at Canadian AI Safety Institute (CAN)" in html
    assert f'value="{carol.code}"' in html and f'value="{bob.code}"' in html
    assert "Gone Former" not in html
    # Nothing about a partner's people beyond their names: no clearance, no address.
    assert "SECRET" not in html.split("Named readers at", 1)[1].split("</form>", 1)[0]
    assert carol.email not in html
    # The reveal is progressive: the panel is in the markup and GOV.UK Frontend's radios script
    # from static/ hides it (its "hidden" class hides nothing until that script has started).
    assert 'data-module="govuk-radios"' in html and 'data-aria-controls="named-readers"' in html
    assert 'class="govuk-radios__conditional govuk-radios__conditional--hidden" id="named-readers"' in html
    assert '<legend class="govuk-fieldset__legend govuk-fieldset__legend--s">Who at each recipient' in html


def test_a_narrowed_release_lets_only_the_named_reader_read_after_approval(
    verified_client, client, alice, rory, bob, carol, usaisi, world
):
    document, agreement = world
    response = _post(
        verified_client(alice),
        document,
        agreement,
        recipients=[usaisi.short_name],
        readers="named",
        audience=[str(carol.code)],
    )
    assert response.status_code == 302
    release = Release.objects.get()
    assert list(release.audience.all()) == [carol] and release.expires_at is None

    queue = verified_client(rory).get(reverse("sharing:release_queue"))
    assert_no_inline_code(queue)
    assert "Named readers only: Carol Named" in queue.content.decode()
    approved = client.post(reverse("sharing:release_approve", args=[release.code]), {"reason": ""})
    assert approved.status_code == 302
    release.refresh_from_db()
    assert release.status == Release.Status.APPROVED

    detail = reverse("sharing:document_detail", args=[document.code])
    page = verified_client(carol).get(detail)
    assert page.status_code == 200
    assert "Named readers only: Carol Named" in page.content.decode()
    assert verified_client(bob).get(detail).status_code == 404


def test_an_expiry_is_kept_and_shown_to_the_officer_and_on_the_history(verified_client, alice, rory, usaisi, world):
    document, agreement = world
    when = (timezone.now() + timedelta(days=30)).replace(second=0, microsecond=0)
    response = _post(
        verified_client(alice),
        document,
        agreement,
        recipients=[usaisi.short_name],
        expires_at=when.strftime("%Y-%m-%dT%H:%M"),
    )
    assert response.status_code == 302
    release = Release.objects.get()
    assert release.expires_at == when and not release.audience.exists()
    shown = when.strftime("%-d %b %Y, %H:%M") + " UTC"
    history = verified_client(alice).get(reverse("sharing:document_detail", args=[document.code])).content.decode()
    assert shown in history and "Everyone at CAISI" in history
    assert shown in verified_client(rory).get(reverse("sharing:release_queue")).content.decode()


@pytest.mark.parametrize(
    ("offset", "reason", "message"),
    [
        (timedelta(hours=-1), Reason.EXPIRES_BEFORE_START, "expire before it starts"),
        (timedelta(days=400), Reason.EXPIRES_AFTER_AGREEMENT, "before its agreement does"),
    ],
)
def test_an_expiry_the_service_refuses_is_a_form_error_and_nothing_is_created(
    verified_client, alice, usaisi, world, offset, reason, message
):
    document, agreement = world
    when = timezone.now() + offset
    response = _post(
        verified_client(alice), document, agreement, recipients=[usaisi.short_name], expires_at=when.isoformat()[:16]
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "govuk-error-summary" in html and message in html
    assert_no_inline_code(response)
    assert not Release.objects.exists()
    assert _refusals().get().details["reason"] == reason


def test_a_named_reader_of_a_partner_not_chosen_as_recipient_is_refused(verified_client, alice, usaisi, cai, world):
    document, agreement = world
    outsider = PersonFactory(display_name="Chris Canadian", organisation=cai)
    response = _post(
        verified_client(alice),
        document,
        agreement,
        recipients=[usaisi.short_name],
        readers="named",
        audience=[str(outsider.code)],
    )
    assert response.status_code == 200
    assert "every named reader must be an active member of a recipient" in response.content.decode()
    assert not Release.objects.exists()
    assert _refusals().count() == 1


def test_a_named_reader_from_outside_the_agreement_is_not_a_choice(verified_client, alice, ukasi, usaisi, world):
    document, agreement = world
    stranger = PersonFactory(organisation=OrganisationFactory(country=Country.objects.get(code="USA")))
    colleague = PersonFactory(organisation=ukasi)
    for person in (stranger, colleague):
        response = _post(
            verified_client(alice),
            document,
            agreement,
            recipients=[usaisi.short_name],
            readers="named",
            audience=[str(person.code)],
        )
        assert response.status_code == 200
        assert "Choose named readers from the lists shown." in response.content.decode()
    assert not Release.objects.exists()


def test_named_readers_chosen_without_any_is_a_form_error(verified_client, alice, bob, usaisi, world):
    document, agreement = world
    response = _post(verified_client(alice), document, agreement, recipients=[usaisi.short_name], readers="named")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Choose at least one named reader" in html and 'href="#id_audience_0"' in html
    assert 'id="id_audience_0"' in html
    assert not Release.objects.exists()


def test_readers_ticked_but_whole_organisation_chosen_releases_to_everyone(
    verified_client, alice, carol, usaisi, world
):
    document, agreement = world
    response = _post(
        verified_client(alice), document, agreement, recipients=[usaisi.short_name], audience=[str(carol.code)]
    )
    assert response.status_code == 302
    assert not Release.objects.get().audience.exists()
