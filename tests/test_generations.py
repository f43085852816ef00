"""The table of generations a process keeps is trusted only while it cannot be behind Redis."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from app.services.generations import STALE_AFTER, Known

KEY = "afterword:gen:thread:1"


@pytest.fixture
def watched() -> Iterator[tuple[Known, socket.socket]]:
    """A table whose watch subscribed on one end of a socket pair; the test holds the other
    end, as Redis would."""
    ours, redis_end = socket.socketpair()
    known = Known()
    known.subscribed(ours)
    yield known, redis_end
    ours.close()
    redis_end.close()


def test_what_a_round_trip_read_is_known_until_replaced(watched):
    known, _ = watched
    known.learn(known.ticket(), {KEY: "one"})
    assert known.current([KEY]) == ["one"]
    known.heard({KEY: "two"})
    assert known.current([KEY]) == ["two"]
    assert known.current([KEY, "afterword:gen:site:x"]) is None  # one of them unknown


def test_an_old_value_read_while_a_new_one_was_announced_is_not_learned(watched):
    known, _ = watched
    ticket = known.ticket()  # a round trip begins, and reads "old"...
    known.heard({KEY: "new"})  # ...while a write's announcement is applied
    known.learn(ticket, {KEY: "old"})
    assert known.current([KEY]) == ["new"]


def test_an_announcement_not_yet_read_from_the_socket_sends_reads_to_redis(watched):
    known, redis_end = watched
    known.learn(known.ticket(), {KEY: "one"})
    redis_end.send(b"*3\r\n")  # the start of an announcement, unread
    assert known.current([KEY]) is None


def test_an_announcement_being_applied_sends_reads_to_redis(watched):
    known, _ = watched
    known.learn(known.ticket(), {KEY: "one"})
    known.applying(True)
    assert known.current([KEY]) is None
    known.applying(False)
    assert known.current([KEY]) == ["one"]


def test_the_writers_own_process_forgets_what_it_replaced(watched):
    known, _ = watched
    known.learn(known.ticket(), {KEY: "one"})
    ticket = known.ticket()
    known.forget([KEY])
    assert known.current([KEY]) is None
    known.learn(ticket, {KEY: "one"})  # read before the write: not learned
    assert known.current([KEY]) is None


def test_a_watch_that_lost_redis_or_went_quiet_is_not_trusted(watched):
    known, _ = watched
    known.learn(known.ticket(), {KEY: "one"})
    known._last_heard = time.monotonic() - STALE_AFTER - 1  # no pong for that long
    assert known.current([KEY]) is None
    known.heard()
    assert known.current([KEY]) == ["one"]
    known.lost()
    assert known.current([KEY]) is None and known.ticket() is None
    known.learn(None, {KEY: "one"})
    assert known.current([KEY]) is None
