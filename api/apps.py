from __future__ import annotations

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "REST API"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported once the app registry is ready: DRF and drf-spectacular expect a configured
        # Django, and the token services use models.
        from accounts.signals import credentials_revoked

        from . import schema  # noqa: F401  (registers the bearer scheme with drf-spectacular)
        from .tokens import on_credentials_revoked

        # A credential reset (MFA, password, deactivation) revokes the person's tokens with it.
        credentials_revoked.connect(on_credentials_revoked, dispatch_uid="api.tokens.credentials_revoked")
