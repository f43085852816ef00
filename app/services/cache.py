"""Cached public thread pages and counts, invalidated when their thread changes.

Every entry depends on one or two generations (the site's, and the thread's or the site's
counts'): random tokens, replaced when what they stand for changes. A write marks what it
touched on the session (`touch_thread`, `touch_site`); once the transaction commits, those
generations get new tokens. An entry is stored with the generations it was built under and is
served only while they are still current, so a lookup is one round trip: the generations and
the entry come back together (`get_many`). Generations are read before the database, and
replaced after commit (not before), so a reader can never store an old state under a new
generation. A generation the cache lost (evicted, or Redis emptied) gets a new token: nothing
stored before can match it, so losing one never brings an old page back.

The cache is Redis or in-process memory (Flask-Caching). In-process entries expire after
CACHE_DEFAULT_TIMEOUT (a few seconds, see config.py): without Redis, another process cannot
tell this one about its writes. If Redis is unreachable, reads go to the database and writes
carry on: the cache only ever makes things faster.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import cache, db

log = logging.getLogger(__name__)
_PENDING = "afterword.touched"
CACHE_ERRORS: tuple[type[BaseException], ...] = (OSError,)
try:  # redis is optional at run time: only needed when REDIS_URL is set
    from redis.exceptions import RedisError

    CACHE_ERRORS = (OSError, RedisError)
except ImportError:  # pragma: no cover
    pass


class Store(Protocol):
    """The part of a Flask-Caching backend (cachelib's API) used here."""

    def get_many(self, *keys: str) -> list[Any]: ...
    def set(self, key: str, value: Any, timeout: int | None = None) -> Any: ...
    def add(self, key: str, value: Any, timeout: int | None = None) -> bool: ...


@dataclass(frozen=True)
class Slot:
    """Where one cached value lives, and the generations it must have been built under."""

    key: str
    gen_keys: tuple[str, ...]


def site_slot(site_id: str) -> Slot:
    return Slot(f"site:{site_id}", (_site_gen_key(site_id),))


def counts_slot(site_id: str, variant: str) -> Slot:
    return Slot(
        "counts:" + _digest(site_id, variant), (_site_gen_key(site_id), _counts_gen_key(site_id))
    )


def thread_slot(site_id: str, thread_id: int, variant: str) -> Slot:
    return Slot(
        "page:" + _digest(site_id, str(thread_id), variant),
        (_site_gen_key(site_id), _thread_gen_key(thread_id)),
    )


def thread_id_slot(site_id: str, url: str) -> Slot:
    """A thread never changes its URL: its id, once found, is kept for good."""
    return Slot("thread-id:" + _digest(site_id, url), ())


def store() -> Store:
    """The cache backend of the current app."""
    return cache.cache


def read_slots(backend: Store, slots: Sequence[Slot]) -> tuple[list[Any], dict[str, str | None]]:
    """Each slot's value if still current (else None), and the generations it would be stored
    under now (None: unknown, do not store); one round trip when the generations exist."""
    gen_keys = list(dict.fromkeys(key for slot in slots for key in slot.gen_keys))
    values = backend.get_many(*gen_keys, *(slot.key for slot in slots))
    generations: dict[str, str | None] = {}
    for key, value in zip(gen_keys, values, strict=False):
        if value is None:
            value = _new_generation()
            if not backend.add(key, value, timeout=0):
                value = None  # another request just made one: store nothing under a guess
        generations[key] = value
    current = []
    for slot, stored in zip(slots, values[len(gen_keys) :], strict=True):
        wanted = tuple(generations[key] for key in slot.gen_keys)
        # (generations, value); anything else (a value of another shape) is simply a miss
        fresh = (
            isinstance(stored, tuple)
            and len(stored) == 2
            and None not in wanted
            and stored[0] == wanted
        )
        current.append(stored[1] if fresh else None)
    return current, generations


def touch_thread(site_id: str, thread_id: int) -> None:
    """A thread's comments changed (so may the site's counts): call inside the write."""
    touched = db.session.info.setdefault(_PENDING, set())
    touched.update({_thread_gen_key(thread_id), _counts_gen_key(site_id)})


def touch_site(site_id: str) -> None:
    """The site's settings changed: every page of it is stale."""
    db.session.info.setdefault(_PENDING, set()).add(_site_gen_key(site_id))


def cached_thread(site_id: str, thread_id: int, variant: str, build: Callable[[], Any]) -> Any:
    """`build()`'s result for one view of a thread, from the cache while still current."""
    return _cached(thread_slot(site_id, thread_id, variant), build)


def cached_site(site_id: str, build: Callable[[], Any]) -> Any:
    """A site's read-only view, renewed when its settings change (`touch_site`)."""
    return _cached(site_slot(site_id), build)


def cached_counts(site_id: str, variant: str, build: Callable[[], Any]) -> Any:
    return _cached(counts_slot(site_id, variant), build)


def cached_feed(site_id: str, thread_id: int | None, build: Callable[[], Any]) -> Any:
    """A site's feed (`thread_id` None: it changes with any thread) or a thread's."""
    site_gen = _site_gen_key(site_id)
    if thread_id is None:
        return _cached(Slot(f"feed:{site_id}", (site_gen, _counts_gen_key(site_id))), build)
    return _cached(
        Slot(f"feed:{site_id}:{thread_id}", (site_gen, _thread_gen_key(thread_id))), build
    )


def thread_id(site_id: str, url: str, find: Callable[[], int | None]) -> int | None:
    """The id of the thread of the page `url` (as the reader sent it). A page without a
    thread is asked again next time (its first comment creates one)."""
    found = remembered_thread_id(site_id, url)
    if found is None:
        found = _cached(thread_id_slot(site_id, url), find, timeout=0)
        remember_thread_id(site_id, url, found)
    return found


# Thread ids are also kept in each process, which saves a cache round trip per read.
_thread_ids: dict[tuple[str, str], int] = {}
THREAD_IDS_KEPT = 10_000


def remembered_thread_id(site_id: str, url: str) -> int | None:
    return _thread_ids.get((site_id, url))


def remember_thread_id(site_id: str, url: str, found: int | None) -> None:
    if found is None:
        return
    if len(_thread_ids) >= THREAD_IDS_KEPT:
        _thread_ids.clear()  # simpler than an LRU, and refilled by the next reads
    _thread_ids[site_id, url] = found


def _cached(slot: Slot, build: Callable[[], Any], timeout: int | None = None) -> Any:
    """`build()`, or what it gave before while the slot's generations are current. A None
    result is not kept."""
    try:
        backend = store()
        (value,), generations = read_slots(backend, [slot])
        if value is not None:
            return value
        value = build()
        built_under = tuple(generations[key] for key in slot.gen_keys)
        if value is not None and None not in built_under:
            backend.set(slot.key, (built_under, value), timeout=timeout)
        return value
    except CACHE_ERRORS as err:
        log.warning("cache unavailable (%s); reading from the database", type(err).__name__)
        return build()


def _bump(keys: set[str]) -> None:
    try:
        backend = store()
        for key in keys:
            backend.set(key, _new_generation(), timeout=0)
    except CACHE_ERRORS as err:
        log.warning("cache unavailable (%s); entries expire on their own", type(err).__name__)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    touched = session.info.pop(_PENDING, None)
    if touched:
        _bump(touched)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def _new_generation() -> str:
    return secrets.token_hex(8)


def _thread_gen_key(thread_id: int) -> str:
    return f"gen:thread:{thread_id}"


def _site_gen_key(site_id: str) -> str:
    return f"gen:site:{site_id}"


def _counts_gen_key(site_id: str) -> str:
    return f"gen:counts:{site_id}"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
