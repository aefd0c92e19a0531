from __future__ import annotations

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps

from audit.registry import set_trail_readers


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "People and organisations"
    default = True

    def ready(self) -> None:
        # Modules that use models are importable only once the app registry is ready.
        from . import signals
        from .access import audit_trail_readers
        from .sessions import on_credentials_revoked

        # A credential reset ends the records of the sessions its epoch signs out.
        signals.credentials_revoked.connect(on_credentials_revoked, dispatch_uid="accounts.sessions")

        set_trail_readers(audit_trail_readers())


class AccordAdminConfig(admin_apps.AdminConfig):
    """Installed in place of django.contrib.admin: the default site requires a verified TOTP."""

    default = False
    default_site = "accounts.admin_site.AccordAdminSite"
