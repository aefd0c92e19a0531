from __future__ import annotations

from django.apps import AppConfig


class ExercisesConfig(AppConfig):
    name = "exercises"
    verbose_name = "Joint testing exercises"

    def ready(self) -> None:
        # Modules that use models are importable only once the app registry is ready.
        from accounts.compartments import register_compartment_source
        from audit.reasons import Reason
        from audit.registry import TargetKind, register_target

        from .policy import visible_exercise_codes, visible_protocol_version_codes
        from .selectors import led_exercises, led_protocol_versions, participant_compartment_ids

        # A participant's admins see the exercise's compartment, so they can nominate their people.
        register_compartment_source(participant_compartment_ids)
        # Events about an exercise name it: shown as audit/visibility.py decides from these.
        register_target(
            TargetKind("exercises.exercise", "exercise", Reason.NO_SUCH_EXERCISE, visible_exercise_codes, led_exercises)
        )
        register_target(
            TargetKind(
                "exercises.protocolversion",
                "protocol version",
                Reason.NO_SUCH_PROTOCOL_VERSION,
                visible_protocol_version_codes,
                led_protocol_versions,
            )
        )
