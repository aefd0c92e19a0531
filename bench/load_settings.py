"""Settings for bench/bench_load.py: the portal's own settings with the bench URLconf, which adds
the bare baseline views. Never used by the portal itself."""

from __future__ import annotations

from portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.load_urls"
