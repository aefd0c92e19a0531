from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_production_table_lists_exactly_the_variables_settings_read():
    settings_src = (ROOT / "portal" / "settings.py").read_text()
    read = set(re.findall(r'"((?:ACCORD_[A-Z0-9_]+)|DATABASE_URL|CELERY_BROKER_URL)"', settings_src))
    readme = (ROOT / "README.md").read_text()
    production = readme[readme.index("## Production") :]
    rows = [line for line in production.splitlines() if line.startswith("| `")]
    documented = {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}
    assert documented == read


def test_readme_opens_with_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```")[1]
    assert "make run" in first_block and "make test" in first_block
