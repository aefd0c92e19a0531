"""Building exercises for tests: through the services, as a lead organisation's admin would."""

from __future__ import annotations

from accounts.models import ReadIn
from exercises.models import Exercise
from exercises.services import exercise_create
from tests.factories import PersonFactory, domains, tier

TASKS = [
    {
        "task": "inspect_evals/cybench",
        "task_version": "1.0.0",
        "dataset": "cybench",
        "sample_ids": ["avatar", "chunky", "avatar", "back_to_the_past"],
        "scorers": ["includes"],
        "metrics": ["accuracy", "stderr"],
        "epochs": 3,
        "temperature": 0.5,
        "max_tokens": 4096,
        "seed": 42,
        "solver": "basic_agent",
    },
    {
        "task": "inspect_evals/gpqa_diamond",
        "task_version": 0,
        "dataset": "gpqa_diamond",
        "sample_ids": [3, 1, 2],
        "scorers": ["choice"],
        "epochs": 1,
        "solver": "multiple_choice",
    },
]


def make_exercise(admin, agreement, *partners, reference: str = "JOINT-EX-9", **overrides) -> Exercise:
    """An exercise led by `admin`'s organisation with `partners`, official-sensitive, on cyber
    offence, under `agreement`; `admin` is read in to its compartment."""
    fields = {
        "reference": reference,
        "title": "Cyber uplift of Model X",
        "agreement": agreement,
        "participants": list(partners),
        "target_developer": "Frontier Lab",
        "target_name": "Model X",
        "target_version": "2026-11-01",
        "target_access": Exercise.Access.PUBLIC,
        "risk_domains": domains("cyber-offence"),
        "tier": tier("official-sensitive"),
        "reference_models": [{"developer": "Open Lab", "name": "Model R", "version": "1"}],
    }
    return exercise_create(actor=admin, **(fields | overrides))


def read_in(user, exercise: Exercise, **kwargs) -> ReadIn:
    return ReadIn.objects.create(user=user, compartment=exercise.compartment, **kwargs)


def member(organisation, exercise: Exercise | None = None, *, roles=(), clearance="secret", **kwargs):
    """A person of `organisation`, read in to `exercise` when one is given."""
    person = PersonFactory(organisation=organisation, roles=list(roles), clearance=clearance, **kwargs)
    if exercise is not None:
        read_in(person, exercise)
    return person
