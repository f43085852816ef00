"""The cache's generations as this process knows them, kept current by Redis pub/sub.

A cached read is served only while the generations its entry was built under are current
(`app/services/cache.py`). Asking Redis for them costs a round trip, which is most of what
a cached read costs. So every write that replaces generations also announces the new values
on a channel (in the same MULTI/EXEC as the SETs: Redis orders announcements exactly as it
orders the writes), and each process keeps what it heard or read in a table that a thread of
its own keeps current from that channel (`Watch`). A read whose generations are all in the
table, and trusted, needs no round trip for them.

Why the table stays correct:
- It holds only values Redis held: read by a round trip, or announced.
- A value read by a round trip is learned only if nothing was heard on the channel since the
  round trip began (`ticket`): an announcement that crossed it could otherwise be undone by
  an older value.
- Announcements are applied in the order Redis made them, so the last one heard is Redis's.
- The writer's own process forgets what it replaced as soon as the write is in Redis
  (`forget`): its next read asks Redis, even before its own announcement comes back.
- A write that reached Redis was announced to the watch's socket before the writer heard its
  answer. A read trusts the table only when that socket holds nothing unread and the watch is
  not in the middle of applying what it read (`current`): any write whose writer had its
  answer before the read began has been applied.
- A (re)subscription starts from an empty table: what was announced while the watch was away
  is lost, and so is everything learned before it.
- The watch pings Redis every second: when it has heard nothing for STALE_AFTER seconds (a
  connection that died without telling), the table is not trusted until it hears again.
- Generations that change in Redis without an announcement (one that expired or was evicted
  and is made anew, a flushed database) change nothing that was built: an entry built under
  an old value holds what the database held then, and any change to it since was a write,
  announced.

Untrusted, every read asks Redis, as without the table: the table only ever saves round trips.
"""

from __future__ import annotations

import json
import logging
import os
import select
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from redis.exceptions import ResponseError

log = logging.getLogger(__name__)

# The watch pings every HEARTBEAT seconds, and the table is trusted only while it heard
# something (an announcement, a pong) within STALE_AFTER.
HEARTBEAT = 1.0
STALE_AFTER = 3.0
RETRY_AFTER = 1.0  # after losing Redis, before subscribing again
# Generations a process keeps: each is a few dozen bytes; threads beyond it are asked again.
KNOWN_KEPT = 100_000


def channel_of(prefix: str) -> str:
    """Where the generations of the cache under this key prefix are announced."""
    return prefix + "generations"


class Known:
    """The generations one cache's writes announce, as this process knows them (keys with the
    cache's key prefix). Safe to share between threads."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}
        self._lock = threading.Lock()
        self._heard = 0  # bumped by every announcement applied and every (re)subscription
        self._trusted = False
        self._busy = False  # the watch has read from its socket what it has not yet applied
        self._sock: socket.socket | None = None
        self._last_heard = 0.0

    def current(self, keys: Sequence[str]) -> list[str] | None:
        """The current value of each key, or None if any is unknown or the table cannot be
        trusted now."""
        if not self._trusted or time.monotonic() - self._last_heard > STALE_AFTER:
            return None
        # In this order: first nothing unread, then nothing read but not applied, and only
        # then the values (the module's docs say why).
        sock = self._sock
        if sock is None or _unread(sock) or self._busy:
            return None
        values = self._values
        found = [values.get(key) for key in keys]
        return None if None in found else found  # type: ignore[return-value]

    def ticket(self) -> int | None:
        """Taken before a round trip that reads generations; None: do not learn from it."""
        return self._heard if self._trusted else None

    def learn(self, ticket: int | None, values: Mapping[str, str | None]) -> None:
        """What a round trip begun at `ticket` read (None: Redis holds none)."""
        if ticket is None:
            return
        with self._lock:
            if ticket != self._heard or not self._trusted:
                return
            for key, value in values.items():
                if value is not None:
                    self._values[key] = value
            self._bound()

    def forget(self, keys: Iterable[str]) -> None:
        """This process just replaced these in Redis."""
        with self._lock:
            self._heard += 1
            for key in keys:
                self._values.pop(key, None)

    # What the watch calls.

    def subscribed(self, sock: socket.socket) -> None:
        with self._lock:
            self._heard += 1
            self._values.clear()
            # TLS keeps what it decrypted out of the socket's sight, so an unread announcement
            # could not be told from none: over TLS every read asks Redis.
            self._sock = None if isinstance(sock, ssl.SSLSocket) else sock
            self._trusted = True
            self._last_heard = time.monotonic()

    def lost(self) -> None:
        with self._lock:
            self._trusted = False
            self._heard += 1
            self._values.clear()
            self._sock = None

    def applying(self, busy: bool) -> None:
        self._busy = busy

    def heard(self, announced: Mapping[str, str] | None = None) -> None:
        with self._lock:
            self._last_heard = time.monotonic()
            if announced:
                self._heard += 1
                self._values.update(announced)
                self._bound()

    def _bound(self) -> None:
        if len(self._values) > KNOWN_KEPT:  # rare: start again rather than track their use
            self._values.clear()


def _unread(sock: socket.socket) -> bool:
    """Whether the socket holds bytes not yet read (or cannot say)."""
    # poll(), not select() (any descriptor number), nor a peeking recv() (a socket with a
    # timeout waits that long for data before it tries).
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):  # closed under us: the watch is reconnecting
        return True


class Watch:
    """A thread that keeps a `Known` table current from the cache's channel."""

    def __init__(self, client: Any, channel: str, known: Known) -> None:
        self._client = client
        self._channel = channel
        self.known = known
        self._stopped = threading.Event()
        self._wake, self._waker = socket.socketpair()  # stop() ends its wait at once
        self._thread = threading.Thread(target=self._run, name="afterword-generations")
        self._thread.daemon = True  # a worker that exits does not wait for it

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._waker.send(b"\0")
        self._thread.join(timeout=2 * HEARTBEAT)
        self._wake.close()
        self._waker.close()

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                self._listen()
            except Exception as err:  # Redis away, or gone mid-message: start again
                log.warning("not watching generations (%s)", type(err).__name__)
            self.known.lost()
            self._stopped.wait(RETRY_AFTER)

    def _listen(self) -> None:
        pubsub = self._client.pubsub()
        try:
            pubsub.subscribe(self._channel)
            pinged = time.monotonic()
            while not self._stopped.is_set():
                sock = pubsub.connection._sock  # redis-py keeps it so; no accessor
                with selectors.DefaultSelector() as selector:  # any fd number, unlike select()
                    selector.register(sock, selectors.EVENT_READ)
                    selector.register(self._wake, selectors.EVENT_READ)
                    ready = {key.fileobj for key, _ in selector.select(HEARTBEAT)}
                if sock in ready:
                    self._apply_all(pubsub)
                if time.monotonic() - pinged >= HEARTBEAT:
                    pubsub.ping()
                    pinged = time.monotonic()
        finally:
            self.known.lost()
            pubsub.close()

    def _apply_all(self, pubsub: Any) -> None:
        self.known.applying(True)
        try:
            while (message := pubsub.get_message(timeout=0)) is not None:
                kind = message["type"]
                if kind == "subscribe":
                    # also after redis-py reconnected on its own: what was said between is lost
                    self.known.subscribed(pubsub.connection._sock)
                elif kind == "message":
                    self.known.heard(_announced(message["data"]))
                elif kind == "pong":
                    self.known.heard()
        finally:
            self.known.applying(False)


def _announced(data: bytes | str) -> dict[str, str]:
    try:
        values = json.loads(data)
    except ValueError:
        return {}
    if not isinstance(values, dict):
        return {}
    return {str(key): value for key, value in values.items() if isinstance(value, str)}


def announcement(values: Mapping[str, str]) -> str:
    """What `Watch` reads back from the channel for these new values (prefixed keys)."""
    return json.dumps(dict(values), separators=(",", ":"))


def replace(backend: Any, values: Mapping[str, str], timeout: int) -> None:
    """Give generations of a Redis cache (cachelib's RedisCache) new values, and announce
    them, in one MULTI/EXEC."""
    prefix = prefix_of(backend)
    client = backend._write_client  # cachelib names its client so; no accessor
    prefixed = {prefix + key: value for key, value in values.items()}

    def setting() -> Any:
        pipe = client.pipeline(transaction=True)
        for key, value in prefixed.items():
            pipe.set(key, backend.serializer.dumps(value), ex=timeout)
        return pipe

    try:
        setting().publish(channel_of(prefix), announcement(prefixed)).execute()
    except ResponseError:
        # A Redis that refuses PUBLISH (an ACL) refuses the whole transaction; the writes
        # still go through without it. No watch can subscribe there either, so every read
        # asks Redis for the generations and nothing relies on the announcement.
        log.warning("Redis refused to announce new generations; writing them without it")
        setting().execute()
    watch = _WATCHES.get((os.getpid(), channel_of(prefix)))
    if watch is not None:
        watch.known.forget(prefixed)


def prefix_of(backend: Any) -> str:
    prefix = backend.key_prefix or ""
    return prefix if isinstance(prefix, str) else prefix()


# One watch per channel in each process, started on first use (so after gunicorn forks).
_WATCHES: dict[tuple[int, str], Watch] = {}
_WATCHES_LOCK = threading.Lock()


def known_for(client: Any, prefix: str) -> Known:
    """This process's table for the cache of this Redis client and key prefix, watched from
    the first call on."""
    key = (os.getpid(), channel_of(prefix))
    watch = _WATCHES.get(key)
    if watch is None:
        with _WATCHES_LOCK:
            watch = _WATCHES.get(key)
            if watch is None:
                watch = Watch(client, key[1], Known())
                watch.start()
                _WATCHES[key] = watch
    return watch.known


def stop_watching() -> None:
    """Stop every watch of this process (tests, which make many apps, each with its own
    prefix)."""
    with _WATCHES_LOCK:
        watches = [w for (pid, _), w in _WATCHES.items() if pid == os.getpid()]
        _WATCHES.clear()
    for watch in watches:
        watch.stop()
