"""Reads counted ahead: a process claims several reads of a reader's budget at once.

The read limit is one counter per reader in Redis (Flask-Limiter's fixed window), shared by
every process. Counting each cached read there is a round trip, which costs more than the
rest of the read. So the fast path claims reads in batches (INCRBY n, `app/api/redis_round.py`)
and answers the next ones from what is left of the batch, a lease, without asking Redis.

What it gives up, and what it does not:
- A claimed read counts in Redis at once, used or not, so no reader gets more reads than the
  limit, in any process. A batch left unused refuses its reader sooner, by at most what was
  left: a batch is at most 1/SHARE of the smallest limit (and a limit under SHARE reads is
  claimed one read at a time, exactly as Flask-Limiter counts).
- A lease lasts at most LEASE_SECONDS and never past its window's end (the counter's TTL),
  so no read is taken from a window that is over.
- A batch grows (doubling, from one) only while its reader keeps using up the last one:
  a reader who comes once claims one read.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from limits import RateLimitItem

from app.services.cache import Memo

SHARE = 64
LEASE_MAX = 1024
LEASE_SECONDS = 1.0
# Readers with a lease in each process; one beyond it claims again.
LEASES_KEPT = 10_000

Bucket = tuple[str, ...]  # where a reader's reads count (`ReadBucket.buckets`)


@dataclass(slots=True)
class _Lease:
    left: int
    until: float
    size: int  # the batch it came from (0: refused)


class ReadLeases:
    def __init__(self) -> None:
        self._leases: Memo[Bucket, _Lease] = Memo(LEASES_KEPT)

    def take(self, buckets: Sequence[Bucket]) -> bool:
        """Count one read in each bucket from what this process claimed; False (nothing
        taken) if any bucket has nothing left: claim first."""
        now = time.monotonic()
        leases = [self._leases.get(bucket) for bucket in buckets]
        for lease in leases:
            if lease is None or lease.left <= 0 or lease.until <= now:
                return False
        for lease in leases:
            lease.left -= 1  # type: ignore[union-attr]  # checked above
        return True

    def batch(self, bucket: Bucket, limits: Sequence[RateLimitItem]) -> int:
        """How many reads to claim in `bucket` with the next round trip."""
        largest = min(LEASE_MAX, max(1, min(item.amount for item in limits) // SHARE))
        lease = self._leases.get(bucket)
        if lease is None or lease.left > 0:  # a new reader, or one who left some unused
            return 1
        return max(1, min(largest, lease.size * 2))

    def claimed(
        self,
        bucket: Bucket,
        batch: int,
        limits: Sequence[RateLimitItem],
        counts: Sequence[int],
        ttls_ms: Sequence[int],
    ) -> bool:
        """Record a claim of `batch` reads in each of `limits` (the counters after it, and
        their TTLs); True if at least one was within every limit: this read, the rest kept."""
        granted = batch
        for item, count in zip(limits, counts, strict=True):
            granted = min(granted, max(0, item.amount - (count - batch)))
        lasts = min((ttl / 1000 for ttl in ttls_ms if ttl > 0), default=0.0)
        lasts = min(LEASE_SECONDS, lasts)
        if granted <= 1 or lasts <= 0:
            self._leases.put(bucket, _Lease(0, 0.0, batch if granted else 0))
        else:
            self._leases.put(bucket, _Lease(granted - 1, time.monotonic() + lasts, batch))
        return granted >= 1
