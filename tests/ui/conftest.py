from __future__ import annotations

import pytest

from tests.factories import countries


@pytest.fixture
def gbr_usa(db):
    return countries("GBR", "USA")
