from __future__ import annotations

from django.apps import AppConfig


class PortalConfig(AppConfig):
    """Configuration only: registers the deployment checks in portal/checks.py."""

    name = "portal"
    label = "portal"

    def ready(self) -> None:
        # Imported in ready(), where Django documents registering system checks.
        from . import checks  # noqa: F401 - registers the checks
