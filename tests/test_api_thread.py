"""Reading a thread as the widget does."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from types import SimpleNamespace

import pytest

from app.domain.states import CommentStatus
from app.extensions import db
from app.models import Comment, Thread, User
from app.services import cache, moderation
from tests.factories import (
    HOST_ORIGIN,
    POST_URL,
    guest_payload,
    make_comment,
    make_site,
    post_json,
)
from tests.helpers import cold_cache, selects_during


def read(client, site, url=POST_URL, **params):
    return client.get(f"/api/v1/sites/{site.id}/thread", query_string={"url": url, **params})


def ids(comments: list[dict]) -> list[int]:
    return [c["id"] for c in comments]


def test_empty_page_has_no_comments_and_the_site_config(client, site):
    resp = read(client, site)
    assert resp.status_code == 200
    assert resp.json["comments"] == []
    assert resp.json["thread"]["count"] == 0
    assert resp.json["next_page"] is None
    assert resp.json["config"]["limits"]["body"] == 10_000


def test_replies_are_nested_under_their_parents(client, site):
    root = make_comment(site, body="root")
    reply = make_comment(site, body="reply", parent=root)
    deeper = make_comment(site, body="deeper", parent=reply)
    other_root = make_comment(site, body="second root")
    comments = read(client, site).json["comments"]
    assert ids(comments) == [root.id, other_root.id]
    assert ids(comments[0]["replies"]) == [reply.id]
    assert ids(comments[0]["replies"][0]["replies"]) == [deeper.id]
    assert comments[0]["replies"][0]["replies"][0]["html"] == "<p>deeper</p>"
    assert read(client, site).json["thread"]["count"] == 4


def test_pending_comment_is_visible_only_to_its_author(client, site):
    resp = post_json(client, site, guest_payload(body="wait for me"))
    token, comment_id = resp.json["edit_token"], resp.json["comment"]["id"]

    assert read(client, site).json["comments"] == []
    mine = read(client, site, mine=token).json["comments"]
    assert ids(mine) == [comment_id]
    assert mine[0]["status"] == "pending" and mine[0]["mine"] is True
    assert mine[0]["editable_until"] is not None


def test_a_forged_or_foreign_token_shows_nothing(client, site):
    post_json(client, site, guest_payload(body="secret"))
    other = post_json(client, site, guest_payload(body="other", email="b@example.com"))
    foreign_token = other.json["edit_token"]
    forged = foreign_token[:-2] + ("AA" if not foreign_token.endswith("AA") else "BB")
    assert read(client, site, mine=forged).json["comments"] == []
    shown = read(client, site, mine=foreign_token).json["comments"]
    assert [c["html"] for c in shown] == ["<p>other</p>"]


@pytest.mark.parametrize(
    "status", [CommentStatus.PENDING, CommentStatus.REJECTED, CommentStatus.SPAM]
)
def test_unapproved_comments_never_reach_other_readers(client, site, status):
    make_comment(site, body="hidden", status=status)
    assert read(client, site).json["comments"] == []
    assert read(client, site).json["thread"]["count"] == 0


def test_approval_makes_a_comment_public_and_counts_it(client, site):
    comment = make_comment(site, status=None)
    assert read(client, site).json["thread"]["count"] == 0
    moderation.set_status(comment, CommentStatus.APPROVED)
    resp = read(client, site)
    assert ids(resp.json["comments"]) == [comment.id]
    assert resp.json["thread"]["count"] == 1
    moderation.set_status(comment, CommentStatus.SPAM)
    assert read(client, site).json["thread"]["count"] == 0


def test_deleted_comment_with_replies_leaves_a_placeholder(client, site):
    resp = post_json(client, site, guest_payload(body="soon gone"))
    parent_id, token = resp.json["comment"]["id"], resp.json["edit_token"]
    moderation.set_status(db.session.get(Comment, parent_id), CommentStatus.APPROVED)
    reply = make_comment(site, parent=db.session.get(Comment, parent_id), body="still here")
    deleted = post_json(
        client, site, {"edit_token": token}, path=f"comments/{parent_id}", method="DELETE"
    )
    assert deleted.status_code == 200

    [placeholder] = read(client, site).json["comments"]
    assert placeholder["status"] == "deleted"
    assert placeholder["author"] is None and placeholder["html"] == ""
    assert ids(placeholder["replies"]) == [reply.id]
    assert read(client, site).json["thread"]["count"] == 1


def test_deleted_comment_without_replies_disappears(client, site):
    comment = make_comment(site)
    moderation.set_status(comment, CommentStatus.DELETED)
    assert read(client, site).json["comments"] == []


def test_rejected_parent_of_an_approved_reply_shows_no_text(client, site):
    parent = make_comment(site, body="rude words")
    make_comment(site, parent=parent, body="a calm answer")
    moderation.set_status(parent, CommentStatus.REJECTED)
    [placeholder] = read(client, site).json["comments"]
    assert "rude" not in str(placeholder)
    assert placeholder["replies"][0]["html"] == "<p>a calm answer</p>"


def test_sort_orders(client, site):
    old = make_comment(site, body="old")
    popular = make_comment(site, body="popular")
    new = make_comment(site, body="new")
    for _ in range(2):
        make_comment(site, parent=popular)
    # Written in quick succession: make the times distinct and in order.
    for offset, comment in enumerate((old, popular, new)):
        comment.created_at = comment.created_at.replace(year=2020) + timedelta(minutes=offset)
    db.session.commit()

    assert ids(read(client, site, sort="oldest").json["comments"]) == [old.id, popular.id, new.id]
    assert ids(read(client, site, sort="newest").json["comments"]) == [new.id, popular.id, old.id]
    assert ids(read(client, site, sort="best").json["comments"])[0] == popular.id


def test_pages_hold_whole_conversations(client, site):
    roots = [make_comment(site, body=f"root {i}") for i in range(5)]
    make_comment(site, parent=roots[0], body="reply")
    first = read(client, site, per_page=2).json
    assert ids(first["comments"]) == [roots[0].id, roots[1].id]
    assert len(first["comments"][0]["replies"]) == 1
    assert first["next_page"] == 2
    last = read(client, site, per_page=2, page=3).json
    assert ids(last["comments"]) == [roots[4].id]
    assert last["next_page"] is None


@pytest.mark.parametrize(
    "params",
    [{"sort": "random"}, {"page": "0"}, {"page": "x"}, {"per_page": "101"}, {"per_page": "0"}],
)
def test_bad_paging_is_a_clear_400(client, site, params):
    resp = read(client, site, **params)
    assert resp.status_code == 400
    assert resp.json["error"]["code"] == "validation_error"


def test_thread_of_a_foreign_url_is_refused(client, site):
    resp = read(client, site, url="https://evil.example/page")
    assert resp.status_code == 400
    assert resp.json["error"]["code"] == "url_not_allowed"


def test_invalid_utf8_in_the_query_string_is_a_clear_error(client, site):
    resp = client.get(f"/api/v1/sites/{site.id}/thread?url=https%3A%2F%2Fblog.example%2F%ff%fe")
    assert resp.status_code in (200, 400)
    assert resp.is_json
    resp = client.get(f"/api/v1/sites/{site.id}/thread?url=%ff%fe&sort=%c3%28")
    assert resp.status_code == 400
    assert resp.json["error"]["code"] == "validation_error"


def test_same_url_with_a_fragment_is_the_same_thread(client, site):
    comment = make_comment(site)
    resp = read(client, site, url=POST_URL + "#comments")
    assert ids(resp.json["comments"]) == [comment.id]
    resp = read(client, site, url=POST_URL.replace("blog.example", "BLOG.example:443"))
    assert ids(resp.json["comments"]) == [comment.id]


def test_a_thousand_comment_thread_reads_in_constant_queries(app, client, site):
    roots = [make_comment(site, body=f"root {i}") for i in range(20)]
    for i in range(30):
        make_comment(site, parent=roots[i % 20], body=f"reply {i}")

    site_ref = SimpleNamespace(id=site.id)  # asking the model for its id would be a query too

    def queries_for_read() -> int:
        # From a cold cache each time: the site's entry would otherwise outlive the first read
        # or not, depending on how long the writes in between took.
        cold_cache()
        responses = []
        selects = selects_during(lambda: responses.append(read(client, site_ref, per_page=100)))
        assert responses[0].status_code == 200
        return selects

    small = queries_for_read()
    for i in range(950):
        make_comment(site, parent=roots[i % 20], body=f"more {i}")
    large = queries_for_read()
    assert large == small
    assert large <= 4  # site, thread, one page of roots, their comments


def test_counts_for_many_urls_in_one_request(client, site):
    make_comment(site)
    make_comment(site)
    make_comment(site, url=f"{HOST_ORIGIN}/other")
    make_comment(site, url=f"{HOST_ORIGIN}/pending-only", status=None)
    urls = [
        POST_URL,
        f"{HOST_ORIGIN}/other",
        f"{HOST_ORIGIN}/pending-only",
        f"{HOST_ORIGIN}/nothing",
        "https://evil.example/x",
    ]
    resp = client.get(f"/api/v1/sites/{site.id}/counts", query_string={"url": urls})
    assert resp.json["counts"] == dict(zip(urls, [2, 1, 0, 0, 0], strict=True))


def test_counts_refuse_more_than_a_hundred_urls(client, site):
    urls = [f"{HOST_ORIGIN}/p/{i}" for i in range(101)]
    resp = client.get(f"/api/v1/sites/{site.id}/counts", query_string={"url": urls})
    assert resp.status_code == 400


def seed_of(client, site, email: str) -> str:
    """The avatar seed of a guest's public comment with this address."""
    make_comment(site, email=email, url=POST_URL)
    return read(client, site).json["comments"][-1]["author"]["avatar_seed"]


def test_an_avatar_seed_is_stable_for_one_author_on_one_site(client, site):
    first = seed_of(client, site, "ada@example.com")
    assert seed_of(client, site, "ada@example.com") == first
    assert seed_of(client, site, "grace@example.com") != first


def test_an_avatar_seed_does_not_tell_who_wrote_on_another_site(client, site):
    """Posting elsewhere with a guessed address must not confirm who wrote a comment."""
    other = make_site()
    assert seed_of(client, site, "ada@example.com") != seed_of(client, other, "ada@example.com")
    reader = User(display_name="Ada")
    db.session.add(reader)
    db.session.commit()
    make_comment(site, user=reader)
    make_comment(other, user=reader)
    seeds = {read(client, s).json["comments"][-1]["author"]["avatar_seed"] for s in (site, other)}
    assert len(seeds) == 2


def test_an_avatar_seed_cannot_be_worked_out_from_the_address(client, site):
    seed = seed_of(client, site, "ada@example.com")
    for value in ("ada@example.com", "guest:ada@example.com", f"{site.id}ada@example.com"):
        for algorithm in (hashlib.md5, hashlib.sha1, hashlib.sha256):
            assert not algorithm(value.encode()).hexdigest().startswith(seed)


def test_a_thread_tells_when_it_stops_taking_comments(client, site):
    first = make_comment(site, body="first")
    thread = read(client, site).json["thread"]
    assert thread["closed"] is False and thread["closes_at"] is None

    stored = db.session.get(Thread, first.thread_id)
    site.close_after_days = 14
    stored.closed = True
    cache.touch_site(site.id)
    db.session.commit()
    thread = read(client, site).json["thread"]
    assert thread["closed"] is True
    # A time, not a flag: a page cached before the day still closes on the day.
    assert thread["closes_at"] == (stored.created_at + timedelta(days=14)).isoformat()
