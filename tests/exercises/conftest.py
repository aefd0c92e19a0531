from __future__ import annotations

import pytest

from tests.api.conftest import api, as_user  # noqa: F401  (API clients for the run endpoints)

from .support import make_exercise, member, read_in


@pytest.fixture
def exercise(olivia, usaisi, uk_us_agreement):
    """JOINT-EX-9: led by the UK (Olivia, its admin, set it up), with the US, under UK-US-1."""
    return make_exercise(olivia, uk_us_agreement, usaisi)


@pytest.fixture
def uk_signatory(rory, exercise):
    """Rory, the UK signatory, read in."""
    read_in(rory, exercise)
    return rory


@pytest.fixture
def us_signatory(usaisi, exercise):
    """A US signatory, read in."""
    return member(usaisi, exercise, roles=["signatory"], display_name="Sid Signatory")


@pytest.fixture
def uk_lead_author(alice, exercise):
    """Alice, a UK author read in: she may take the lead's steps."""
    read_in(alice, exercise)
    return alice


@pytest.fixture
def us_reader(bob, exercise):
    """Bob, a US reviewer read in: he sees the exercise and may not lead or sign."""
    read_in(bob, exercise)
    return bob
