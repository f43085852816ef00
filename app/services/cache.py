"""Cached public thread pages and counts, invalidated when their thread changes.

Entries are keyed by a per-site and a per-thread generation number. A write marks what it
touched on the session (`touch_thread`, `touch_site`); once the transaction commits, the
generations move on, so every older entry is simply never read again and ages out. Marking
after commit (not before) keeps a reader from caching the old state in between.

The cache is Redis or in-process memory (Flask-Caching). If Redis is unreachable, reads go to
the database and writes carry on: the cache only ever makes things faster.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import cache, db

log = logging.getLogger(__name__)
_PENDING = "afterword.touched"
_CACHE_ERRORS: tuple[type[BaseException], ...] = (OSError,)
try:  # redis is optional at run time: only needed when REDIS_URL is set
    from redis.exceptions import RedisError

    _CACHE_ERRORS = (OSError, RedisError)
except ImportError:  # pragma: no cover
    pass


def touch_thread(site_id: str, thread_id: int) -> None:
    """A thread's comments changed (so may the site's counts): call inside the write."""
    touched = db.session.info.setdefault(_PENDING, set())
    touched.update({_thread_gen_key(thread_id), _counts_gen_key(site_id)})


def touch_site(site_id: str) -> None:
    """The site's settings changed: every page of it is stale."""
    db.session.info.setdefault(_PENDING, set()).add(_site_gen_key(site_id))


def cached_thread(site_id: str, thread_id: int, variant: str, build: Callable[[], Any]) -> Any:
    """`build()`'s result for one view of a thread, from the cache while still current."""
    return _cached([_site_gen_key(site_id), _thread_gen_key(thread_id)], variant, build)


def cached_site(site_id: str, build: Callable[[], Any]) -> Any:
    """A site's read-only view, renewed when its settings change (`touch_site`)."""
    return _cached([_site_gen_key(site_id)], f"site:{site_id}", build)


def thread_id(site_id: str, key: str, find: Callable[[], int | None]) -> int | None:
    """A page's thread id. A thread never changes its URL, so a found id is kept for good;
    a page without a thread is asked again next time (its first comment creates one)."""
    cache_key = "thread-id:" + _digest(site_id, key)
    try:
        found = cache.get(cache_key)
        if found is None:
            found = find()
            if found is not None:
                cache.set(cache_key, found, timeout=0)
        return found
    except _CACHE_ERRORS as err:
        log.warning("cache unavailable (%s); reading from the database", type(err).__name__)
        return find()


def cached_counts(site_id: str, variant: str, build: Callable[[], Any]) -> Any:
    return _cached([_site_gen_key(site_id), _counts_gen_key(site_id)], variant, build)


def _cached(gen_keys: list[str], variant: str, build: Callable[[], Any]) -> Any:
    try:
        generations = cache.get_many(*gen_keys)
        key = "entry:" + _digest(*gen_keys, *(str(g or 0) for g in generations), variant)
        hit = cache.get(key)
        if hit is not None:
            return hit
        value = build()
        cache.set(key, value)
        return value
    except _CACHE_ERRORS as err:
        log.warning("cache unavailable (%s); reading from the database", type(err).__name__)
        return build()


def _bump(keys: set[str]) -> None:
    for key in keys:
        try:
            # Not atomic across processes, and need not be: any change of number invalidates.
            cache.set(key, (cache.get(key) or 0) + 1, timeout=0)
        except _CACHE_ERRORS as err:
            log.warning("cache unavailable (%s); entries expire on their own", type(err).__name__)
            return


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    touched = session.info.pop(_PENDING, None)
    if touched:
        _bump(touched)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def _thread_gen_key(thread_id: int) -> str:
    return f"gen:thread:{thread_id}"


def _site_gen_key(site_id: str) -> str:
    return f"gen:site:{site_id}"


def _counts_gen_key(site_id: str) -> str:
    return f"gen:counts:{site_id}"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
