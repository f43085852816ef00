"""Atom feeds of approved comments, valid and with sanitized HTML only."""

from __future__ import annotations

import feedparser

from app.domain.states import CommentStatus
from tests.factories import HOST_ORIGIN, POST_URL, make_comment


def test_thread_feed_lists_approved_comments_only(client, site):
    make_comment(site, body="First *approved*", name="Ada")
    make_comment(site, body="Waiting", status=None)
    make_comment(site, body="Junk", status=CommentStatus.SPAM)
    make_comment(site, body="Elsewhere", url=f"{HOST_ORIGIN}/other")
    resp = client.get(f"/feeds/sites/{site.id}/thread.atom", query_string={"url": POST_URL})
    assert resp.status_code == 200
    assert resp.mimetype == "application/atom+xml"
    feed = feedparser.parse(resp.data)
    assert feed.bozo == 0 and feed.version == "atom10"
    assert [e.content[0].value for e in feed.entries] == ["<p>First <em>approved</em></p>"]
    assert feed.entries[0].author == "Ada"
    assert feed.entries[0].link.startswith(POST_URL)


def test_site_feed_covers_every_page_newest_first(client, site):
    make_comment(site, body="one")
    make_comment(site, body="two", url=f"{HOST_ORIGIN}/other")
    feed = feedparser.parse(client.get(f"/feeds/sites/{site.id}.atom").data)
    assert feed.bozo == 0
    assert [e.content[0].value for e in feed.entries] == ["<p>two</p>", "<p>one</p>"]


def test_nothing_a_reader_typed_runs_in_a_feed(client, site):
    make_comment(site, name="<script>alert(1)</script>", body="<img src=x onerror=alert(1)> hi")
    raw = client.get(f"/feeds/sites/{site.id}.atom").text
    assert "<script>" not in raw and "<img" not in raw
    feed = feedparser.parse(raw)
    assert "<img" not in feed.entries[0].content[0].value
    assert feed.entries[0].author == "<script>alert(1)</script>"  # as text, escaped in XML


def test_feed_follows_moderation(client, site):
    comment = make_comment(site, body="soon rejected")
    url = f"/feeds/sites/{site.id}/thread.atom"
    assert len(feedparser.parse(client.get(url, query_string={"url": POST_URL}).data).entries) == 1
    from app.services import moderation

    moderation.set_status(comment, CommentStatus.REJECTED)
    assert feedparser.parse(client.get(url, query_string={"url": POST_URL}).data).entries == []


def test_unknown_site_and_foreign_url(client, site):
    assert client.get("/feeds/sites/nope.atom").status_code == 404
    foreign = client.get(
        f"/feeds/sites/{site.id}/thread.atom", query_string={"url": "https://evil.example/"}
    )
    assert foreign.status_code == 400
