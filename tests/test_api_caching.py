"""Thread pages and counts come from a cache that every write and moderation action renews."""

from __future__ import annotations

from types import SimpleNamespace

from app.domain.states import CommentStatus
from app.extensions import db
from app.services import moderation, sites
from tests import helpers
from tests.factories import (
    HOST_ORIGIN,
    POST_URL,
    guest_payload,
    make_comment,
    make_moderator,
    make_site,
    post_json,
)
from tests.helpers import fresh_app


def read(client, site, **extra):
    return client.get(
        f"/api/v1/sites/{site.id}/thread",
        query_string={"url": POST_URL, **extra.pop("params", {})},
        headers={"Origin": HOST_ORIGIN, **extra},
    )


def selects_during(action) -> int:
    db.session.expire_all()
    return helpers.selects_during(action)


def test_a_second_guest_read_comes_from_the_cache(client, site):
    for _ in range(5):
        make_comment(site)
    site = SimpleNamespace(id=site.id)  # asking the model for its id would be a query too
    assert selects_during(lambda: read(client, site)) == 4
    assert selects_during(lambda: read(client, site)) == 0  # the site, thread and page: cached


def test_guest_reads_carry_an_etag_and_revalidate_to_304(client, site):
    make_comment(site)
    first = read(client, site)
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "public, max-age=10"
    assert "Origin" in first.headers["Vary"] and "Authorization" in first.headers["Vary"]
    again = read(client, site, **{"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_approval_shows_at_once_despite_the_cache(client, site):
    moderator = make_moderator(site)
    make_comment(site, body="first")
    etag = read(client, site).headers["ETag"]
    waiting = make_comment(site, body="second", status=None)
    assert len(read(client, site).json["comments"]) == 1
    moderation.act(moderator, [waiting.id], "approve")
    fresh = read(client, site, **{"If-None-Match": etag})
    assert fresh.status_code == 200
    assert [c["html"] for c in fresh.json["comments"]] == ["<p>first</p>", "<p>second</p>"]
    assert fresh.json["thread"]["count"] == 2


def test_edits_deletes_and_settings_renew_the_cache(client, site):
    moderator = make_moderator(site)
    comment = make_comment(site, body="typo")
    read(client, site)
    moderation.edit_text(moderator, comment.id, "fixed")
    assert read(client, site).json["comments"][0]["html"] == "<p>fixed</p>"
    moderation.act(moderator, [comment.id], "delete")
    assert read(client, site).json["comments"] == []
    site.providers = []
    from app.domain.states import ModerationMode

    sites.update_settings(
        moderator,
        site.id,
        origins=site.origins,
        moderation=ModerationMode.NONE,
        close_after_days=None,
        providers=["dev"],
    )
    assert read(client, site).status_code == 200


def test_a_readers_own_pending_comment_is_private_and_never_cached(client, site):
    make_comment(site, body="public")
    read(client, site)
    mine = post_json(client, site, guest_payload(body="mine, pending"))
    personal = read(client, site, params={"mine": mine.json["edit_token"]})
    assert len(personal.json["comments"]) == 2
    assert personal.headers["Cache-Control"] == "private, no-store"
    assert "ETag" not in personal.headers
    assert len(read(client, site).json["comments"]) == 1  # and others still do not see it


def test_counts_are_cached_and_renewed(client, site):
    moderator = make_moderator(site)
    make_comment(site)

    def count() -> int:
        resp = client.get(f"/api/v1/sites/{site.id}/counts", query_string={"url": POST_URL})
        return resp.json["counts"][POST_URL]

    assert count() == 1
    waiting = make_comment(site, status=None)
    assert count() == 1
    moderation.act(moderator, [waiting.id], "approve")
    assert count() == 2


def test_responses_are_compressed_for_clients_that_accept_it(client, site):
    for i in range(30):
        make_comment(site, body=f"A comment long enough to be worth compressing, number {i}.")
    resp = read(client, site, **{"Accept-Encoding": "gzip"})
    assert resp.headers["Content-Encoding"] == "gzip"


def test_reads_and_writes_go_on_when_redis_is_gone(tmp_path):
    """A cache that does not answer only makes things slower: nothing fails."""
    with fresh_app(
        tmp_path,
        CACHE_TYPE="RedisCache",
        CACHE_REDIS_URL="redis://127.0.0.1:1/0",
        CACHE_OPTIONS={"socket_timeout": 0.2, "socket_connect_timeout": 0.2},
    ) as app:
        client = app.test_client()
        site = make_site()
        make_comment(site, body="still here")
        assert read(client, site).json["comments"][0]["html"] == "<p>still here</p>"
        for _ in range(2):  # gzip: what the fast path in front of Flask would answer
            assert read(client, site, **{"Accept-Encoding": "gzip"}).status_code == 200
        assert post_json(client, site, guest_payload()).status_code == 201
        moderation.set_status(make_comment(site, status=None), CommentStatus.APPROVED)
        assert len(read(client, site).json["comments"]) == 2
