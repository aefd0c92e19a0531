"""The cast shared by every test: two institutes with a third outside their agreement, and the
people whose stories the tests tell. Each persona is one line of `PersonFactory`; a test that
needs someone else makes them the same way, in the open.
"""

from __future__ import annotations

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


@pytest.fixture
def alice(ukasi):
    """A UK analyst (author) cleared to OFFICIAL-SENSITIVE."""
    return PersonFactory(
        email="alice@ukasi.example",
        display_name="Alice Analyst",
        organisation=ukasi,
        roles=["author"],
        clearance="official-sensitive",
    )


@pytest.fixture
def olivia(ukasi):
    """The UK organisation admin, cleared to SECRET."""
    return PersonFactory(
        email="olivia@ukasi.example",
        display_name="Olivia Orgadmin",
        organisation=ukasi,
        roles=["org_admin"],
        clearance="secret",
    )


@pytest.fixture
def rita(ukasi):
    """The UK release officer, cleared to SECRET."""
    return PersonFactory(
        email="rita@ukasi.example",
        display_name="Rita Releaser",
        organisation=ukasi,
        roles=["release_officer"],
        clearance="secret",
    )


@pytest.fixture
def bob(usaisi):
    """A US partner reviewer cleared to OFFICIAL-SENSITIVE."""
    return PersonFactory(
        email="bob@caisi.example", display_name="Bob Reviewer", organisation=usaisi, clearance="official-sensitive"
    )


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
def verified_client(client):
    """A client factory: `verified_client(user)` signs in past MFA and returns the client."""

    def _login(user):
        login_verified(client, user)
        return client

    return _login
