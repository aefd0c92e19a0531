"""The protocol's canonical form: what is checked on the way in, what is hashed, what is exported.

A protocol version's content is its models and its tasks. The export (`export_version`) is the
JSON a pipeline reads to launch the same Inspect runs (docs/API.md, "Exercise protocols"); its
`content` part, encoded canonically (sorted keys, no spaces, UTF-8), is what `digest` hashes
and what a signature binds to. Sample ids keep their type (Inspect matches an int id only to
an int), are de-duplicated and sorted (by their text), and are hashed the same canonical way.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

FORMAT = "accord.protocol/1"
MAX_TASKS = 50
MAX_SAMPLES = 100_000
MAX_NAME = 200
MAX_LIST = 20
TASK_FIELDS = {
    "task",
    "task_version",
    "dataset",
    "sample_ids",
    "scorers",
    "metrics",
    "epochs",
    "temperature",
    "max_tokens",
    "seed",
    "solver",
}
_BIGINT = 2**63 - 1


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_of(value: Any) -> str:
    return hashlib.sha256(canonical(value)).hexdigest()


@dataclass(frozen=True)
class TaskSpec:
    task_name: str
    task_version: str
    dataset_name: str
    sample_ids: list
    scorers: list[str]
    metrics: list[str]
    epochs: int
    temperature: float | None
    max_tokens: int | None
    seed: int | None
    solver: str

    @property
    def sample_ids_sha256(self) -> str:
        return sha256_of(self.sample_ids)


def _name(value, what: str, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > MAX_NAME:
        raise ValidationError(f"{what} must be a text of 1 to {MAX_NAME} characters.")
    return value.strip()


def _names(value, what: str, *, required: bool) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_LIST or (required and not value):
        raise ValidationError(f"{what} must be a list of up to {MAX_LIST} names{', at least one' if required else ''}.")
    names = [_name(item, what) for item in value]
    if len(set(names)) != len(names):
        raise ValidationError(f"{what} names each one once.")
    return names


def _int(value, what: str, low: int, high: int, *, required: bool = False) -> int | None:
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(f"{what} must be a whole number from {low} to {high}.")
    return value


def _sample_ids(value, what: str) -> list:
    if not isinstance(value, list) or not value or len(value) > MAX_SAMPLES:
        raise ValidationError(f"{what}: sample_ids must be a list of 1 to {MAX_SAMPLES} ids.")
    seen: dict[str, Any] = {}
    for item in value:
        ok_int = isinstance(item, int) and not isinstance(item, bool) and abs(item) <= _BIGINT
        ok_str = isinstance(item, str) and 0 < len(item) <= MAX_NAME
        if not (ok_int or ok_str):
            raise ValidationError(
                f"{what}: every sample id is a whole number or a text of up to {MAX_NAME} characters."
            )
        key = f"{type(item).__name__}:{item}"
        seen.setdefault(key, item)
    return sorted(seen.values(), key=lambda item: (str(item), isinstance(item, str)))


def parse_task(data, index: int) -> TaskSpec:
    what = f"Task {index + 1}"
    if not isinstance(data, dict):
        raise ValidationError(f"{what} must be an object.")
    unknown = sorted(set(data) - TASK_FIELDS)
    if unknown:
        raise ValidationError(f"{what} has unknown fields: {', '.join(unknown)}.")
    temperature = data.get("temperature")
    if temperature is not None and (
        isinstance(temperature, bool) or not isinstance(temperature, int | float) or not 0 <= temperature <= 2
    ):
        raise ValidationError(f"{what}: temperature must be a number from 0 to 2.")
    task_version = data.get("task_version")
    if isinstance(task_version, int) and not isinstance(task_version, bool):
        task_version = str(task_version)  # Inspect's default task version is the number 0
    return TaskSpec(
        task_name=_name(data.get("task"), f"{what}: task"),
        task_version=_name(task_version, f"{what}: task_version"),
        dataset_name=_name(data.get("dataset"), f"{what}: dataset"),
        sample_ids=_sample_ids(data.get("sample_ids"), what),
        scorers=_names(data.get("scorers"), f"{what}: scorers", required=True),
        metrics=_names(data.get("metrics", []), f"{what}: metrics", required=False),
        epochs=_int(data.get("epochs", 1), f"{what}: epochs", 1, 100, required=True),
        temperature=float(temperature) if temperature is not None else None,
        max_tokens=_int(data.get("max_tokens"), f"{what}: max_tokens", 1, 1_000_000),
        seed=_int(data.get("seed"), f"{what}: seed", -_BIGINT, _BIGINT),
        solver=_name(data.get("solver"), f"{what}: solver"),
    )


def parse_tasks(data) -> list[TaskSpec]:
    """The tasks of a protocol from their JSON form (a list of objects), or a ValidationError
    saying what is wrong with the first bad one."""
    if not isinstance(data, list) or not data or len(data) > MAX_TASKS:
        raise ValidationError(f"A protocol lists 1 to {MAX_TASKS} tasks.")
    tasks = [parse_task(item, index) for index, item in enumerate(data)]
    names = [task.task_name for task in tasks]
    if len(set(names)) != len(names):
        raise ValidationError("Each task appears once in a protocol.")
    return tasks


def parse_models(target: str, references) -> tuple[str, list[str]]:
    target = _name(target, "The target model")
    references = _names(list(references), "Reference models", required=False)
    if target in references:
        raise ValidationError("The target model is not also a reference model.")
    return target, references


def task_content(task) -> dict:
    """One task's part of the content (from a TaskSpec or a ProtocolTask row alike)."""
    return {
        "task": task.task_name,
        "task_version": task.task_version,
        "dataset": {
            "name": task.dataset_name,
            "sample_ids": list(task.sample_ids),
            "sample_ids_sha256": task.sample_ids_sha256,
        },
        "scorers": list(task.scorers),
        "metrics": list(task.metrics),
        "epochs": task.epochs,
        "generate_config": {"temperature": task.temperature, "max_tokens": task.max_tokens, "seed": task.seed},
        "solver": task.solver,
    }


def content_of(target_model: str, reference_models: list[str], tasks) -> dict:
    """What a version pins, in canonical shape: hashed into its digest, signed, exported."""
    return {
        "models": {"target": target_model, "references": list(reference_models)},
        "tasks": [task_content(task) for task in tasks],
    }


def digest_of(content: dict) -> str:
    return sha256_of(content)


def export_version(version) -> dict:
    """The JSON a pipeline reads to launch the protocol's Inspect runs (docs/API.md)."""
    exercise = version.exercise
    tasks = list(version.tasks.all())
    content = content_of(version.target_model, version.reference_models, tasks)
    models = [version.target_model, *version.reference_models]
    return {
        "format": FORMAT,
        "exercise": {"code": str(exercise.code), "reference": exercise.reference},
        "protocol": {
            "code": str(version.code),
            "version": version.number,
            "status": version.status,
            "adopted_at": version.adopted_at.isoformat() if version.adopted_at else None,
            "digest": version.digest,
        },
        "content": content,
        # One line per task and model: the `inspect eval` run the content asks for.
        "runs": [
            {
                "task": task["task"],
                "task_version": task["task_version"],
                "model": model,
                "sample_ids": task["dataset"]["sample_ids"],
                "epochs": task["epochs"],
                "solver": task["solver"],
                "generate_config": {k: v for k, v in task["generate_config"].items() if v is not None},
            }
            for task in content["tasks"]
            for model in models
        ],
        "signatures": [
            {"organisation": s.organisation.short_name, "signed_at": s.signed_at.isoformat(), "digest": s.digest}
            for s in version.signatures.all()
        ],
    }
