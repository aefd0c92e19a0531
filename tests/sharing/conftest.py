from __future__ import annotations

import pytest

from tests.factories import UserFactory, give_role, grant_clearance
from tests.sharing import world


@pytest.fixture
def canada(db):
    return world.org("caaisi", "CAN")


@pytest.fixture
def portal_admin(db):
    return UserFactory(email="pat@accord.example", display_name="Pat Portaladmin", organisation=None, is_staff=True)


@pytest.fixture
def rita(ukasi):
    """The UK release officer, cleared to SECRET."""
    user = UserFactory(email="rita@ukasi.example", display_name="Rita Releaser", organisation=ukasi)
    give_role(user, "release_officer")
    grant_clearance(user, "secret")
    return user


@pytest.fixture
def uk_us_agreement(ukasi, usaisi, portal_admin):
    return world.agreement(parties=[ukasi, usaisi], created_by=portal_admin, reference="UK-US-1")


@pytest.fixture
def finding(ukasi, alice):
    """A published UK finding at OFFICIAL-SENSITIVE, releasable to the US, about cyber offence."""
    return world.document(originator=ukasi, author=alice, title="Cyber uplift finding")
