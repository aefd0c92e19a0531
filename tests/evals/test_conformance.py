"""A run is checked against the protocol task it claims: every difference listed with its
severity; only blocking ones keep it out of a comparison."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import pytest

from evals.conformance import BLOCKING, WARNING, TaskSpec, check, conforms
from evals.errors import EvalLogError
from evals.models import EvalRun
from evals.parser import parse_eval_log
from evals.services import eval_run_from_parsed

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).parent / "fixtures"


def stored(run_name: str = "epochs", **header_changes) -> EvalRun:
    """The fixture log, changed as asked in its eval section, parsed with its samples and stored."""
    log = json.loads((FIXTURES / f"{run_name}.json").read_bytes())
    for key, value in header_changes.items():
        log["eval"][key] = value
    parsed = parse_eval_log(io.BytesIO(json.dumps(log).encode()), filename="x.json", samples=True)
    return eval_run_from_parsed(attachment_code=uuid.uuid4(), parsed=parsed)


SPEC = TaskSpec(
    task_name="arithmetic_epochs",
    task_version="0",
    dataset_name="arithmetic",
    sample_ids=["q3", "q4"],
    scorers=["match"],
    epochs=3,
    solver="generate",
    models=["mockllm/model", "other/reference"],
)


def by_field(mismatches):
    return {m.field: m for m in mismatches}


def test_a_run_made_as_the_protocol_says_conforms():
    assert check(stored(), SPEC) == []


def test_each_difference_is_listed_with_its_severity():
    spec = TaskSpec(
        task_name="arithmetic_epochs",
        task_version="2",
        dataset_name="arithmetic-v2",
        sample_ids=["q3", "q5"],
        scorers=["match", "includes"],
        epochs=5,
        solver="chain_of_thought → generate",
        models=["other/target"],
        temperature=0.0,
        seed=7,
    )
    found = by_field(check(stored(), spec))
    assert set(found) == {
        "task version",
        "model",
        "dataset",
        "epochs",
        "solver",
        "temperature",
        "seed",
        "scorers missing",
        "samples missing",
        "samples beyond the protocol",
    }
    assert found["samples missing"].found == "1: q5" and found["samples missing"].severity == BLOCKING
    assert (
        found["samples beyond the protocol"].found == "1: q4"
        and found["samples beyond the protocol"].severity == WARNING
    )
    assert found["scorers missing"].found == "includes"
    assert found["epochs"].expected == "5" and found["epochs"].found == "3"
    assert found["temperature"].found == "not set"
    assert not conforms(found.values())


def test_extra_samples_and_scorers_alone_are_warnings_and_the_run_still_conforms():
    spec = TaskSpec(**{**SPEC.__dict__, "sample_ids": ["q3"], "scorers": []})
    mismatches = check(stored(), spec)
    assert {m.severity for m in mismatches} == {WARNING}
    assert conforms(mismatches)


def test_generation_settings_are_read_from_the_log_and_compared():
    run = stored(model_generate_config={"temperature": 0.5, "max_tokens": 256, "seed": 42})
    assert (run.temperature, run.max_tokens, run.seed) == (0.5, 256, 42)
    spec = TaskSpec(**{**SPEC.__dict__, "temperature": 0.5, "max_tokens": 256, "seed": 41})
    assert [(m.field, m.expected, m.found) for m in check(run, spec)] == [("seed", "41", "42")]


def test_a_failed_run_and_an_unread_log_are_blocking():
    failed = stored("error", task="arithmetic_epochs")
    assert by_field(check(failed, SPEC))["status"].found == "error"
    pending = EvalRun.objects.create()
    (only,) = check(pending, SPEC)
    assert only.field == "log" and only.blocking


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"model_generate_config": {"temperature": "hot"}}, "temperature is not a number"),
        ({"model_generate_config": {"seed": True}}, "seed is not a 64-bit integer"),
        ({"model_generate_config": {"max_tokens": -1}}, "max_tokens is not a non-negative"),
        ({"scorers": {"match": {}}}, "eval.scorers is not a list"),
    ],
)
def test_hostile_generation_settings_are_refused_with_a_reason(change, reason):
    with pytest.raises(EvalLogError) as caught:
        stored(**change)
    assert reason in caught.value.reason
