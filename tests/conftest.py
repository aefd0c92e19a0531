from __future__ import annotations

import pytest

from tests.factories import OrganisationFactory, UserFactory, give_role, grant_clearance, login_verified


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
    from accounts.models import Country

    return OrganisationFactory(
        name="UK AI Security Institute", short_name="ukasi", country=Country.objects.get(code="GBR")
    )


@pytest.fixture
def usaisi(db):
    from accounts.models import Country

    return OrganisationFactory(
        name="US Center for AI Standards", short_name="caisi", country=Country.objects.get(code="USA")
    )


@pytest.fixture
def alice(ukasi):
    """A UK analyst (author) cleared to OFFICIAL-SENSITIVE."""
    user = UserFactory(email="alice@ukasi.example", display_name="Alice Analyst", organisation=ukasi)
    give_role(user, "author")
    grant_clearance(user, "official-sensitive")
    return user


@pytest.fixture
def olivia(ukasi):
    """The UK organisation admin, cleared to SECRET."""
    user = UserFactory(email="olivia@ukasi.example", display_name="Olivia Orgadmin", organisation=ukasi)
    give_role(user, "org_admin")
    grant_clearance(user, "secret")
    return user


@pytest.fixture
def bob(usaisi):
    """A US partner reviewer cleared to OFFICIAL-SENSITIVE."""
    user = UserFactory(email="bob@caisi.example", display_name="Bob Reviewer", organisation=usaisi)
    grant_clearance(user, "official-sensitive")
    return user


@pytest.fixture
def verified_client(client):
    """A client factory: `verified_client(user)` signs in past MFA and returns the client."""

    def _login(user):
        login_verified(client, user)
        return client

    return _login
