"""The one exception the eval-log parser raises, and the limits it enforces."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

MIB = 1024 * 1024


class EvalLogError(Exception):
    """The input is not a readable Inspect log. `reason` is safe to show and to store: it never
    quotes the log's content, only what was wrong with it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class EvalLogLimits:
    """Bounds on what one log may cost to parse. Every limit holds whatever the log declares
    about itself: sizes are counted as bytes are actually read or produced."""

    # The log as uploaded: the whole .eval archive, or the whole .json document.
    max_log_bytes: int = 128 * MIB
    # Entries in an .eval archive's central directory (a real log has one per sample and epoch,
    # plus a handful of its own).
    max_members: int = 20_000
    # Decompressed bytes of the one member read (header.json), and of the parts of a .json log
    # that are kept (everything but the samples).
    max_member_bytes: int = 16 * MIB
    # Decompressed / compressed size of a member, checked once the output passes 1 MiB: JSON
    # compresses well, but not by three orders of magnitude.
    max_ratio: int = 500
    # Nesting of the JSON values that are kept (json.loads recurses once per level).
    max_json_depth: int = 64
    # Decompressed bytes of all sample members of an .eval archive read together (each also
    # within max_member_bytes); a .json log's samples are within max_log_bytes already.
    max_samples_bytes: int = 1024 * MIB

    @classmethod
    def from_settings(cls) -> EvalLogLimits:
        defaults = cls()
        # The parser is usable outside Django (scripts, notebooks) with the defaults.
        if not settings.configured:
            return defaults
        return cls(
            max_log_bytes=getattr(settings, "EVALS_MAX_LOG_BYTES", defaults.max_log_bytes),
            max_members=getattr(settings, "EVALS_MAX_MEMBERS", defaults.max_members),
            max_member_bytes=getattr(settings, "EVALS_MAX_MEMBER_BYTES", defaults.max_member_bytes),
            max_ratio=getattr(settings, "EVALS_MAX_RATIO", defaults.max_ratio),
            max_json_depth=getattr(settings, "EVALS_MAX_JSON_DEPTH", defaults.max_json_depth),
            max_samples_bytes=getattr(settings, "EVALS_MAX_SAMPLES_BYTES", defaults.max_samples_bytes),
        )
