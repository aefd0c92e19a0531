"""Check and pick the fields worth keeping from a decoded Inspect log header.

The header is untrusted JSON: every value is checked for its type and size before use, and a
wrong one raises `EvalLogError` naming the field (never quoting its content).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from .errors import EvalLogError
from .parsed import ParsedModelUsage, ParsedScore

STATUSES = frozenset({"started", "success", "cancelled", "error"})
MAX_NAME = 255
MAX_TIME_TEXT = 64
# An error message is kept for people to read; Inspect keeps the full traceback separately.
MAX_ERROR_MESSAGE = 10_000
# Rows a single log may add, so that a header of many tiny scores cannot flood the database.
MAX_SCORE_ROWS = 2_000
MAX_USAGE_ROWS = 200
# Counts are stored as 64-bit integers.
MAX_COUNT = 2**63 - 1


def _storable(value: str, where: str) -> str:
    """The string, if a database can hold it: no NUL character (PostgreSQL refuses them) and
    no lone surrogate (which JSON's \\ud800 escapes allow, and UTF-8 cannot encode)."""
    if "\x00" in value:
        raise EvalLogError(f"{where} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise EvalLogError(f"{where} is not valid Unicode text") from None
    return value


def _section(parent: dict, key: str, where: str) -> dict:
    """An optional object member: {} when absent or null."""
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise EvalLogError(f"not an Inspect log: {where} is not an object")
    return value


def _keyed_object(name: str, value: Any, what: str, where: str) -> None:
    """A member of `where` keyed by a name (a metric's, a model's): the name storable and at most
    MAX_NAME long, the value an object."""
    if len(name) > MAX_NAME:
        raise EvalLogError(f"{what} is longer than {MAX_NAME} characters")
    _storable(name, what)
    if not isinstance(value, dict):
        raise EvalLogError(f"not an Inspect log: {where} holds something that is not an object")


def _text(parent: dict, key: str, where: str, *, required: bool = False, limit: int = MAX_NAME) -> str | None:
    value = parent.get(key)
    if value is None:
        if required:
            raise EvalLogError(f"not an Inspect log: {where} is missing")
        return None
    if not isinstance(value, str):
        raise EvalLogError(f"not an Inspect log: {where} is not a string")
    if required and not value.strip():
        raise EvalLogError(f"not an Inspect log: {where} is empty")
    if len(value) > limit:
        raise EvalLogError(f"{where} is longer than {limit} characters")
    return _storable(value, where)


def _count(parent: dict, key: str, where: str) -> int | None:
    value = parent.get(key)
    if value is None:
        return None
    # bool is an int in Python, but `true` is not a count.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise EvalLogError(f"not an Inspect log: {where} is not a non-negative 64-bit integer")
    return value


def _number(value: Any, where: str) -> float | None:
    """A metric value as a finite float; NaN and infinities (which Inspect can write) as None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EvalLogError(f"not an Inspect log: {where} is not a number")
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _time(parent: dict, key: str, where: str) -> datetime | None:
    text = _text(parent, key, where, limit=MAX_TIME_TEXT)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise EvalLogError(f"not an Inspect log: {where} is not an ISO 8601 time") from None
    # Inspect writes offsets; a time without one is taken as UTC rather than server-local.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _scores(results: dict) -> tuple[ParsedScore, ...]:
    scores = results.get("scores")
    if scores is None:
        return ()
    if not isinstance(scores, list):
        raise EvalLogError("not an Inspect log: results.scores is not a list")
    rows: list[ParsedScore] = []
    seen: set[tuple[str | None, str | None, str]] = set()
    for score in scores:
        if not isinstance(score, dict):
            raise EvalLogError("not an Inspect log: results.scores holds something that is not an object")
        name = _text(score, "name", "results.scores[].name", required=True)
        scorer = _text(score, "scorer", "results.scores[].scorer") or name
        reducer = _text(score, "reducer", "results.scores[].reducer")
        metrics = _section(score, "metrics", "results.scores[].metrics")
        values: dict[str, float | None] = {}
        for metric_name, metric in metrics.items():
            _keyed_object(metric_name, metric, "a metric name", "results.scores[].metrics")
            values[metric_name] = _number(metric.get("value"), "results.scores[].metrics[].value")
        # Inspect reports a score's standard error as a metric of its own; it belongs beside the
        # other metrics of the same score. Alone, it stays a metric.
        stderr = values.pop("stderr", None) if len(values) > 1 else None
        for metric_name, value in values.items():
            key = (name, reducer, metric_name)
            if key in seen:
                raise EvalLogError("the log reports the same score metric twice")
            seen.add(key)
            rows.append(ParsedScore(name, scorer, reducer, metric_name, value, stderr))  # type: ignore[arg-type]
            if len(rows) > MAX_SCORE_ROWS:
                raise EvalLogError(f"the log has more than {MAX_SCORE_ROWS} score metrics")
    return tuple(rows)


def _usage(stats: dict) -> tuple[ParsedModelUsage, ...]:
    usage = _section(stats, "model_usage", "stats.model_usage")
    if len(usage) > MAX_USAGE_ROWS:
        raise EvalLogError(f"the log has usage for more than {MAX_USAGE_ROWS} models")
    rows = []
    for model, counts in usage.items():
        _keyed_object(model, counts, "a model name in stats.model_usage", "stats.model_usage")
        where = "stats.model_usage[]."
        rows.append(
            ParsedModelUsage(
                model=model,
                input_tokens=_count(counts, "input_tokens", where + "input_tokens") or 0,
                output_tokens=_count(counts, "output_tokens", where + "output_tokens") or 0,
                total_tokens=_count(counts, "total_tokens", where + "total_tokens") or 0,
                input_tokens_cache_write=_count(counts, "input_tokens_cache_write", where + "input_tokens_cache_write"),
                input_tokens_cache_read=_count(counts, "input_tokens_cache_read", where + "input_tokens_cache_read"),
                reasoning_tokens=_count(counts, "reasoning_tokens", where + "reasoning_tokens"),
                total_cost=_number(counts.get("total_cost"), where + "total_cost"),
            )
        )
    return tuple(rows)


def build(header: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of `ParsedEvalLog` (but its format), from the decoded header."""
    spec = header.get("eval")
    if not isinstance(spec, dict):
        raise EvalLogError("not an Inspect log: it has no eval section")
    status = header.get("status")
    if status not in STATUSES:
        raise EvalLogError("not an Inspect log: its status is missing or unknown")
    version = header.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise EvalLogError("not an Inspect log: version is not an integer")
    task_version = spec.get("task_version", 0)
    if isinstance(task_version, bool) or not isinstance(task_version, int | str) or len(str(task_version)) > 80:
        raise EvalLogError("not an Inspect log: eval.task_version is not a short string or integer")
    dataset = _section(spec, "dataset", "eval.dataset")
    config = _section(spec, "config", "eval.config")
    results = _section(header, "results", "results")
    stats = _section(header, "stats", "stats")
    error = _section(header, "error", "error")
    message = error.get("message")
    if message is not None and not isinstance(message, str):
        raise EvalLogError("not an Inspect log: error.message is not a string")
    if message:
        message = _storable(message[:MAX_ERROR_MESSAGE].replace("\x00", ""), "error.message")
    return {
        "log_version": version,
        "status": status,
        "task": _text(spec, "task", "eval.task", required=True),
        "task_version": str(task_version),
        "model": _text(spec, "model", "eval.model", required=True),
        "eval_id": _text(spec, "eval_id", "eval.eval_id") or "",
        "run_id": _text(spec, "run_id", "eval.run_id") or "",
        "created": _time(spec, "created", "eval.created"),
        "started": _time(stats, "started_at", "stats.started_at"),
        "completed": _time(stats, "completed_at", "stats.completed_at"),
        "dataset_name": _text(dataset, "name", "eval.dataset.name"),
        "dataset_samples": _count(dataset, "samples", "eval.dataset.samples"),
        "epochs": _count(config, "epochs", "eval.config.epochs"),
        "total_samples": _count(results, "total_samples", "results.total_samples"),
        "completed_samples": _count(results, "completed_samples", "results.completed_samples"),
        "error_message": message or None,
        "scores": _scores(results),
        "model_usage": _usage(stats),
        **_how_made(spec, _section(header, "plan", "plan")),
    }


def _how_made(spec: dict, plan: dict) -> dict[str, Any]:
    """The generation settings, solver steps and scorer names of the run (for conformance)."""
    generate = _section(spec, "model_generate_config", "eval.model_generate_config")
    temperature = _number(generate.get("temperature"), "eval.model_generate_config.temperature")
    steps = plan.get("steps") or []
    if not isinstance(steps, list):
        raise EvalLogError("not an Inspect log: plan.steps is not a list")
    names = [step.get("solver") for step in steps if isinstance(step, dict)]
    solver = " → ".join(name for name in names if isinstance(name, str))
    scorers = spec.get("scorers") or []
    if not isinstance(scorers, list):
        raise EvalLogError("not an Inspect log: eval.scorers is not a list")
    scorer_names = [s.get("name") for s in scorers if isinstance(s, dict) and isinstance(s.get("name"), str)]
    if len(scorer_names) > MAX_SCORE_ROWS:
        raise EvalLogError(f"the log names more than {MAX_SCORE_ROWS} scorers")
    for name in scorer_names:
        _keyed_object(name, {}, "a scorer's name", "eval.scorers")
    return {
        "temperature": temperature,
        "max_tokens": _count(generate, "max_tokens", "eval.model_generate_config.max_tokens"),
        "seed": _seed(generate.get("seed")),
        "solver": _storable(solver[:MAX_NAME], "plan.steps[].solver"),
        "scorer_names": tuple(scorer_names),
    }


def _seed(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not -MAX_COUNT <= value <= MAX_COUNT:
        raise EvalLogError("not an Inspect log: eval.model_generate_config.seed is not a 64-bit integer")
    return value
