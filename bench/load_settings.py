"""Settings for bench/bench_load.py: the portal's own settings with the bench URLconf, which adds
the bare baseline views (and stand-ins for document pages not yet in the portal). Never used by
the portal itself."""

from __future__ import annotations

from portal.settings import *  # noqa: F403
from portal.settings import BASE_DIR, TEMPLATES

ROOT_URLCONF = "bench.load_urls"
TEMPLATES[0]["DIRS"] = [*TEMPLATES[0]["DIRS"], BASE_DIR / "bench" / "templates"]
