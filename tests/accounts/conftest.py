from __future__ import annotations

import pytest

from tests.factories import UserFactory, give_role, grant_clearance


@pytest.fixture
def oscar(ukasi):
    """A second UK organisation admin, cleared to SECRET: the other half of two-person grants."""
    user = UserFactory(email="oscar@ukasi.example", display_name="Oscar Orgadmin", organisation=ukasi)
    give_role(user, "org_admin")
    grant_clearance(user, "secret")
    return user


@pytest.fixture
def otto(ukasi):
    """A UK organisation admin cleared only to OFFICIAL."""
    user = UserFactory(email="otto@ukasi.example", display_name="Otto Official", organisation=ukasi)
    give_role(user, "org_admin")
    grant_clearance(user, "official")
    return user


@pytest.fixture
def ursula(usaisi):
    """The US organisation admin, cleared to SECRET: an outsider to the UK organisation."""
    user = UserFactory(email="ursula@caisi.example", display_name="Ursula Admin", organisation=usaisi)
    give_role(user, "org_admin")
    grant_clearance(user, "secret")
    return user


@pytest.fixture
def compartment(ukasi):
    from accounts.models import Compartment

    return Compartment.objects.create(code="joint-ex-1", name="Joint exercise 1", owner=ukasi)
