"""Cache hits of public reads are answered in front of Flask, exactly as Flask answers them."""

from __future__ import annotations

import gzip
import json
from types import SimpleNamespace

import brotli
import pytest
from flask import request
from prometheus_client import REGISTRY

from app import create_app
from app.api.read_rules import query_args
from app.domain.states import ModerationMode
from app.extensions import db, limiter
from app.services import cache
from config import TestingConfig
from tests.factories import HOST_ORIGIN, POST_URL, guest_payload, make_comment, make_site, post_json
from tests.helpers import fresh_app

GZIP = {"Accept-Encoding": "gzip, deflate, br"}
OTHER_URL = f"{HOST_ORIGIN}/2026/second-post"


def thread(client, site, headers=None, **params):
    return client.get(
        f"/api/v1/sites/{site.id}/thread",
        query_string={"url": POST_URL, **params},
        headers={"Origin": HOST_ORIGIN, **GZIP, **(headers or {})},
    )


def counts(client, site, headers=None):
    return client.get(
        f"/api/v1/sites/{site.id}/counts",
        query_string=[("url", POST_URL), ("url", OTHER_URL)],
        headers={"Origin": HOST_ORIGIN, **GZIP, **(headers or {})},
    )


def payload(resp) -> dict:
    data = resp.get_data()
    if resp.headers.get("Content-Encoding") == "gzip":
        data = gzip.decompress(data)
    elif resp.headers.get("Content-Encoding") == "br":
        data = brotli.decompress(data)
    return json.loads(data)


def assert_alike(one, other) -> None:
    def headers(resp) -> dict[str, str]:
        return {name.lower(): value for name, value in resp.headers.items() if name != "Date"}

    assert one.status_code == other.status_code
    assert headers(one) == headers(other)
    assert one.get_data() == other.get_data()


@pytest.mark.parametrize("read", [thread, counts])
def test_a_hit_is_answered_before_flask_and_exactly_as_flask_answers(
    app, client, flask_only, flask_calls, site, read
):
    make_comment(site, body="cached")
    first = read(client, site)  # a miss: Flask answers and fills the cache
    assert flask_calls == [f"api.{read.__name__}"]
    fast = read(client, site)
    assert flask_calls == [f"api.{read.__name__}"]
    reference = read(flask_only, site)
    assert len(flask_calls) == 2
    assert_alike(fast, reference)
    assert_alike(fast, first)
    assert fast.headers["Content-Encoding"] == "gzip"
    assert fast.headers["Access-Control-Allow-Origin"] == HOST_ORIGIN

    etag = {"If-None-Match": fast.headers["ETag"]}
    not_modified, reference_304 = read(client, site, etag), read(flask_only, site, etag)
    assert not_modified.status_code == 304 and not_modified.get_data() == b""
    assert_alike(not_modified, reference_304)
    assert len(flask_calls) == 3


def test_a_thread_without_comments_is_left_to_flask(client, flask_calls, site):
    for _ in range(2):
        assert payload(thread(client, site))["comments"] == []
    assert flask_calls == ["api.thread", "api.thread"]


@pytest.mark.parametrize(
    "variation",
    [
        {"headers": {"Authorization": "Bearer not-a-token"}},
        {"headers": {"Accept-Encoding": "identity"}},
        {"params": {"mine": "some-edit-token"}},
        {"params": {"sort": "newest"}},  # not cached yet
        {"params": {"page": "x"}},
    ],
)
def test_what_the_cache_cannot_answer_goes_to_flask(client, flask_calls, site, variation):
    make_comment(site)
    thread(client, site)
    resp = thread(client, site, variation.get("headers"), **variation.get("params", {}))
    assert len(flask_calls) == 2
    assert resp.status_code in {200, 400}


@pytest.mark.parametrize(
    "origin",
    ["https://blog.example.evil.test", "https://evil.blog.example", "http://blog.example", "null"],
)
def test_a_foreign_page_is_refused_by_flask_even_when_cached(client, flask_calls, site, origin):
    make_comment(site)
    thread(client, site)
    refused = thread(client, site, {"Origin": origin})
    assert refused.status_code == 403
    assert payload(refused)["error"]["code"] == "origin_not_allowed"
    assert "comments" not in payload(refused)
    assert len(flask_calls) == 2


def test_new_comments_show_at_once_on_the_fast_path(client, flask_calls, site):
    site.moderation = ModerationMode.NONE
    db.session.commit()
    make_comment(site, body="first")
    assert len(payload(thread(client, site))["comments"]) == 1
    assert payload(counts(client, site))["counts"][POST_URL] == 1
    assert post_json(client, site, guest_payload(body="second")).status_code == 201
    assert len(payload(thread(client, site))["comments"]) == 2
    assert payload(counts(client, site))["counts"][POST_URL] == 2
    calls = len(flask_calls)
    thread(client, site)
    counts(client, site)
    assert len(flask_calls) == calls  # and the new pages are cached in turn


def test_fast_and_flask_reads_share_one_limit(app, client, flask_calls, site):
    app.config["RATELIMIT_READ"] = "3 per minute"
    make_comment(site)
    assert [thread(client, site).status_code for _ in range(3)] == [200, 200, 200]
    assert flask_calls == ["api.thread"]  # then two hits in front of Flask
    refused = thread(client, site)
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["Access-Control-Allow-Origin"] == HOST_ORIGIN


def test_the_limit_counts_the_proxy_reported_address_only_behind_a_trusted_proxy(tmp_path):
    def reads_from_two_claimed_addresses(**config) -> list[int]:
        with fresh_app(tmp_path, RATELIMIT_READ="2 per minute", **config) as app:
            client = app.test_client()
            site = make_site()
            make_comment(site)
            statuses = []
            for address in ("198.51.100.1", "198.51.100.2"):
                for _ in range(2):
                    resp = thread(client, site, {"X-Forwarded-For": address})
                    statuses.append(resp.status_code)
            return statuses

    assert reads_from_two_claimed_addresses(TRUSTED_PROXIES=1) == [200] * 4
    assert reads_from_two_claimed_addresses() == [200, 200, 429, 429]


def test_fast_answers_are_counted_in_the_metrics(client, site):
    make_comment(site)

    def answered() -> float:
        labels = {"method": "GET", "endpoint": "api.thread", "status": "200"}
        return REGISTRY.get_sample_value("afterword_http_requests_total", labels) or 0.0

    before = answered()
    for _ in range(3):
        thread(client, site)
    assert answered() == before + 3


def test_a_lost_generation_never_brings_an_old_page_back(app):
    backend = cache.store()
    slot = cache.thread_slot("s1", 7, "oldest:1:50")
    assert cache.cached_thread("s1", 7, "oldest:1:50", lambda: "old page") == "old page"
    assert cache.read_slots(backend, [slot])[0] == ["old page"]
    cache.touch_thread("s1", 7)
    db.session.commit()
    assert cache.read_slots(backend, [slot])[0] == [None]
    for key in slot.gen_keys:
        backend.delete(key)  # evicted, or Redis restarted empty
    assert cache.read_slots(backend, [slot])[0] == [None]
    assert cache.cached_thread("s1", 7, "oldest:1:50", lambda: "new page") == "new page"


def test_without_redis_other_processes_catch_up_within_the_cache_lifetime(
    tmp_path, clock, monkeypatch
):
    """Two workers on one database, each with its own in-process cache."""
    # cachelib's in-process cache asks time() for itself; it reads the service's clock here.
    monkeypatch.setattr("cachelib.simple.time", clock.time)
    with fresh_app(tmp_path, CACHE_DEFAULT_TIMEOUT=1) as writer:
        site = make_site(moderation=ModerationMode.NONE)
        make_comment(site, body="first")
        site_ref = SimpleNamespace(id=site.id)
        other = create_app(
            TestingConfig,
            SQLALCHEMY_DATABASE_URI=writer.config["SQLALCHEMY_DATABASE_URI"],
            CACHE_KEY_PREFIX=writer.config["CACHE_KEY_PREFIX"],
            CACHE_DEFAULT_TIMEOUT=1,
        )
        other_client = other.test_client()
        assert len(payload(thread(other_client, site_ref))["comments"]) == 1
        make_comment(site, body="second")  # written through the first worker
        assert len(payload(thread(writer.test_client(), site_ref))["comments"]) == 2
        clock.advance(1.1)  # past CACHE_DEFAULT_TIMEOUT
        assert len(payload(thread(other_client, site_ref))["comments"]) == 2
        with other.app_context():
            db.engine.dispose()


def test_an_entry_of_another_shape_is_a_miss_not_an_error(client, site):
    """What an older release left in the cache must never break a read."""
    make_comment(site, body="current")
    cache.store().set(cache.thread_id_slot(site.id, POST_URL).key, 12345, timeout=0)
    cache.store().set(cache.site_slot(site.id).key, "not a site view")
    for _ in range(2):
        resp = thread(client, site)
        assert resp.status_code == 200
        assert payload(resp)["comments"][0]["html"] == "<p>current</p>"


def test_one_read_budget_across_both_paths_with_a_key_prefix(tmp_path, monkeypatch):
    """RATELIMIT_KEY_PREFIX goes into every key Flask-Limiter builds; the fast path counts
    in those same buckets, so it neither splits the budget nor doubles it."""
    # Flask-Limiter keeps the first prefix it was given for every later app; put it back.
    monkeypatch.setattr(limiter, "_key_prefix", limiter._key_prefix)
    with fresh_app(tmp_path, RATELIMIT_KEY_PREFIX="blog1", RATELIMIT_READ="4 per minute") as app:
        calls: list[str] = []

        @app.before_request
        def note() -> None:
            calls.append(request.endpoint or "")

        client = app.test_client()
        site = make_site()
        make_comment(site)
        reads = [thread(client, site), thread(client, site), counts(client, site)]
        reads.append(counts(client, site))
        assert [resp.status_code for resp in reads] == [200] * 4
        assert calls == ["api.thread", "api.counts"]  # the repeats were answered in front

        cached, missed = thread(client, site), thread(client, site, sort="newest")
        assert (cached.status_code, missed.status_code) == (429, 429)
        assert 0 < int(cached.headers["Retry-After"]) <= 60


@pytest.mark.parametrize(
    "query",
    [
        [("url", POST_URL), ("page", "")],  # blank: the view refuses it, never page 1
        [("url", POST_URL), ("sort", "")],
        [("url", POST_URL), ("per_page", "50"), ("per_page", "x")],  # the first counts
        [("url", POST_URL), ("page", "1"), ("mine", "")],
        [("url", ""), ("url", POST_URL)],
        [("url", POST_URL + "?p=%FF")],  # not UTF-8 once unquoted: kept quoted, as Flask does
    ],
)
def test_a_query_reads_alike_on_both_paths(client, flask_only, site, query):
    make_comment(site)
    thread(client, site)  # the plain page, cached

    def read(reader):
        path = f"/api/v1/sites/{site.id}/thread"
        return reader.get(path, query_string=query, headers={"Origin": HOST_ORIGIN, **GZIP})

    read(client)  # whatever the view keeps of it, kept
    assert_alike(read(client), read(flask_only))


def test_the_fast_path_reads_a_query_as_flask_does():
    assert query_args("url=a&page=&page=2&mine=") == {"url": "a", "page": "", "mine": ""}
    assert query_args("url=%FF") == {"url": "%FF"}
    assert query_args("url=%C3%A9") == query_args("url=\xc3\xa9") == {"url": "\xe9"}
    assert query_args("url=\xff") is None  # not UTF-8: Flask's to answer, never a pause
