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

With Redis, each process also keeps the entries it has read or stored (`LOCAL`), with the
generations they were built under: a hit then needs only the current generations, a few bytes,
instead of fetching and unpickling the page, and those it usually knows without asking
(`app/services/generations.py`: writes announce the generations they replace). A kept entry is
served only while those generations are the current ones in Redis, so a write in any process
retires it everywhere at once, exactly as it retires the entry in Redis. Readers' own pages
(signed in, or a guest's with their waiting comments) are kept apart (`PRIVATE_LOCAL`),
within a total size and for no longer than Redis keeps them.

The cache is Redis or in-process memory (Flask-Caching). In-process entries expire after
CACHE_DEFAULT_TIMEOUT (a few seconds, see config.py): without Redis, another process cannot
tell this one about its writes. If Redis is unreachable, reads go to the database and writes
carry on: the cache only ever makes things faster.

Guests choose what they ask for, so nothing they can make the cache keep lasts for good or
multiplies with their spelling: every entry expires (generations too, after many entry
lifetimes), pages are keyed by canonical thread keys, counts by the set of their canonical
keys, and a miss on a site that does not exist takes back the generation it made. What is kept
by the URL or query string as sent, to spare a hit the parsing, stays in the process, in a
`Memo` of bounded size.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from cachelib import SimpleCache
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.domain.policy import URL_MAX
from app.extensions import cache, db

# Named apart: `generations` is what many functions here call the values they read.
from app.services import generations as generations_table

log = logging.getLogger(__name__)
_PENDING = "afterword.touched"
CACHE_ERRORS: tuple[type[BaseException], ...] = (OSError,)
try:  # redis is optional at run time: only needed when REDIS_URL is set
    from redis.exceptions import RedisError

    CACHE_ERRORS = (OSError, RedisError)
except ImportError:  # pragma: no cover
    pass

# Generations outlive the entries stored under them, by this many entry lifetimes
# (CACHE_DEFAULT_TIMEOUT): one that expires costs each of its entries one early miss.
GENERATION_LIFETIMES = 24
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Store(Protocol):
    """The part of a Flask-Caching backend (cachelib's API) used here."""

    default_timeout: int

    def get_many(self, *keys: str) -> list[Any]: ...
    def set(self, key: str, value: Any, timeout: int | None = None) -> Any: ...
    def add(self, key: str, value: Any, timeout: int | None = None) -> bool: ...
    def delete_many(self, *keys: str) -> Any: ...


class Memo(Generic[K, V]):
    """A dict of at most `capacity` entries that forgets the least recently used first."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()  # gunicorn's threaded workers share it

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class SizedMemo(Memo[K, V]):
    """A Memo bounded by the size of what it holds (`size_of` each value), not their number:
    for values whose sizes differ a hundredfold, as pages of threads do."""

    def __init__(self, capacity: int, size_of: Callable[[V], int]) -> None:
        super().__init__(capacity)
        self._size_of = size_of
        self._sizes: dict[K, int] = {}
        self.size = 0

    def put(self, key: K, value: V) -> None:
        size = self._size_of(value)
        if size > self.capacity:
            return  # it would push out everything else and then itself
        with self._lock:
            self.size += size - self._sizes.get(key, 0)
            self._sizes[key] = size
            self._entries[key] = value
            self._entries.move_to_end(key)
            while self.size > self.capacity:
                old, _ = self._entries.popitem(last=False)
                self.size -= self._sizes.pop(old)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._sizes.clear()
            self.size = 0


@dataclass(frozen=True)
class Slot:
    """Where one cached value lives, and the generations it must have been built under."""

    key: str
    gen_keys: tuple[str, ...]
    # Whether each process may keep it (`LOCAL`).
    local: bool = True
    # One reader's page: kept apart (`PRIVATE_LOCAL`), within a size and only for as long as
    # the cache itself keeps it, as there are many more of them than of pages.
    private: bool = False


def site_slot(site_id: str) -> Slot:
    return Slot(f"site:{site_id}", (_site_gen_key(site_id),))


def site_row_slot(site_id: str) -> Slot:
    """A site's columns, for a write that reads its settings (`sites.cached_site_row`)."""
    return Slot(f"site-row:{site_id}", (_site_gen_key(site_id),))


def counts_slot(site_id: str, keys: Iterable[str]) -> Slot:
    """The counts of some pages, by their canonical keys: however a reader orders, repeats or
    spells the URLs, one entry."""
    return Slot("counts:" + _digest(site_id, *sorted(set(keys))), _counts_gen_keys(site_id))


def thread_slot(site_id: str, thread_id: int, variant: str) -> Slot:
    return Slot(
        "page:" + _digest(site_id, str(thread_id), variant),
        (_site_gen_key(site_id), _thread_gen_key(thread_id)),
    )


def private_slot(
    site_id: str, thread_id: int, variant: str, reader: str, user_id: int | None
) -> Slot:
    """One reader's view of a thread (their pending comments, likes, `mine` marks; never a
    moderator's, see app/api/routes.py). `reader` says who, as proved
    (`read_rules.private_reader`); their account's generation covers what changes about them
    elsewhere (`touch_reader`)."""
    gen_keys = [_site_gen_key(site_id), _thread_gen_key(thread_id), _MODERATORS_GEN]
    if user_id is not None:
        gen_keys.append(_reader_gen_key(user_id))
    key = "private:" + _digest(site_id, str(thread_id), variant, reader)
    return Slot(key, tuple(gen_keys), private=True)


def posting_slot(site_id: str) -> Slot:
    """What a new comment on the site is checked against that rarely changes
    (app/services/posting_facts.py)."""
    return Slot(f"posting:{site_id}", (_posting_gen_key(site_id), _MODERATORS_GEN))


def thread_id_slot(site_id: str, key: str) -> Slot:
    """The id of the thread of a page, by its canonical key (`policy.canonical_url`). A thread
    never changes its URL: its id, once found, is kept as long as a generation."""
    return Slot("thread-id:" + _digest(site_id, key), ())


def store() -> Store:
    """The cache backend of the current app."""
    return cache.cache


def is_shared(backend: Store) -> bool:
    """Whether every process reads this backend (Redis), rather than its own memory."""
    return not isinstance(backend, SimpleCache)


@dataclass(frozen=True, slots=True)
class Kept:
    """An entry kept in this process: the generations it was built under, and its value."""

    built_under: tuple[str | None, ...]
    value: Any
    expires: float | None = None  # time.monotonic(); None: as long as its generations


# Entries of a shared cache kept in each process (a thread page is ~15 KB gzipped). In-process
# caches keep nothing here: their entries are already in the process.
LOCAL_KEPT = 1_000
LOCAL: Memo[str, Kept] = Memo(LOCAL_KEPT)
# Readers' own pages kept in each process, by their gzipped size: a thousand readers of a
# 100-comment thread fit.
PRIVATE_LOCAL_BYTES = 16 * 2**20


def _size_of(entry: Kept) -> int:
    gzipped = getattr(entry.value, "gzipped", b"")
    return len(gzipped) + 200 if isinstance(gzipped, bytes) else 200


PRIVATE_LOCAL: SizedMemo[str, Kept] = SizedMemo(PRIVATE_LOCAL_BYTES, _size_of)


def kept(slot: Slot) -> Kept | None:
    """What this process keeps for the slot, current or not."""
    if not slot.local:
        return None
    if not slot.private:
        return LOCAL.get(slot.key)
    entry = PRIVATE_LOCAL.get(slot.key)
    if entry is None or (entry.expires is not None and entry.expires <= time.monotonic()):
        return None
    return entry


def built_under(slot: Slot, generations: Mapping[str, str | None]) -> tuple[str | None, ...]:
    """The generations an entry of the slot must have been built under to be current."""
    return tuple(generations.get(key) for key in slot.gen_keys)


def _keep(backend: Store, slot: Slot, built_under: tuple[str | None, ...], value: Any) -> None:
    if not (slot.local and slot.gen_keys and is_shared(backend)):
        return
    if slot.private:
        # At most PRIVATE_TIMEOUT from now, as in the cache: a reader who left is not kept.
        expires = time.monotonic() + PRIVATE_TIMEOUT
        PRIVATE_LOCAL.put(slot.key, Kept(built_under, value, expires))
    else:
        LOCAL.put(slot.key, Kept(built_under, value))


def read_slots(
    backend: Store, slots: Sequence[Slot], also: Sequence[str] = ()
) -> tuple[list[Any], dict[str, str | None]]:
    """Each slot's value if still current (else None), and the generations it would be stored
    under now (None: unknown, do not store), with those named in `also`; one round trip when
    the generations exist."""
    values, generations, _ = _read_slots(backend, slots, also)
    return values, generations


def generation_keys(slots: Sequence[Slot], also: Sequence[str] = ()) -> list[str]:
    """The generations these slots depend on, and those named in `also`, each once."""
    return list(dict.fromkeys([*(key for slot in slots for key in slot.gen_keys), *also]))


def _read_slots(
    backend: Store, slots: Sequence[Slot], also: Sequence[str] = ()
) -> tuple[list[Any], dict[str, str | None], list[str]]:
    """`read_slots`, and the generations it made."""
    gen_keys = generation_keys(slots, also)
    table = _known(backend)
    ticket = table.ticket() if table is not None else None
    values = backend.get_many(*gen_keys, *(slot.key for slot in slots))
    if table is not None:
        prefix = generations_table.prefix_of(backend)
        read = zip(gen_keys, values, strict=False)
        table.learn(ticket, {prefix + key: v for key, v in read if isinstance(v, str)})
    generations: dict[str, str | None] = {}
    made = []
    for key, value in zip(gen_keys, values, strict=False):
        if value is None:
            value = _new_generation()
            if backend.add(key, value, timeout=_generation_timeout(backend)):
                made.append(key)
            else:
                value = None  # another request just made one: store nothing under a guess
        generations[key] = value
    current = [
        current_entry(backend, slot, stored, generations)
        for slot, stored in zip(slots, values[len(gen_keys) :], strict=True)
    ]
    return current, generations, made


def _known(backend: Store) -> generations_table.Known | None:
    """This process's table of a shared cache's generations (None: an in-process cache)."""
    client = getattr(backend, "_write_client", None)  # cachelib names its client so
    if client is None:
        return None
    return generations_table.known_for(client, generations_table.prefix_of(backend))


def _kept_current(backend: Store, slot: Slot) -> Any:
    """What this process keeps for the slot, if the generations it was built under are the
    current ones as this process knows them without asking Redis; else None."""
    entry = kept(slot)
    table = _known(backend) if entry is not None else None
    if entry is None or table is None:
        return None
    prefix = generations_table.prefix_of(backend)
    known = table.current([prefix + key for key in slot.gen_keys])
    return entry.value if known is not None and tuple(known) == entry.built_under else None


def current_entry(backend: Store, slot: Slot, stored: Any, generations: dict[str, Any]) -> Any:
    """The value of an entry as read from the cache if it was built under `generations`
    (kept in this process from then on), else None."""
    wanted = built_under(slot, generations)
    # (generations, value); anything else (a value of another shape) is simply a miss
    fresh = isinstance(stored, tuple) and len(stored) == 2
    fresh = fresh and None not in wanted and stored[0] == wanted
    if not fresh:
        return None
    _keep(backend, slot, wanted, stored[1])
    return stored[1]


def touch_thread(site_id: str, thread_id: int) -> None:
    """A thread's comments changed (so may the site's counts): call inside the write."""
    touched = db.session.info.setdefault(_PENDING, set())
    touched.update({_thread_gen_key(thread_id), _counts_gen_key(site_id)})


def touch_site(site_id: str) -> None:
    """The site's settings changed: every page of it is stale."""
    db.session.info.setdefault(_PENDING, set()).add(_site_gen_key(site_id))


def touch_posting(site_id: str) -> None:
    """The site's bans, webhook or filter lessons changed: what posts are checked against is
    stale."""
    db.session.info.setdefault(_PENDING, set()).add(_posting_gen_key(site_id))


def touch_reader(user_id: int) -> None:
    """Something about a reader's account changed: their own pages are stale."""
    db.session.info.setdefault(_PENDING, set()).add(_reader_gen_key(user_id))


def touch_moderators() -> None:
    """Who moderates which site, or through which account, changed: every reader's own
    pages are stale (a moderator's page carries the queue). Rare, so kept coarse."""
    db.session.info.setdefault(_PENDING, set()).add(_MODERATORS_GEN)


def cached_thread(site_id: str, thread_id: int, variant: str, build: Callable[[], Any]) -> Any:
    """`build()`'s result for one view of a thread, from the cache while still current."""
    return _cached(thread_slot(site_id, thread_id, variant), build)


# One reader's page is kept a short while: long enough for their reloads and live updates,
# short enough that readers who came once do not fill the cache.
PRIVATE_TIMEOUT = 300


def cached_private(slot: Slot, build: Callable[[], Any]) -> Any:
    """`build()`'s result for one reader's view of a thread (`private_slot`)."""
    return _cached(slot, build, timeout=PRIVATE_TIMEOUT)


def cached_site(site_id: str, build: Callable[[], Any]) -> Any:
    """A site's read-only view, renewed when its settings change (`touch_site`)."""
    return _cached(site_slot(site_id), build)


def cached_site_row(site_id: str, build: Callable[[], Any]) -> Any:
    """`build()`'s columns of a site, renewed when its row changes (`touch_site`)."""
    return _cached(site_row_slot(site_id), build)


def cached_posting(site_id: str, build: Callable[[], Any]) -> Any:
    """`build()`'s facts about posting on the site (`posting_slot`)."""
    return _cached(posting_slot(site_id), build)


def cached_counts(site_id: str, keys: Sequence[str], build: Callable[[], Any]) -> Any:
    """`build()`'s counts of the pages of these canonical keys, shared by every process."""
    return _cached(counts_slot(site_id, keys), build)


@dataclass(frozen=True, slots=True)
class _Answer:
    """A counts answer kept in this process: until when, and under which generations."""

    expires: float
    built_under: tuple[str | None, ...]
    answer: Any


# Counts answers by the query string as sent (the answer names each URL as it was sent), so
# that a repeat parses nothing; kept in each process, where their number has a bound.
COUNTS_ANSWERS_KEPT = 1_000
COUNTS_ANSWERS: Memo[tuple[str, str], _Answer] = Memo(COUNTS_ANSWERS_KEPT)


def counts_answer(site_id: str, query: str, build: Callable[[], Any]) -> Any:
    """`build()`'s answer to counts asked with this query string, from this process's memo
    while the site's counts stay current."""
    try:
        backend = store()
        _, generations = read_slots(backend, [], _counts_gen_keys(site_id))
    except CACHE_ERRORS as err:
        log.warning("cache unavailable (%s); reading from the database", type(err).__name__)
        return build()
    built_under = tuple(generations[key] for key in _counts_gen_keys(site_id))
    kept = COUNTS_ANSWERS.get((site_id, query))
    if kept is not None and _is_current(kept, built_under):
        return kept.answer
    answer = build()
    if answer is not None and None not in built_under:
        lifetime = backend.default_timeout or math.inf
        COUNTS_ANSWERS.put(
            (site_id, query), _Answer(time.monotonic() + lifetime, built_under, answer)
        )
    return answer


def remembers_counts(site_id: str, query: str) -> bool:
    """Whether this process has an answer (current or not) to counts asked so."""
    return COUNTS_ANSWERS.get((site_id, query)) is not None


def counts_generation_keys(site_id: str) -> tuple[str, ...]:
    return _counts_gen_keys(site_id)


def remembered_counts(site_id: str, query: str, generations: dict[str, str | None]) -> Any:
    """This process's answer to counts asked with this query string, if it was built under
    `generations` (as just read from the cache); else None."""
    kept = COUNTS_ANSWERS.get((site_id, query))
    built_under = tuple(generations.get(key) for key in _counts_gen_keys(site_id))
    return kept.answer if kept is not None and _is_current(kept, built_under) else None


def _is_current(kept: _Answer, generations: tuple[str | None, ...]) -> bool:
    return (
        None not in generations
        and kept.built_under == generations
        and (time.monotonic() < kept.expires)
    )


def cached_feed(site_id: str, thread_id: int | None, build: Callable[[], Any]) -> Any:
    """A site's feed (`thread_id` None: it changes with any thread) or a thread's."""
    site_gen = _site_gen_key(site_id)
    if thread_id is None:
        return _cached(Slot(f"feed:{site_id}", (site_gen, _counts_gen_key(site_id))), build)
    return _cached(
        Slot(f"feed:{site_id}:{thread_id}", (site_gen, _thread_gen_key(thread_id))), build
    )


def thread_id(site_id: str, url: str, key: str, find: Callable[[], int | None]) -> int | None:
    """The id of the thread of the page `url` (as the reader sent it; `key` is its canonical
    key). A page without a thread is asked again next time (its first comment creates one)."""
    found = remembered_thread_id(site_id, url)
    if found is None:
        found = _cached(thread_id_slot(site_id, key), find, lasting=True)
        remember_thread_id(site_id, url, found)
    return found


# Thread ids are also kept in each process by the URL as sent, which saves a hit the cache
# round trip and the parsing of the URL.
THREAD_IDS_KEPT = 10_000
THREAD_IDS: Memo[tuple[str, str], int] = Memo(THREAD_IDS_KEPT)


def remembered_thread_id(site_id: str, url: str) -> int | None:
    return THREAD_IDS.get((site_id, url))


def remember_thread_id(site_id: str, url: str, found: int | None) -> None:
    if found is not None and len(url) <= URL_MAX:  # padded beyond, it would only take room
        THREAD_IDS.put((site_id, url), found)


def _cached(
    slot: Slot, build: Callable[[], Any], *, lasting: bool = False, timeout: int | None = None
) -> Any:
    """`build()`, or what it gave before while the slot's generations are current. A None
    result is not kept; a `lasting` one is kept as long as a generation, one with a
    `timeout` at most that long."""
    try:
        backend = store()
        if (value := _kept_current(backend, slot)) is not None:
            return value  # no round trip at all
        (value,), generations, made = _read_slots(backend, [slot])
    except CACHE_ERRORS as err:
        log.warning("cache unavailable (%s); reading from the database", type(err).__name__)
        return build()
    if value is not None:
        return value
    try:
        value = build()
    except Exception:
        # Nothing was found to keep (a site id that names no site, say): a guest's guesses
        # must not leave generations behind. Losing a generation is always safe.
        if made:
            _forget(backend, made)
        raise
    built_under = tuple(generations[key] for key in slot.gen_keys)
    if value is not None and None not in built_under:
        _put(backend, slot, built_under, value, lasting=lasting, timeout=timeout)
    return value


def _put(
    backend: Store,
    slot: Slot,
    built_under: tuple[str | None, ...],
    value: Any,
    *,
    lasting: bool,
    timeout: int | None,
) -> None:
    if lasting:
        timeout = _generation_timeout(backend)
    elif timeout is not None:
        timeout = min(timeout, int(backend.default_timeout) or timeout)
    try:
        backend.set(slot.key, (built_under, value), timeout=timeout)
    except CACHE_ERRORS as err:
        log.warning("cache unavailable (%s); not keeping the answer", type(err).__name__)
    else:
        _keep(backend, slot, built_under, value)


def _bump(keys: set[str]) -> None:
    try:
        backend = store()
        values = {key: _new_generation() for key in keys}
        timeout = _generation_timeout(backend)
        if is_shared(backend):
            generations_table.replace(backend, values, timeout)
        else:
            for key, value in values.items():
                backend.set(key, value, timeout=timeout)
    except CACHE_ERRORS as err:
        log.warning("cache unavailable (%s); entries expire on their own", type(err).__name__)


def _forget(backend: Store, keys: list[str]) -> None:
    try:
        backend.delete_many(*keys)
    except CACHE_ERRORS as err:
        log.warning("cache unavailable (%s); generations expire on their own", type(err).__name__)


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


def _generation_timeout(backend: Store) -> int:
    return int(backend.default_timeout) * GENERATION_LIFETIMES


def _counts_gen_keys(site_id: str) -> tuple[str, str]:
    return (_site_gen_key(site_id), _counts_gen_key(site_id))


_MODERATORS_GEN = "gen:moderators"


def _posting_gen_key(site_id: str) -> str:
    return f"gen:posting:{site_id}"


def _reader_gen_key(user_id: int) -> str:
    return f"gen:reader:{user_id}"


def _thread_gen_key(thread_id: int) -> str:
    return f"gen:thread:{thread_id}"


def _site_gen_key(site_id: str) -> str:
    return f"gen:site:{site_id}"


def _counts_gen_key(site_id: str) -> str:
    return f"gen:counts:{site_id}"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
