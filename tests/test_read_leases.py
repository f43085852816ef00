"""Reads claimed ahead never give a reader more than the limit, nor outlive their window."""

from __future__ import annotations

import time

from limits import parse, parse_many

from app.api.read_leases import LEASE_SECONDS, ReadLeases

READER = ("LIMITS", "198.51.100.7", "api-read")


def test_a_small_limit_is_claimed_one_read_at_a_time():
    leases, limits = ReadLeases(), [parse("30 per minute")]
    for count in range(1, 31):
        batch = leases.batch(READER, limits)
        assert batch == 1
        assert leases.claimed(READER, batch, limits, [count], [60_000])
        assert not leases.take([READER])  # nothing claimed beyond this read
    assert not leases.claimed(READER, 1, limits, [31], [60_000])


def test_batches_grow_while_used_up_to_a_share_of_the_limit():
    leases, limits = ReadLeases(), sorted(parse_many("6400 per minute;100000 per hour"))
    count, batches = 0, []
    for _ in range(9):
        batch = leases.batch(READER, limits)
        batches.append(batch)
        count += batch
        assert leases.claimed(READER, batch, limits, [count, count], [60_000, 3_600_000])
        for _ in range(batch - 1):
            assert leases.take([READER])
        assert not leases.take([READER])
    assert batches == [1, 2, 4, 8, 16, 32, 64, 100, 100]  # 6400 / 64


def test_a_claim_across_the_limit_grants_only_what_is_left():
    leases, limits = ReadLeases(), [parse("640 per minute")]
    assert leases.claimed(READER, 10, limits, [645], [60_000])  # 636..645: 5 within
    assert [leases.take([READER]) for _ in range(5)] == [True] * 4 + [False]
    assert not leases.claimed(READER, 1, limits, [646], [60_000])
    assert leases.batch(READER, limits) == 1  # refused: no growing while over


def test_a_lease_ends_with_its_window():
    leases, limits = ReadLeases(), [parse("6400 per minute")]
    assert leases.claimed(READER, 8, limits, [8], [30])  # the window ends in 30 ms
    assert leases.take([READER])
    time.sleep(0.05)
    assert not leases.take([READER])
    assert LEASE_SECONDS <= 1


def test_a_read_counts_in_every_bucket_or_in_none():
    reader = ("LIMITS", "user:7", "api-read-reader")
    leases, limits = ReadLeases(), [parse("6400 per minute")]
    assert leases.claimed(READER, 4, limits, [4], [60_000])
    assert not leases.take([READER, reader])  # the reader's own budget has nothing claimed
    assert [leases.take([READER]) for _ in range(4)] == [True] * 3 + [False]
