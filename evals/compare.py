"""The statistics of comparing runs: each side's mean with its standard error, the difference
between two sides with a 95% interval, and per-sample agreement (both pass / both fail /
disagree, Cohen's kappa) joined on (sample id, epoch).

Pure functions over numbers, plus one reader of stored per-sample values (`sample_values`):
callers pass only runs the viewer may read (`evals.selectors.readable_runs`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .models import EvalSample

Z95 = 1.959963984540054  # the 97.5th percentile of the standard normal distribution
Key = tuple[str, int]  # (sample id, epoch)


@dataclass(frozen=True)
class Estimate:
    """A mean over n values, with the standard error of the mean (None below two values)."""

    mean: float
    stderr: float | None
    n: int


@dataclass(frozen=True)
class Difference:
    """a − b with its 95% interval (None when either side has no standard error)."""

    value: float
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Agreement:
    both_pass: int
    both_fail: int
    only_a: int  # a passed, b failed
    only_b: int
    # Cohen's kappa over the paired samples; None when it is undefined (no pairs, or both sides
    # constant and equal, where chance agreement is already 1).
    kappa: float | None
    disagreeing: list[Key] = field(default_factory=list)

    @property
    def paired(self) -> int:
        return self.both_pass + self.both_fail + self.only_a + self.only_b

    @property
    def disagree(self) -> int:
        return self.only_a + self.only_b


def estimate(values: Iterable[float | None]) -> Estimate | None:
    """Mean and standard error (sample standard deviation / √n) of the numbers given; None
    values are left out; None when nothing is left."""
    numbers = [v for v in values if v is not None]
    n = len(numbers)
    if n == 0:
        return None
    mean = math.fsum(numbers) / n
    if n < 2:
        return Estimate(mean, None, n)
    variance = math.fsum((v - mean) ** 2 for v in numbers) / (n - 1)
    return Estimate(mean, math.sqrt(variance / n), n)


def difference(a: Estimate, b: Estimate) -> Difference:
    """a − b; the interval assumes independent samples (the standard errors add in quadrature)."""
    value = a.mean - b.mean
    if a.stderr is None or b.stderr is None:
        return Difference(value, None, None)
    margin = Z95 * math.hypot(a.stderr, b.stderr)
    return Difference(value, value - margin, value + margin)


def agreement(a: Mapping[Key, float | None], b: Mapping[Key, float | None], *, threshold: float = 0.5) -> Agreement:
    """Per-sample agreement of two runs on one scorer, over the (sample id, epoch) both scored.

    A sample passes when its value is at least `threshold` (so Inspect's C passes and I fails).
    """
    counts = dict.fromkeys(("both_pass", "both_fail", "only_a", "only_b"), 0)
    disagreeing: list[Key] = []
    for key in sorted(a.keys() & b.keys()):
        va, vb = a[key], b[key]
        if va is None or vb is None:
            continue
        pa, pb = va >= threshold, vb >= threshold
        if pa and pb:
            counts["both_pass"] += 1
        elif not pa and not pb:
            counts["both_fail"] += 1
        else:
            counts["only_a" if pa else "only_b"] += 1
            disagreeing.append(key)
    return Agreement(**counts, kappa=cohen_kappa(**counts), disagreeing=disagreeing)


def cohen_kappa(*, both_pass: int, both_fail: int, only_a: int, only_b: int) -> float | None:
    """κ = (p_o − p_e) / (1 − p_e) for two raters' pass/fail on the same samples."""
    n = both_pass + both_fail + only_a + only_b
    if n == 0:
        return None
    observed = (both_pass + both_fail) / n
    a_pass, b_pass = (both_pass + only_a) / n, (both_pass + only_b) / n
    chance = a_pass * b_pass + (1 - a_pass) * (1 - b_pass)
    if chance == 1:
        return None
    return (observed - chance) / (1 - chance)


def sample_values(run_ids: Sequence[int], scorer: str) -> dict[int, dict[Key, float | None]]:
    """{run id: {(sample id, epoch): value}} of one scorer for the given runs, in one query."""
    values: dict[int, dict[Key, float | None]] = {run_id: {} for run_id in run_ids}
    rows = EvalSample.objects.filter(run_id__in=run_ids, scorer=scorer).values_list(
        "run_id", "sample_id", "epoch", "value"
    )
    for run_id, sample_id, epoch, value in rows.iterator(chunk_size=5000):
        values[run_id][(sample_id, epoch)] = value
    return values
