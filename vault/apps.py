from __future__ import annotations

from django.apps import AppConfig


class VaultConfig(AppConfig):
    name = "vault"
    verbose_name = "Ciphertext vault"

    def ready(self) -> None:
        # Modules that use models are importable only once the app registry is ready.
        from . import checks  # noqa: F401 - registers the key provider's start-up check
        from .tasks import register_work

        register_work()
