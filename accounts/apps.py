from __future__ import annotations

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "People and organisations"
    default = True

    def ready(self) -> None:
        from . import signals  # noqa: F401


class AccordAdminConfig(admin_apps.AdminConfig):
    """Installed in place of django.contrib.admin: the default site requires a verified TOTP."""

    default = False
    default_site = "accounts.admin_site.AccordAdminSite"
