"""The cast shared by every test: two institutes with a third outside their agreement, and the
people whose stories the tests tell. Each persona is one line of `PersonFactory`; a test that
needs someone else makes them the same way, in the open.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.factories import (
    AgreementFactory,
    DocumentFactory,
    OrganisationFactory,
    PersonFactory,
    login_verified,
    portal_admin_person,
)


@pytest.fixture(autouse=True)
def _isolated_audit_context():
    """Denials remembered outside any request (a test calling a gate directly) wait for their
    transaction; the test's own rollback must not pass them on to the next test."""
    from audit.context import reset_fallback

    reset_fallback()
    yield
    reset_fallback()


@pytest.fixture
def ukasi(db):
    return OrganisationFactory(name="UK AI Security Institute", short_name="ukasi", country="GBR")


@pytest.fixture
def usaisi(db):
    return OrganisationFactory(name="US Center for AI Standards", short_name="caisi", country="USA")


@pytest.fixture
def canada(db):
    """A Canadian institute: party to no agreement unless a test makes one."""
    return OrganisationFactory(name="Canadian AI Safety Institute", short_name="caaisi", country="CAN")


@dataclass(frozen=True)
class Persona:
    """One of the cast: the fixture `name`, a member of the institute fixture `organisation`,
    signing in as `name@<institute>.example`; `about` is the fixture's docstring."""

    name: str
    display_name: str
    organisation: str
    roles: tuple[str, ...]
    clearance: str | None
    about: str
    nationality: str | None = None  # the institute's country unless named


# fmt: off
CAST = (
    Persona("alice", "Alice Analyst", "ukasi", ("author",), "official-sensitive",
            "A UK analyst (author) cleared to OFFICIAL-SENSITIVE."),
    Persona("sam", "Sam Senior", "ukasi", ("author",), "secret",
            "A UK analyst (author) cleared to SECRET."),
    Persona("olivia", "Olivia Orgadmin", "ukasi", ("org_admin",), "secret",
            "The UK organisation admin, cleared to SECRET."),
    Persona("oscar", "Oscar Orgadmin", "ukasi", ("org_admin",), "secret",
            "A second UK organisation admin, cleared to SECRET: the other half of two-person grants."),
    Persona("otto", "Otto Official", "ukasi", ("org_admin",), "official",
            "A UK organisation admin cleared only to OFFICIAL."),
    Persona("rita", "Rita Releaser", "ukasi", ("release_officer",), "secret",
            "The UK release officer, cleared to SECRET."),
    Persona("rory", "Rory Releaser", "ukasi", ("release_officer", "signatory"), "secret",
            "A UK release officer and signatory, cleared to SECRET."),
    Persona("uma", "Uma Member", "ukasi", (), "official-sensitive",
            "A UK member cleared to OFFICIAL-SENSITIVE with no role at all: she reads, never writes."),
    Persona("bob", "Bob Reviewer", "usaisi", (), "official-sensitive",
            "A US partner reviewer cleared to OFFICIAL-SENSITIVE."),
    Persona("carol", "Carol Named", "usaisi", (), "official-sensitive",
            "A second US reviewer, the one a narrowed release names."),
    Persona("hank", "Hank Author", "usaisi", ("author",), "secret",
            "A US analyst (author) cleared to SECRET."),
    Persona("ursula", "Ursula Admin", "usaisi", ("org_admin",), "secret",
            "The US organisation admin, cleared to SECRET: an outsider to the UK organisation."),
    Persona("carl", "Carl Outsider", "canada", ("author",), "secret",
            "A Canadian analyst: his institute is party to no agreement, the outsider."),
    Persona("hal", "Hal Hostile", "usaisi", ("org_admin",), "official-sensitive",
            "The hostile partner admin: a US organisation admin cleared to OFFICIAL-SENSITIVE who "
            "set his own nationality to GBR, and tries everything an admin may try.", "GBR"),
    Persona("cass", "Cass Careless", "ukasi", ("author",), "official-sensitive",
            "The careless author: a UK analyst cleared below some of her own institute's findings "
            "and read in to none of its compartments."),
)
# fmt: on


def _persona_fixture(persona: Persona):
    # `db` is named, not only reached through the institute's fixture, so pytest-django sees
    # that a test using a persona needs the database and orders it with the other such tests.
    @pytest.fixture(name=persona.name)
    def person(request, db):
        organisation = request.getfixturevalue(persona.organisation)
        return PersonFactory(
            email=f"{persona.name}@{organisation.short_name}.example",
            display_name=persona.display_name,
            organisation=organisation,
            roles=persona.roles,
            clearance=persona.clearance,
            **({"nationality": persona.nationality} if persona.nationality else {}),
        )

    person.__doc__ = persona.about
    return person


for _persona in CAST:
    globals()[f"_persona_{_persona.name}"] = _persona_fixture(_persona)


@pytest.fixture
def portal_admin(db):
    """The portal's administrator: staff, of no institute."""
    return portal_admin_person(email="pat@accord.example", display_name="Pat Portaladmin")


@pytest.fixture
def uk_us_agreement(ukasi, usaisi, portal_admin):
    """The live UK-US agreement, up to OFFICIAL-SENSITIVE, on cyber offence and autonomy."""
    return AgreementFactory(parties=[ukasi, usaisi], created_by=portal_admin, reference="UK-US-1")


@pytest.fixture
def finding(alice):
    """A published UK finding at OFFICIAL-SENSITIVE, releasable to the US, about cyber offence."""
    return DocumentFactory(
        author=alice, title="Cyber uplift finding", releasable_to=["USA"], risk_domains=["cyber-offence"]
    )


@pytest.fixture
def media(settings, tmp_path):
    """Ciphertext stored in a folder of the test's own, in the smallest segments the format allows."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ACCORD_ATTACHMENT_SEGMENT_SIZE = 64 * 1024
    return settings.MEDIA_ROOT


@pytest.fixture
def verified_client(client):
    """A client factory: `verified_client(user)` signs in past MFA and returns the client."""

    def _login(user):
        login_verified(client, user)
        return client

    return _login


@pytest.fixture
def reseeded(transactional_db):
    """Committed data for a test whose work runs in other processes. A transactional test ends
    with a flush, which also removes the rows the data migrations seeded (countries, tiers, the
    taxonomy), so the next such test puts them back first."""
    import importlib

    from django.apps import apps

    from accounts.models import Country

    if not Country.objects.exists():
        for module in ("accounts.migrations.0002_seed_countries_and_tiers", "sharing.migrations.0002_seed_taxonomy"):
            importlib.import_module(module).seed(apps, None)
