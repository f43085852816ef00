"""With Redis, a cached read costs at most one round trip, and most cost none: what a process
keeps is checked against the generations it heard announced, and the read is counted from a
batch claimed ahead; otherwise both go in one pipeline.

These need a Redis server (127.0.0.1:6379, or TEST_REDIS_URL); they use databases of it (6 to
13) no other test uses, and skip where there is none."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import redis
from flask import Flask

from app import create_app
from app.domain.states import ModerationMode
from app.extensions import cache as cache_ext
from app.extensions import db
from app.services import cache, generations, sites
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


def other_worker(here: Flask) -> Flask:
    """An app of its own that shares only the database and Redis with `here`, as another
    worker would."""
    return create_app(
        TestingConfig,
        SQLALCHEMY_DATABASE_URI=here.config["SQLALCHEMY_DATABASE_URI"],
        CACHE_KEY_PREFIX=here.config["CACHE_KEY_PREFIX"],
        CACHE_TYPE="RedisCache",
        CACHE_REDIS_URL=REDIS,
        CACHE_DEFAULT_TIMEOUT=3600,
        RATELIMIT_STORAGE_URI=REDIS,
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
    test = threading.current_thread()

    def counting(self, command, check_health=True):
        if threading.current_thread() is test:  # not the watch's pings
            sent[0] += 1
        return send(self, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
    return sent


def trips_of(round_trips: list[int], read) -> int:
    before = round_trips[0]
    assert read().status_code == 200
    return round_trips[0] - before


def known(app: Flask) -> generations.Known:
    """This process's table of the app's generations, once its watch has subscribed."""
    backend = app.extensions["cache"][cache_ext]
    table = generations.known_for(backend._write_client, backend.key_prefix)
    deadline = time.monotonic() + 5
    while table.ticket() is None:
        assert time.monotonic() < deadline, "the watch never subscribed"
        time.sleep(0.01)
    return table


@pytest.mark.parametrize("read", [thread, counts])
def test_repeated_cached_reads_ask_redis_nothing(app, client, site, flask_calls, round_trips, read):
    known(app)
    make_comment(site)
    read(client, site)  # built by the view
    trips = [trips_of(round_trips, lambda: read(client, site)) for _ in range(40)]
    assert trips[0] == 1  # the generations learned, one read claimed
    # batches of 1, 2, 4, 8, 16 and 32 claimed, each in the round trip of the read that
    # needed it, and no other round trip
    assert sum(trips) == 6 and set(trips) == {0, 1}
    assert trips[-8:] == [0] * 8  # the last 32 are claimed
    assert flask_calls == [f"api.{read.__name__}"]


def test_without_the_watch_each_read_is_one_round_trip(app, client, site, round_trips):
    known(app)
    make_comment(site)
    thread(client, site)
    thread(client, site)
    generations.stop_watching()  # as when the watch lost Redis: nothing it says is trusted
    thread(client, site)  # (its connection, back in the pool, is connected again)
    assert [trips_of(round_trips, lambda: thread(client, site)) for _ in range(3)] == [1, 1, 1]


def test_a_write_announced_by_another_process_is_seen_at_once(app, client, site, monkeypatch):
    """Another process replaces a thread's generation and announces it, as its writes do;
    the next read here, however soon, does not serve the page this process keeps."""
    table = known(app)
    site.moderation = ModerationMode.NONE
    db.session.commit()
    first = make_comment(site, body="first")
    for _ in range(3):
        assert len(payload(thread(client, site))["comments"]) == 1
    with monkeypatch.context() as m:  # written elsewhere: nothing replaced from here
        m.setattr(cache, "_bump", lambda keys: None)
        make_comment(site, body="second")
    assert len(payload(thread(client, site))["comments"]) == 1  # still the kept page

    backend = app.extensions["cache"][cache_ext]
    prefix = backend.key_prefix
    gen = f"{prefix}gen:thread:{first.thread_id}"
    other = redis.Redis.from_url(REDIS)
    with other.pipeline(transaction=True) as pipe:  # what another process's write sends
        pipe.set(gen, backend.serializer.dumps("from-elsewhere"))
        pipe.publish(generations.channel_of(prefix), generations.announcement({gen: "x"}))
        pipe.execute()
    assert len(payload(thread(client, site))["comments"]) == 2
    assert table.ticket() is not None


def test_a_write_in_another_process_retires_what_this_one_keeps(client, site):
    """Another worker (its own app) shares only Redis and the database with this one; a
    comment posted through it shows here on the next read, though nothing here was told."""
    site.moderation = ModerationMode.NONE
    db.session.commit()
    make_comment(site, body="first")
    for _ in range(2):
        assert len(payload(thread(client, site))["comments"]) == 1
    assert len(cache.LOCAL) > 0, "the page is kept in this process"

    other = other_worker(client.application)
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
    cache.LOCAL.clear()
    with fresh_app(tmp_path, CACHE_TYPE="SimpleCache", CACHE_OPTIONS={}) as app:
        client = app.test_client()
        site = make_site()
        make_comment(site)
        for _ in range(3):
            assert thread(client, site).status_code == 200
        assert len(cache.LOCAL) == 0


def test_a_signed_in_readers_repeat_reads_ask_redis_nothing(
    app, client, site, flask_calls, round_trips
):
    known(app)
    ada = make_reader("Ada")
    make_comment(site, user=ada)
    headers = bearer(ada, site)
    thread(client, site, headers)  # built by the view, kept for this reader
    trips = [trips_of(round_trips, lambda: thread(client, site, headers)) for _ in range(40)]
    # Counted in two budgets (the address's and the reader's), each claimed in batches.
    assert sum(trips) <= 12 and trips[-8:] == [0] * 8, trips
    assert flask_calls == ["api.thread"]
    assert payload(thread(client, site, headers))["comments"][0]["mine"] is True


def test_what_a_reader_does_elsewhere_retires_their_kept_page(app, client, site):
    known(app)
    ada = make_reader("Ada")
    other = make_comment(site, body="Someone else's")
    headers = bearer(ada, site)
    assert "liked" not in payload(thread(client, site, headers))["comments"][0]
    thread(client, site, headers)  # kept in this process
    liked = client.put(
        f"/api/v1/sites/{site.id}/comments/{other.id}/like",
        json={},
        headers=headers | {"Origin": HOST_ORIGIN},
    )
    assert liked.status_code == 200, liked.json
    assert payload(thread(client, site, headers))["comments"][0]["liked"] is True


def test_a_redis_that_refuses_to_announce_still_gets_the_new_generations(
    app, client, site, monkeypatch
):
    """Where an ACL refuses PUBLISH, Redis aborts the whole transaction: the new generations
    are written without their announcement, and no page outlives its write."""
    site.moderation = ModerationMode.NONE
    db.session.commit()
    make_comment(site, body="first")
    for _ in range(2):
        assert len(payload(thread(client, site))["comments"]) == 1

    def refused(self, channel, message):  # a command this Redis refuses, as an ACL would
        return self.execute_command("PUBLISH-REFUSED", channel, message)

    monkeypatch.setattr(redis.client.Pipeline, "publish", refused)
    make_comment(site, body="second")
    assert len(payload(thread(client, site))["comments"]) == 2


def test_repeat_posts_read_the_site_and_its_posting_facts_without_asking_redis(
    app, client, site, monkeypatch
):
    """What a post reads from the cache (the site's row, what it is checked against) is
    kept in the process too, checked against the generations it heard announced."""
    table = known(app)
    site.moderation = ModerationMode.NONE
    db.session.commit()
    backend = app.extensions["cache"][cache_ext]
    gens = [backend.key_prefix + key for key in cache.site_row_slot(site.id).gen_keys]

    def settled() -> None:
        # Each post's own announcement comes back to the watch; while it applies it, the
        # table is not trusted and a read asks Redis, as it must.
        deadline = time.monotonic() + 5
        while table.current(gens) is None:
            assert time.monotonic() < deadline, "the table never settled"
            time.sleep(0.005)

    reads: list[tuple[str, ...]] = []
    get_many = type(backend).get_many

    def counting(self, *keys):
        reads.append(keys)
        return get_many(self, *keys)

    monkeypatch.setattr(type(backend), "get_many", counting)
    for n in range(3):
        assert post_json(client, site, guest_payload(body=f"Post {n}")).status_code == 201
    assert any("site-row:" in key for keys in reads for key in keys)  # the first post's
    reads.clear()
    for n in range(3, 6):
        settled()
        assert post_json(client, site, guest_payload(body=f"Post {n}")).status_code == 201
    assert reads == []


def test_a_site_changed_by_another_process_reaches_the_next_post_here(app, client, site):
    """The row kept here is retired by the other app's write (an app of its own, sharing
    only Redis and the database, as another worker would)."""
    known(app)
    site.moderation = ModerationMode.NONE
    db.session.commit()
    for n in range(2):
        resp = post_json(client, site, guest_payload(body=f"Before {n}"))
        assert resp.json["comment"]["status"] == "approved"

    other = other_worker(client.application)
    with other.app_context():
        sites.change_site(site.id, moderation=ModerationMode.ALL)
        db.engine.dispose()

    resp = post_json(client, site, guest_payload(body="After"))
    assert resp.json["comment"]["status"] == "pending"
