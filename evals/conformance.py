"""Does a run follow the protocol it claims? Each difference between an eval run and the task
of a protocol version it was made for, with how much it matters.

`blocking` differences make the run's results not comparable with the other institutes' (a
different task, model, dataset, sample set, epoch count, scorer, generation setting or
solver): such a run is shown but left out of the headline comparison unless the exercise's lead
accepts it with a reason. `warning` differences do not change what is compared (samples or
scorers beyond the protocol's; they are simply not joined).

Plain data in, plain data out: the exercise side passes a `TaskSpec` built from its protocol
(the same fields as its JSON export), so neither app needs the other's models.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .models import EvalRun, EvalSample

BLOCKING, WARNING = "blocking", "warning"
# How many sample ids a mismatch lists by name; the count is always given.
LISTED = 20


@dataclass(frozen=True)
class TaskSpec:
    """One task of a protocol version, as its JSON export states it."""

    task_name: str
    task_version: str
    dataset_name: str
    sample_ids: Sequence[str]
    scorers: Sequence[str]
    epochs: int
    solver: str
    models: Sequence[str]  # the protocol's target and reference models
    temperature: float | None = None
    max_tokens: int | None = None
    seed: int | None = None


@dataclass(frozen=True)
class Mismatch:
    field: str
    expected: str
    found: str
    severity: str

    @property
    def blocking(self) -> bool:
        return self.severity == BLOCKING


def scored_sample_ids(run: EvalRun) -> set[str]:
    """The sample ids the run holds results for (one query)."""
    return set(EvalSample.objects.filter(run=run).values_list("sample_id", flat=True).distinct())


def check(run: EvalRun, spec: TaskSpec, *, sample_ids: Iterable[str] | None = None) -> list[Mismatch]:
    """Every difference between `run` and `spec`, blocking ones first. `sample_ids`: the run's
    scored samples, when the caller has them already (else one query)."""
    found: list[Mismatch] = []

    def differ(field: str, expected, actual, severity: str = BLOCKING) -> None:
        if expected != actual:
            found.append(Mismatch(field, _shown(expected), _shown(actual), severity))

    if run.parse_status != EvalRun.ParseStatus.PARSED:
        found.append(Mismatch("log", "a log read", run.get_parse_status_display().lower(), BLOCKING))
        return found
    differ("status", "success", run.status)
    differ("task", spec.task_name, run.task)
    differ("task version", str(spec.task_version), run.task_version)
    if run.model not in spec.models:
        found.append(Mismatch("model", " or ".join(spec.models), run.model, BLOCKING))
    differ("dataset", spec.dataset_name, run.dataset_name)
    differ("epochs", spec.epochs, run.epochs or 1)
    differ("solver", spec.solver, run.solver)
    for name in ("temperature", "max_tokens", "seed"):
        expected = getattr(spec, name)
        if expected is not None:  # a setting the protocol leaves open is not checked
            differ(name.replace("_", " "), expected, getattr(run, name))
    have = set(run.scorer_names)
    if missing := [s for s in spec.scorers if s not in have]:
        found.append(Mismatch("scorers missing", ", ".join(spec.scorers), ", ".join(missing), BLOCKING))
    if extra := sorted(have - set(spec.scorers)):
        found.append(Mismatch("scorers beyond the protocol", "", ", ".join(extra), WARNING))
    present = set(sample_ids) if sample_ids is not None else scored_sample_ids(run)
    wanted = set(spec.sample_ids)
    if absent := sorted(wanted - present):
        found.append(Mismatch("samples missing", f"{len(wanted)} samples", _ids(absent), BLOCKING))
    if beyond := sorted(present - wanted):
        found.append(Mismatch("samples beyond the protocol", "", _ids(beyond), WARNING))
    return sorted(found, key=lambda m: m.severity != BLOCKING)


def conforms(mismatches: Iterable[Mismatch]) -> bool:
    return not any(m.blocking for m in mismatches)


def _ids(ids: list[str]) -> str:
    shown = ", ".join(ids[:LISTED])
    return f"{len(ids)}: {shown}" + (", …" if len(ids) > LISTED else "")


def _shown(value) -> str:
    return "not set" if value in (None, "") else str(value)
