from __future__ import annotations

import pytest

from tests.factories import PersonFactory, countries


@pytest.fixture
def uma(ukasi):
    """A UK member with a clearance and no role at all."""
    return PersonFactory(
        email="uma@ukasi.example", display_name="Uma Member", organisation=ukasi, clearance="official-sensitive"
    )


@pytest.fixture
def rory(ukasi):
    """A UK release officer and signatory, cleared to SECRET."""
    return PersonFactory(
        email="rory@ukasi.example",
        display_name="Rory Releaser",
        organisation=ukasi,
        roles=["release_officer", "signatory"],
        clearance="secret",
    )


@pytest.fixture
def gbr_usa(db):
    return countries("GBR", "USA")
