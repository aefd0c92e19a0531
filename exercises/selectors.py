"""Reads about exercises. Lists for a person go through `policy.visible_exercises`."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from accounts.models import Organisation

from .models import Exercise, Participant, ProtocolVersion


def participant_compartment_ids(organisation: Organisation) -> QuerySet:
    """The compartments of the exercises `organisation` takes part in: its admins see that they
    exist, to nominate their people (registered with accounts.compartments)."""
    exercises = Participant.objects.filter(organisation=organisation).values("exercise_id")
    return Exercise.objects.filter(pk__in=exercises).values("compartment_id")


def led_exercises(organisation_ids: Iterable[int]) -> QuerySet[Exercise]:
    """The exercises those organisations lead: their admins see every event about them."""
    return Exercise.objects.filter(lead_id__in=list(organisation_ids))


def led_protocol_versions(organisation_ids: Iterable[int]) -> QuerySet[ProtocolVersion]:
    return ProtocolVersion.objects.filter(exercise__lead_id__in=list(organisation_ids))


def current_draft(exercise: Exercise) -> ProtocolVersion | None:
    """The version awaiting signatures, if any."""
    return exercise.protocol_versions.filter(status=ProtocolVersion.Status.DRAFT).first()


def adopted_version(exercise: Exercise) -> ProtocolVersion | None:
    """The version in force: the adopted one (runs follow it)."""
    return exercise.protocol_versions.filter(status=ProtocolVersion.Status.ADOPTED).first()


def latest_version(exercise: Exercise) -> ProtocolVersion | None:
    return exercise.protocol_versions.order_by("-number").first()
