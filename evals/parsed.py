"""What the parser returns: plain values, no Django, no inspect_ai."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ParsedScore:
    """One metric of one scorer: `results.scores[].metrics[metric]`."""

    scorer_name: str
    scorer: str
    reducer: str | None
    metric: str
    value: float | None
    stderr: float | None


@dataclass(frozen=True)
class ParsedModelUsage:
    """Token usage of one model over the run: `stats.model_usage[model]`."""

    model: str
    input_tokens: int
    output_tokens: int
    total_tokens: int
    input_tokens_cache_write: int | None
    input_tokens_cache_read: int | None
    reasoning_tokens: int | None
    total_cost: float | None


@dataclass(frozen=True)
class ParsedSampleScore:
    """One scorer's value for one sample and epoch, as a number (`score_value`), or None when
    the log's value is not one (a free-text or structured value is not kept)."""

    scorer: str
    value: float | None


@dataclass(frozen=True)
class ParsedSample:
    """A sample's identity and scores, for comparing runs sample by sample. Nothing of its
    transcript (input, target, output, explanations) is kept: that is read on demand from the
    encrypted log (`evals.transcripts`)."""

    sample_id: str
    epoch: int
    scores: tuple[ParsedSampleScore, ...]


@dataclass(frozen=True)
class ParsedEvalLog:
    log_format: str  # "eval" or "json"
    log_version: int | None
    status: str  # started, success, cancelled or error
    task: str
    task_version: str
    model: str
    eval_id: str
    run_id: str
    created: datetime | None  # aware, UTC
    started: datetime | None
    completed: datetime | None
    dataset_name: str | None
    dataset_samples: int | None
    epochs: int | None
    total_samples: int | None
    completed_samples: int | None
    error_message: str | None
    scores: tuple[ParsedScore, ...]
    model_usage: tuple[ParsedModelUsage, ...]
    # How the run was made, for checking it against a protocol: the generation settings given
    # (eval.model_generate_config), the solver steps (plan.steps[].solver, joined by " → ") and
    # the scorers (eval.scorers[].name).
    temperature: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    solver: str = ""
    scorer_names: tuple[str, ...] = ()
    # Read only when asked (`parse_eval_log(..., samples=True)`), in the log's order.
    samples: tuple[ParsedSample, ...] = ()
