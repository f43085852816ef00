"""One Redis round trip for a cached read: the generations, and the read counted.

A cached read needs two answers from Redis: whether what this process keeps is still current
(the generations, `app/services/cache.py`) and whether the reader is within the read limit
(Flask-Limiter's counter). Asked one after the other, that is two round trips, which cost a
busy worker more than the rest of the read. Here both go in one pipeline, on the cache's own
connection, so they must live in one Redis: `RedisRound.of` says None otherwise, and the fast
path then asks them apart.

The counting is Flask-Limiter's fixed window, in the very keys it uses (`ReadBucket`): the
counter is created with its window as expiry, then incremented, inside MULTI/EXEC so that no
counter can ever be left without an expiry. Flask-Limiter stops at the first limit exceeded;
this counts the read in every window of RATELIMIT_READ, which only ever refuses sooner. It
claims a batch of reads at once (`app/api/read_leases.py`), and the generations it reads go
to this process's table of them (`app/services/generations.py`): most reads then need no
round trip at all (`local`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from limits.storage import RedisStorage
from limits.strategies import FixedWindowRateLimiter

from app.api.read_leases import Bucket, ReadLeases
from app.api.read_rules import ReadBucket
from app.extensions import limiter
from app.services import generations
from app.services.cache import Store

# What must agree for two clients to talk to one Redis database.
_SAME_SERVER = ("host", "port", "db", "path", "username")


class RedisRound:
    def __init__(self, backend: Any, storage: RedisStorage | None, bucket: ReadBucket) -> None:
        self._client = backend._write_client  # cachelib names its client so; no accessor
        self._prefix: str = backend.key_prefix or ""
        self._loads = backend.serializer.loads
        self._storage = storage  # None: rate limits are off
        self._bucket = bucket
        self._leases = ReadLeases()
        self._known = generations.known_for(self._client, self._prefix)

    @classmethod
    def of(cls, backend: Store, bucket: ReadBucket) -> RedisRound | None:
        """A round for this cache and the app's rate limits, if both are in one Redis (or
        the limits are off)."""
        client = getattr(backend, "_write_client", None)
        if client is None:
            return None
        if not limiter.enabled:
            return cls(backend, None, bucket)
        storage = limiter.storage
        if not (
            isinstance(storage, RedisStorage)
            and isinstance(limiter.limiter, FixedWindowRateLimiter)
        ):
            return None
        ours = client.connection_pool.connection_kwargs
        theirs = storage.storage.connection_pool.connection_kwargs
        if any(ours.get(name) != theirs.get(name) for name in _SAME_SERVER):
            return None
        return cls(backend, storage, bucket)

    def known(self, gen_keys: Sequence[str]) -> dict[str, str] | None:
        """The current generations of `gen_keys` as this process knows them, without asking
        Redis; None if that takes a round trip."""
        known = self._known.current([self._prefix + key for key in gen_keys])
        return None if known is None else dict(zip(gen_keys, known, strict=True))

    def take(self, buckets: Sequence[Bucket]) -> bool:
        """Count one read in each of `buckets` without asking Redis, if this process claimed
        enough before; False (nothing counted) if that takes a round trip."""
        return self._storage is None or self._leases.take(buckets)

    def __call__(
        self, gen_keys: Sequence[str], entry_keys: Sequence[str], buckets: list[tuple[str, ...]]
    ) -> tuple[dict[str, str | None], list[Any], bool]:
        """The current generations of `gen_keys` (None where Redis has none), the entries
        of `entry_keys` as stored, and whether one more read is within the limit in each of
        `buckets` (`ReadBucket.buckets`; it is counted there, with the rest of a batch)."""
        limits = self._bucket.limits() if self._storage is not None else []
        pipe = self._client.pipeline(transaction=bool(limits))
        pipe.mget([self._prefix + key for key in (*gen_keys, *entry_keys)])
        batches = [self._leases.batch(bucket, limits) if limits else 0 for bucket in buckets]
        for identifiers, batch in zip(buckets, batches, strict=True) if limits else ():
            for item in limits:
                assert self._storage is not None
                key = self._storage.prefixed_key(item.key_for(*identifiers))
                pipe.set(key, 0, ex=item.get_expiry(), nx=True)
                pipe.incrby(key, batch)
                pipe.pttl(key)
        ticket = self._known.ticket()
        answers = pipe.execute()
        values = list(map(self._loads, answers[0]))
        found = {
            key: value if isinstance(value, str) else None
            for key, value in zip(gen_keys, values, strict=False)
        }
        self._known.learn(ticket, {self._prefix + key: value for key, value in found.items()})
        allowed = True
        for n, (bucket, batch) in enumerate(zip(buckets, batches, strict=True) if limits else ()):
            per_limit = answers[1 + n * 3 * len(limits) :][: 3 * len(limits)]
            counts = [int(count) for count in per_limit[1::3]]
            ttls = [int(ttl) for ttl in per_limit[2::3]]
            allowed = self._leases.claimed(bucket, batch, limits, counts, ttls) and allowed
        return found, values[len(gen_keys) :], allowed
