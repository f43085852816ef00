"""Guests' reads cannot grow the cache without bound: every entry they can make expires and is
keyed by what it stands for (the canonical thread key), and memory kept per process is capped.

With REDIS_URL set the cache is Redis, and the keys are read there; otherwise they are read
from the in-process store.
"""

from __future__ import annotations

import gzip
import json
import uuid

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.models import Site
from app.services import cache
from tests.factories import HOST_ORIGIN, POST_URL, make_comment

GZIP = {"Accept-Encoding": "gzip"}
OTHER_URL = f"{HOST_ORIGIN}/2026/second-post"


def stored() -> dict[str, float]:
    """Every key in this app's cache, with when it expires: seconds left (Redis) or the
    expiry time (in-process); 0 or less means it never does."""
    backend = cache.store()
    client = getattr(backend, "_write_client", None)
    if client is not None:
        keys = client.scan_iter(match=f"{backend.key_prefix}*", count=1000)
        return {key.decode(): client.ttl(key) for key in keys}
    return {key: expires for key, (expires, _) in backend._cache.items()}


def assert_bounded(keys: dict[str, float], most: int) -> None:
    assert len(keys) <= most, sorted(keys)
    assert all(expires > 0 for expires in keys.values()), keys


def body(resp: TestResponse) -> dict:
    data = resp.get_data()
    if resp.headers.get("Content-Encoding") == "gzip":
        data = gzip.decompress(data)
    return json.loads(data)


def spellings_of(url: str) -> list[str]:
    """Ways of writing one page's address that `thread_key` reads as that page."""
    scheme, rest = url.split("://", 1)
    host, path = rest.split("/", 1)
    spelled = [f"{url}#comment-{i}" for i in range(200)]
    spelled += [f"{scheme}://{host.upper()}/{path}#{i}" for i in range(50)]
    spelled += [f"{scheme}://{host}:443/{path}#x{i}" for i in range(50)]
    spelled += [f"  {url}#{'a' * i}" for i in range(1, 30)]
    spelled += [f"{url}?utm_source=s{i}&fbclid={i}" for i in range(50)]  # links add these
    return spelled


def read_thread(client: FlaskClient, site: Site, url: str, **headers: str) -> TestResponse:
    return client.get(
        f"/api/v1/sites/{site.id}/thread",
        query_string={"url": url},
        headers={"Origin": HOST_ORIGIN, **headers},
    )


def read_counts(client: FlaskClient, site: Site, query: list[tuple[str, str]]) -> TestResponse:
    return client.get(
        f"/api/v1/sites/{site.id}/counts",
        query_string=query,
        headers={"Origin": HOST_ORIGIN, **GZIP},
    )


def test_many_spellings_of_one_thread_leave_a_few_expiring_keys(client, site):
    make_comment(site, body="the one comment")
    for url in spellings_of(POST_URL):
        for headers in ({}, GZIP):  # through Flask, and (gzip, once cached) in front of it
            resp = read_thread(client, site, url, **headers)
            assert resp.status_code == 200
            assert body(resp)["comments"][0]["html"] == "<p>the one comment</p>"
        feed = client.get(f"/feeds/sites/{site.id}/thread.atom", query_string={"url": url})
        assert b"the one comment" in feed.data
    # the site, its thread's id and first page, the thread's feed, and their generations; the
    # site's posting facts and theirs, from the comment posted first
    assert_bounded(stored(), 11)


def test_many_spellings_of_the_same_counts_leave_a_few_expiring_keys(client, site):
    make_comment(site)
    make_comment(site, url=OTHER_URL)
    post, other = spellings_of(POST_URL), spellings_of(OTHER_URL)
    queries = [[("url", a), ("url", b)] for a, b in zip(post, other, strict=False)]
    queries += [[("url", b), ("url", a), ("url", b)] for a, b in zip(post, other, strict=False)]
    for query in queries:
        for _ in range(2):  # the second one from the cache
            resp = read_counts(client, site, query)
            assert resp.status_code == 200
            assert body(resp)["counts"] == {url: 1 for _, url in query}
    # the site, the counts of the two pages, and their generations; the site's posting facts
    # and theirs, from the comments posted first
    assert_bounded(stored(), 9)


def test_reads_of_sites_that_do_not_exist_leave_nothing_behind(client):
    for _ in range(30):
        missing = uuid.uuid4().hex[:12]
        for path in ("config", "counts?url=https://a.example/", "thread?url=https://a.example/"):
            resp = client.get(f"/api/v1/sites/{missing}/{path}", headers=GZIP)
            assert resp.status_code == 404
            assert body(resp)["error"]["code"] == "site_not_found"
    assert stored() == {}


def test_reads_of_pages_without_comments_leave_nothing_behind(client, site):
    for i in range(50):
        assert read_thread(client, site, f"{HOST_ORIGIN}/draft-{i}", **GZIP).status_code == 200
    assert_bounded(stored(), 1 + len(cache.site_slot(site.id).gen_keys))


def test_thread_ids_kept_in_the_process_are_capped(client, site, monkeypatch):
    monkeypatch.setattr(cache.THREAD_IDS, "capacity", 20)
    make_comment(site, body="still found")
    read_thread(client, site, POST_URL)
    for i, url in enumerate(spellings_of(POST_URL)):
        assert read_thread(client, site, url, **GZIP).status_code == 200
        if i % 10 == 0:  # a page read often stays in memory however many others come
            assert read_thread(client, site, POST_URL, **GZIP).status_code == 200
        assert len(cache.THREAD_IDS) <= 20
    assert cache.THREAD_IDS.get((site.id, POST_URL)) is not None


def test_counts_answers_kept_in_the_process_are_capped(client, site, monkeypatch):
    monkeypatch.setattr(cache.COUNTS_ANSWERS, "capacity", 20)
    make_comment(site)
    for url in spellings_of(POST_URL):
        assert body(read_counts(client, site, [("url", url)]))["counts"] == {url: 1}
        assert len(cache.COUNTS_ANSWERS) <= 20


def test_a_memo_forgets_the_least_recently_used_first():
    memo: cache.Memo[str, int] = cache.Memo(3)
    for i in range(6):
        memo.put(f"k{i}", i)
        memo.get("k0")  # read again and again: kept
    assert len(memo) == 3
    assert [memo.get(f"k{i}") for i in range(6)] == [0, None, None, None, 4, 5]


def test_readers_pages_kept_in_the_process_are_bounded_by_their_size():
    memo: cache.SizedMemo[str, bytes] = cache.SizedMemo(1_000, len)
    for i in range(6):
        memo.put(f"k{i}", bytes(300))
        memo.get("k0")  # read again and again: kept
    assert memo.size <= 1_000 and len(memo) == 3
    assert [memo.get(f"k{i}") is not None for i in range(6)] == [
        True, False, False, False, True, True,
    ]  # fmt: skip
    memo.put("k5", bytes(100))  # a page that changed size is counted at its new size
    assert memo.size == 700
    memo.put("huge", bytes(1_001))  # larger than all of it: not kept, nothing pushed out
    assert (memo.get("huge"), len(memo), memo.size) == (None, 3, 700)


def test_a_readers_page_is_kept_no_longer_than_the_cache_keeps_it(monkeypatch):
    slot = cache.private_slot("site", 1, "oldest", "reader", 7)
    now = [1_000.0]
    monkeypatch.setattr(cache.time, "monotonic", lambda: now[0])
    shared = object()  # any backend but the in-process one is shared, as Redis is
    cache._keep(shared, slot, ("g1", "g2", "g3", "g4"), "the page")  # type: ignore[arg-type]
    assert cache.kept(slot).value == "the page"
    now[0] += cache.PRIVATE_TIMEOUT - 1
    assert cache.kept(slot) is not None
    now[0] += 1
    assert cache.kept(slot) is None
