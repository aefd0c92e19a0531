"""The verifier checks whole chunks at once when nothing is wrong in them; wherever a chunk
boundary falls, every tampering scenario gets the same verdict and the same findings."""

from __future__ import annotations

import pytest

from audit.models import AuditCheckpoint
from audit.verify import verify_chain

from .conftest import drop_triggers, make_chain
from .test_tamper import CHAIN, CHECKPOINT, SCENARIOS

pytestmark = pytest.mark.django_db


def test_an_untouched_chain_verifies_in_chunks_of_any_size():
    make_chain(CHAIN, checkpoint_at=CHECKPOINT)
    assert AuditCheckpoint.objects.get().seq == CHECKPOINT
    for chunk_size in (1, 2, 3, 5, 5000):
        result = verify_chain(chunk_size=chunk_size)
        assert result.ok and result.events == CHAIN + 1, (chunk_size, result.problems)


@pytest.mark.parametrize("tamper", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_chunk_boundaries_do_not_change_the_findings(tamper):
    make_chain(CHAIN, checkpoint_at=CHECKPOINT)
    drop_triggers()
    first_bad = tamper()
    whole = verify_chain()
    assert (whole.ok, whole.first_bad_seq) == (False, first_bad)
    for chunk_size in (1, 2, 3, 5):
        for segments in (1, 3):
            result = verify_chain(chunk_size=chunk_size, segments=segments)
            # The same findings (segments may list two findings about one seq in another order).
            found = (result.ok, result.first_bad_seq, sorted(result.problems))
            assert found == (False, first_bad, sorted(whole.problems)), (chunk_size, segments)
