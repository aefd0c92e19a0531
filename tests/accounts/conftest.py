from __future__ import annotations

import pytest

from accounts.models import Compartment


@pytest.fixture
def compartment(ukasi):
    """JOINT-EX-1, owned by the UK institute: only its admins read people in."""
    return Compartment.objects.create(code="joint-ex-1", name="Joint exercise 1", owner=ukasi)
