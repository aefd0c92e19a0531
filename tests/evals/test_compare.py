"""The comparison statistics, checked against values worked out by hand."""

from __future__ import annotations

import math

import pytest

from evals.compare import Estimate, agreement, cohen_kappa, difference, estimate, sample_values
from evals.models import EvalRun, EvalSample


def test_mean_and_standard_error_of_three_right_and_one_wrong():
    # mean 0.75; variance ((0.25² × 3) + 0.75²) / 3 = 0.25; stderr √(0.25 / 4) = 0.25, as Inspect says.
    assert estimate([1, 0, 1, 1]) == Estimate(0.75, 0.25, 4)


def test_missing_values_are_left_out_and_one_value_has_no_error():
    assert estimate([None, 0.5]) == Estimate(0.5, None, 1)
    assert estimate([None]) is None and estimate([]) is None


def test_difference_with_its_95_percent_interval():
    got = difference(Estimate(0.75, 0.25, 4), Estimate(0.5, 0.2, 4))
    # 0.25 ± 1.96 × √(0.0625 + 0.04) = 0.25 ± 0.627
    assert got.value == pytest.approx(0.25)
    assert got.low == pytest.approx(0.25 - 0.62752, abs=1e-4) and got.high == pytest.approx(0.25 + 0.62752, abs=1e-4)
    assert difference(Estimate(0.75, None, 1), Estimate(0.5, 0.2, 4)).low is None


@pytest.mark.parametrize(
    ("counts", "kappa"),
    [
        # 50 samples: p_o = 35/50 = 0.7; a passes 25/50, b 30/50; p_e = 0.5·0.6 + 0.5·0.4 = 0.5; κ = 0.4
        ({"both_pass": 20, "both_fail": 15, "only_a": 5, "only_b": 10}, 0.4),
        # perfect agreement, both sides varied: κ = 1
        ({"both_pass": 3, "both_fail": 2, "only_a": 0, "only_b": 0}, 1.0),
        # agreement no better than chance: p_o = 0.5, p_e = 0.5 → κ = 0
        ({"both_pass": 1, "both_fail": 1, "only_a": 1, "only_b": 1}, 0.0),
        # both always pass: chance agreement is already 1, κ undefined
        ({"both_pass": 4, "both_fail": 0, "only_a": 0, "only_b": 0}, None),
        ({"both_pass": 0, "both_fail": 0, "only_a": 0, "only_b": 0}, None),
    ],
)
def test_cohens_kappa(counts, kappa):
    got = cohen_kappa(**counts)
    assert got == kappa if kappa is None else math.isclose(got, kappa, abs_tol=1e-12)


def test_agreement_joins_on_sample_and_epoch_and_lists_disagreements():
    a = {("q1", 1): 1.0, ("q2", 1): 0.0, ("q3", 1): 1.0, ("q4", 1): None, ("q1", 2): 0.0}
    b = {("q1", 1): 1.0, ("q2", 1): 1.0, ("q3", 1): 0.0, ("q5", 1): 1.0, ("q1", 2): 0.0}
    got = agreement(a, b)
    assert (got.both_pass, got.both_fail, got.only_a, got.only_b) == (1, 1, 1, 1)
    assert got.disagreeing == [("q2", 1), ("q3", 1)]
    assert got.paired == 4 and got.disagree == 2
    assert got.kappa == pytest.approx(0.0)


def test_a_partial_grade_passes_at_the_default_threshold_and_not_above():
    a, b = {("q", 1): 0.5}, {("q", 1): 0.0}
    assert agreement(a, b).only_a == 1
    assert agreement(a, b, threshold=1.0).both_fail == 1


@pytest.mark.django_db
def test_sample_values_reads_one_scorer_of_several_runs_in_one_query(django_assert_num_queries):
    runs = [EvalRun.objects.create(), EvalRun.objects.create()]
    for run, values in zip(runs, ([1.0, 0.0], [1.0, 1.0]), strict=True):
        for i, value in enumerate(values):
            EvalSample.objects.create(run=run, sample_id=f"q{i}", epoch=1, scorer="match", value=value)
            EvalSample.objects.create(run=run, sample_id=f"q{i}", epoch=1, scorer="other", value=0.0)
    with django_assert_num_queries(1):
        got = sample_values([r.pk for r in runs], "match")
    assert got == {runs[0].pk: {("q0", 1): 1.0, ("q1", 1): 0.0}, runs[1].pk: {("q0", 1): 1.0, ("q1", 1): 1.0}}
    assert agreement(got[runs[0].pk], got[runs[1].pk]).disagreeing == [("q1", 1)]
