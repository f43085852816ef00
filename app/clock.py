"""The service's clock: the time that expiry, lifetimes and timestamps are measured by.

Everything that asks for "now" (row timestamps, signed links and tokens) reads it here, so
that a test moves time forward rather than sleeping or patching the time module.
"""

from __future__ import annotations

import time as _time
from datetime import UTC, datetime, timedelta

_ahead = 0.0  # seconds; only tests move it, through advance() and reset()


def time() -> float:
    """Seconds since the epoch, as time.time()."""
    return _time.time() + _ahead


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC) + timedelta(seconds=_ahead)


def advance(seconds: float) -> None:
    """Move the clock forward (tests)."""
    global _ahead
    _ahead += seconds


def reset() -> None:
    """Back to the real time (tests)."""
    global _ahead
    _ahead = 0.0
