"""Rate limits counted in the process, when there is no Redis: limits' own memory storage,
without starting a thread as it counts.

limits' MemoryStorage checks a key's expiry whenever the key is read, and purges the keys
nobody reads again from a timer thread, which a hit starts anew once the last one (10 ms)
has ended. Under steady posting that is a new thread every few requests, and `Thread.start`
waits until the thread has run: on two busy cores, a millisecond or more of the request.
Here the purge runs in the request itself, at most once a second.
"""

from __future__ import annotations

import time
from typing import Any

from limits.storage import MemoryStorage

SCHEME = "afterword-memory"  # RATELIMIT_STORAGE_URI without Redis (config.py)


class InProcessStorage(MemoryStorage):
    # limits registers every storage class under its schemes.
    STORAGE_SCHEME = [SCHEME]  # noqa: RUF012 - the base class's type, a plain list
    PURGE_EVERY = 1.0  # seconds

    def __init__(
        self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any
    ) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._purged = time.monotonic()

    # MemoryStorage's private hook, called on every hit, named as Python mangles it there.
    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now - self._purged >= self.PURGE_EVERY:
            self._purged = now
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]
