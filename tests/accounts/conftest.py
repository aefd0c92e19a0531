from __future__ import annotations

import pytest

from accounts.models import Compartment
from tests.factories import PersonFactory


@pytest.fixture
def oscar(ukasi):
    """A second UK organisation admin, cleared to SECRET: the other half of two-person grants."""
    return PersonFactory(
        email="oscar@ukasi.example",
        display_name="Oscar Orgadmin",
        organisation=ukasi,
        roles=["org_admin"],
        clearance="secret",
    )


@pytest.fixture
def otto(ukasi):
    """A UK organisation admin cleared only to OFFICIAL."""
    return PersonFactory(
        email="otto@ukasi.example",
        display_name="Otto Official",
        organisation=ukasi,
        roles=["org_admin"],
        clearance="official",
    )


@pytest.fixture
def ursula(usaisi):
    """The US organisation admin, cleared to SECRET: an outsider to the UK organisation."""
    return PersonFactory(
        email="ursula@caisi.example",
        display_name="Ursula Admin",
        organisation=usaisi,
        roles=["org_admin"],
        clearance="secret",
    )


@pytest.fixture
def compartment(ukasi):
    """JOINT-EX-1, owned by the UK institute: only its admins read people in."""
    return Compartment.objects.create(code="joint-ex-1", name="Joint exercise 1", owner=ukasi)
