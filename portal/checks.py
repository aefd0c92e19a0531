"""Deployment checks (`manage.py check --deploy`): the key directory is private to the service.

The keys there (master key, audit signing key) decrypt every attachment and vouch for the audit
trail; a group- or world-readable key directory is a breach waiting for a shell account.
"""

from __future__ import annotations

import stat
from pathlib import Path

from django.conf import settings
from django.core.checks import Tags, Warning, register


def _loose(path: Path) -> bool:
    return bool(stat.S_IMODE(path.stat().st_mode) & 0o077)


@register(Tags.security, deploy=True)
def key_directory_permissions(app_configs, **kwargs) -> list[Warning]:
    problems: list[Warning] = []
    key_dir = Path(settings.KEY_DIR)
    if key_dir.is_dir():
        if _loose(key_dir):
            problems.append(
                Warning(
                    f"The key directory {key_dir} is open to group or others.",
                    hint=f"chmod 0700 {key_dir} (owned by the service user).",
                    id="accord.W001",
                )
            )
        for entry in sorted(key_dir.iterdir()):
            if entry.is_file() and _loose(entry):
                problems.append(
                    Warning(
                        f"The key file {entry} is open to group or others.",
                        hint=f"chmod 0600 {entry}",
                        id="accord.W002",
                    )
                )
    master = Path(settings.MASTER_KEY_FILE)
    if master.is_file() and master.parent != key_dir and _loose(master):
        problems.append(
            Warning(
                f"The master key file {master} is open to group or others.",
                hint=f"chmod 0600 {master}",
                id="accord.W002",
            )
        )
    return problems
