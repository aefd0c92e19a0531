from __future__ import annotations

from django.apps import AppConfig


class ExchangesConfig(AppConfig):
    name = "exchanges"
    verbose_name = "Personnel exchanges"

    def ready(self) -> None:
        # Modules that use models are importable only once the app registry is ready.
        from django.contrib.auth.signals import user_logged_in

        from accounts.affiliations import register_counterparts
        from audit.reasons import Reason
        from audit.registry import TargetKind, register_target

        from .middleware import note_secondee
        from .selectors import counterparts, readable_secondment_codes, secondments_of_organisations

        user_logged_in.connect(note_secondee, weak=False, dispatch_uid="exchanges.secondee_hint")

        # The sharing gates learn between which organisations a secondee may not carry material.
        register_counterparts(counterparts)
        # Both sides' admins see every event on a secondment (proposal, approvals, switches, end);
        # anyone else reads it as withheld (audit/visibility.py).
        register_target(
            TargetKind(
                "exchanges.secondment",
                "secondment",
                Reason.NO_SUCH_SECONDMENT,
                readable_secondment_codes,
                secondments_of_organisations,
            )
        )
