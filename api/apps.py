from __future__ import annotations

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "REST API"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported once the app registry is ready: DRF and drf-spectacular expect a configured Django.
        from . import schema  # noqa: F401  (registers the bearer scheme with drf-spectacular)
