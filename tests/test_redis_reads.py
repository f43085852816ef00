"""With Redis, a cached read costs one round trip: what a process keeps is checked against the
generations in Redis, with the read counted in the same pipeline.

These need a Redis server (127.0.0.1:6379, or TEST_REDIS_URL); they use databases of it (6 to
13) no other test uses, and skip where there is none."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import redis
from flask import Flask

from app import create_app
from app.domain.states import ModerationMode
from app.extensions import db
from app.services import cache
from config import TestingConfig
from tests.factories import (
    HOST_ORIGIN,
    bearer,
    guest_payload,
    make_comment,
    make_reader,
    make_site,
    post_json,
)
from tests.helpers import fresh_app
from tests.test_api_fast_reads import counts, payload, thread

# A database of its own for each pytest-xdist worker: each test resets the rate limits.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
REDIS = os.environ.get("TEST_REDIS_URL", f"redis://127.0.0.1:6379/{13 - _WORKER % 8}")


def _reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port or 6379), timeout=0.2).close()
    except OSError:
        return False
    return True


pytestmark = pytest.mark.skipif(not _reachable(REDIS), reason=f"needs Redis at {REDIS}")


def redis_app(tmp_path, **config) -> Iterator[Flask]:
    return fresh_app(
        tmp_path,
        CACHE_TYPE="RedisCache",
        CACHE_REDIS_URL=REDIS,
        CACHE_DEFAULT_TIMEOUT=3600,
        RATELIMIT_STORAGE_URI=REDIS,
        **config,
    )


@pytest.fixture
def app(tmp_path) -> Iterator[Flask]:
    with redis_app(tmp_path) as app:
        yield app


@pytest.fixture
def round_trips(monkeypatch) -> list[int]:
    """How many times redis-py sent something and waited for the answer (a pipeline is one)."""
    sent = [0]
    send = redis.connection.AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        sent[0] += 1
        return send(self, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
    return sent


def trips_of(round_trips: list[int], read) -> int:
    before = round_trips[0]
    assert read().status_code == 200
    return round_trips[0] - before


def test_a_cached_thread_read_is_one_round_trip(client, site, flask_calls, round_trips):
    make_comment(site)
    thread(client, site)  # built by the view
    thread(client, site)  # this process now keeps it
    assert [trips_of(round_trips, lambda: thread(client, site)) for _ in range(3)] == [1, 1, 1]
    assert flask_calls == ["api.thread"]


def test_cached_counts_are_one_round_trip(client, site, flask_calls, round_trips):
    make_comment(site)
    counts(client, site)
    assert [trips_of(round_trips, lambda: counts(client, site)) for _ in range(3)] == [1, 1, 1]
    assert flask_calls == ["api.counts"]


def test_a_write_in_another_process_retires_what_this_one_keeps(client, site):
    """Another worker (its own app) shares only Redis and the database with this one; a
    comment posted through it shows here on the next read, though nothing here was told."""
    site.moderation = ModerationMode.NONE
    db.session.commit()
    make_comment(site, body="first")
    for _ in range(2):
        assert len(payload(thread(client, site))["comments"]) == 1
    assert len(cache.LOCAL) > 0, "the page is kept in this process"

    here = client.application.config
    other = create_app(
        TestingConfig,
        SQLALCHEMY_DATABASE_URI=here["SQLALCHEMY_DATABASE_URI"],
        CACHE_KEY_PREFIX=here["CACHE_KEY_PREFIX"],
        CACHE_TYPE="RedisCache",
        CACHE_REDIS_URL=REDIS,
        CACHE_DEFAULT_TIMEOUT=3600,
        RATELIMIT_STORAGE_URI=REDIS,
    )
    assert post_json(other.test_client(), site, guest_payload(body="second")).status_code == 201
    with other.app_context():
        db.engine.dispose()

    htmls = [c["html"] for c in payload(thread(client, site))["comments"]]
    assert htmls == ["<p>first</p>", "<p>second</p>"]


def test_a_foreign_page_is_refused_even_when_kept(client, site, flask_calls):
    make_comment(site)
    thread(client, site)
    thread(client, site)
    refused = thread(client, site, {"Origin": "https://elsewhere.example"})
    assert refused.status_code == 403
    assert payload(refused)["error"]["code"] == "origin_not_allowed"
    assert flask_calls == ["api.thread", "api.thread"]


def test_the_read_limit_is_one_budget_on_both_paths(app, client, site, flask_calls):
    app.config["RATELIMIT_READ"] = "4 per minute"
    make_comment(site)
    statuses = [thread(client, site).status_code for _ in range(4)]
    assert statuses == [200] * 4
    assert flask_calls == ["api.thread"]  # one build, then three hits in front of Flask
    refused = thread(client, site)
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["Access-Control-Allow-Origin"] == HOST_ORIGIN


def test_a_read_counted_in_front_is_not_counted_again_by_flask(app, client, site, flask_calls):
    """A kept page gone stale is counted in the round, then rebuilt by the view: one read."""
    app.config["RATELIMIT_READ"] = "3 per minute"
    site.moderation = ModerationMode.NONE
    db.session.commit()
    make_comment(site)
    thread(client, site)
    thread(client, site)  # kept here now; two reads so far
    make_comment(site, body="a new one")  # the kept page is stale
    assert len(payload(thread(client, site))["comments"]) == 2  # third read, built by Flask
    assert flask_calls == ["api.thread", "api.thread"]
    assert thread(client, site).status_code == 429  # the fourth


def test_every_window_counter_expires(app, client, site):
    app.config["RATELIMIT_READ"] = "50 per minute;500 per hour"
    make_comment(site)
    for _ in range(3):
        thread(client, site)
    server = redis.Redis.from_url(REDIS)
    keys = [key for key in server.scan_iter("LIMITS:*api-read*")]
    assert len(keys) == 2
    assert all(0 < server.ttl(key) <= 3600 for key in keys)
    assert sorted(int(server.get(key)) for key in keys) == [3, 3]


def test_nothing_kept_without_redis(tmp_path):
    cache.LOCAL._entries.clear()
    with fresh_app(tmp_path, CACHE_TYPE="SimpleCache", CACHE_OPTIONS={}) as app:
        client = app.test_client()
        site = make_site()
        make_comment(site)
        for _ in range(3):
            assert thread(client, site).status_code == 200
        assert len(cache.LOCAL) == 0


def test_a_signed_in_readers_repeat_read_is_one_round_trip(client, site, flask_calls, round_trips):
    ada = make_reader("Ada")
    make_comment(site, user=ada)
    headers = bearer(ada, site)
    thread(client, site, headers)  # built by the view, kept in Redis for this reader
    trips = [trips_of(round_trips, lambda: thread(client, site, headers)) for _ in range(3)]
    assert trips == [1, 1, 1]
    assert flask_calls == ["api.thread"]
    assert payload(thread(client, site, headers))["comments"][0]["mine"] is True
