"""Readers like comments: once each, counted beside the comment, shown on every page."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from app.domain.states import CommentStatus
from app.extensions import db
from app.models import Comment, CommentLike
from app.services import comments, likes, moderation, privacy, retention
from app.services.viewers import Viewer
from tests.factories import (
    HOST_ORIGIN,
    POST_URL,
    bearer,
    browser_id,
    make_comment,
    make_moderator,
    make_reader,
    make_site,
)
from tests.helpers import WRITERS, Dashboard, cold_cache, run_together, selects_during

BROWSER = "b" * 22
HOME = "203.0.113.7"


def like(
    client,
    site,
    comment_id: int,
    *,
    method: str = "PUT",
    browser_id: str | None = BROWSER,
    addr: str = HOME,
    headers: dict[str, str] | None = None,
    origin: str = HOST_ORIGIN,
):
    body = {} if browser_id is None else {"browser": browser_id}
    return client.open(
        f"/api/v1/sites/{site.id}/comments/{comment_id}/like",
        method=method,
        json=body,
        headers={"Origin": origin, **(headers or {})},
        environ_base={"REMOTE_ADDR": addr},
    )


def unlike(client, site, comment_id: int, **kwargs):
    return like(client, site, comment_id, method="DELETE", **kwargs)


def thread(client, site, headers: dict[str, str] | None = None, **query) -> dict:
    resp = client.get(
        f"/api/v1/sites/{site.id}/thread",
        query_string={"url": POST_URL, **query},
        headers={"Origin": HOST_ORIGIN, "Accept-Encoding": "gzip", **(headers or {})},
    )
    assert resp.status_code == 200
    body = resp.get_data()  # gzip: as browsers read it, so that cached pages come in front
    return json.loads(gzip.decompress(body) if resp.content_encoding == "gzip" else body)


def by_id(page: dict) -> dict[int, dict]:
    found: dict[int, dict] = {}

    def walk(nodes: list[dict]) -> None:
        for node in nodes:
            found[node["id"]] = node
            walk(node["replies"])

    walk(page["comments"])
    return found


def stored_count(comment_id: int) -> int:
    db.session.expire_all()
    return db.session.get_one(Comment, comment_id).like_count


# --- once per reader ----------------------------------------------------------------------


def test_a_guest_likes_once_and_takes_it_back_both_idempotent(client, site):
    comment = make_comment(site)
    assert like(client, site, comment.id).json == {"likes": 1, "liked": True}
    assert like(client, site, comment.id).json == {"likes": 1, "liked": True}
    assert like(client, site, comment.id, browser_id=browser_id(2)).json == {
        "likes": 2,
        "liked": True,
    }
    assert unlike(client, site, comment.id).json == {"likes": 1, "liked": False}
    assert unlike(client, site, comment.id).json == {"likes": 1, "liked": False}
    assert stored_count(comment.id) == 1
    assert db.session.scalar(select(func.count()).select_from(CommentLike)) == 1


def test_the_count_survives_a_reload_and_guests_pages_say_nothing_of_who_liked(client, site):
    comment = make_comment(site)
    reply = make_comment(site, parent=comment)
    like(client, site, comment.id)
    like(client, site, reply.id)
    like(client, site, reply.id, browser_id=browser_id(2))
    shown = by_id(thread(client, site))
    assert shown[comment.id]["likes"] == 1 and shown[reply.id]["likes"] == 2
    assert "liked" not in shown[comment.id] and "liked" not in shown[reply.id]


def test_a_signed_in_reader_likes_once_from_any_browser_and_sees_their_likes(client, site):
    ada = make_reader()
    liked, other = make_comment(site), make_comment(site)
    assert like(client, site, liked.id, browser_id=None, headers=bearer(ada, site)).json == {
        "likes": 1,
        "liked": True,
    }
    # Another browser, another address: still the same reader.
    again = like(
        client,
        site,
        liked.id,
        browser_id=browser_id(9),
        addr="198.51.100.1",
        headers=bearer(ada, site),
    )
    assert again.json == {"likes": 1, "liked": True}
    shown = by_id(thread(client, site, headers=bearer(ada, site)))
    assert shown[liked.id]["liked"] is True and shown[liked.id]["likes"] == 1
    assert "liked" not in shown[other.id]
    assert "liked" not in by_id(thread(client, site))[liked.id]  # a guest's page, shared


def test_a_signed_in_readers_likes_cost_one_query_for_the_whole_page(client, site):
    ada = make_reader()
    roots = [make_comment(site, body=f"root {i}") for i in range(5)]
    for root in roots:
        like(client, site, root.id, browser_id=None, headers=bearer(ada, site))
    site_ref = SimpleNamespace(id=site.id)
    headers = bearer(ada, site)

    def selects() -> int:
        cold_cache()  # from a cold cache each time, as tests/test_api_thread.py does
        return selects_during(lambda: thread(client, site_ref, headers=headers, per_page=100))

    small = selects()
    for i, root in enumerate(roots * 6):
        reply = make_comment(site, parent=root, body=f"reply {i}")
        like(client, site, reply.id, browser_id=None, headers=bearer(ada, site))
    large = selects()
    assert large == small
    shown = by_id(thread(client, site, headers=headers, per_page=100))
    assert all(c.get("liked") for c in shown.values())


# --- refusals -----------------------------------------------------------------------------


def test_a_reader_cannot_like_their_own_comment(client, site):
    ada = make_reader()
    mine = make_comment(site, user=ada)
    refused = like(client, site, mine.id, browser_id=None, headers=bearer(ada, site))
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "own_comment"
    assert stored_count(mine.id) == 0


@pytest.mark.parametrize(
    "status", [CommentStatus.PENDING, CommentStatus.REJECTED, CommentStatus.SPAM]
)
def test_comments_readers_do_not_see_cannot_be_liked(client, site, status):
    hidden = make_comment(site, status=status)
    for method in ("PUT", "DELETE"):
        refused = like(client, site, hidden.id, method=method)
        assert refused.status_code == 404
        assert refused.json["error"]["code"] == "comment_not_found"
    assert stored_count(hidden.id) == 0


def test_a_deleted_comment_cannot_be_liked_and_loses_its_likes(client, site):
    comment = make_comment(site)
    like(client, site, comment.id)
    author = Viewer(comment_ids=frozenset({comment.id}))
    comments.delete_comment(site, author, comment.id)
    refused = like(client, site, comment.id, browser_id=browser_id(3))
    assert refused.status_code == 409
    assert refused.json["error"] == {
        "code": "comment_deleted",
        "message": "This comment was deleted.",
    }
    assert stored_count(comment.id) == 0
    assert db.session.scalar(select(func.count()).select_from(CommentLike)) == 0


def test_another_sites_comment_or_none_at_all_is_not_found(client, site):
    other = make_site(origins=["https://other.example"])
    theirs = make_comment(other, url="https://other.example/post")
    assert like(client, site, theirs.id).status_code == 404
    assert like(client, site, 10_000).status_code == 404
    assert like(client, site, 2**70).status_code == 404


@pytest.mark.parametrize(
    "value", [None, "short", "x" * 65, "has spaces in it!!", 12345678901234567]
)
def test_a_guest_must_send_a_browser_id(client, site, value):
    comment = make_comment(site)
    body = {} if value is None else {"browser": value}
    refused = client.put(
        f"/api/v1/sites/{site.id}/comments/{comment.id}/like",
        json=body,
        headers={"Origin": HOST_ORIGIN},
    )
    assert refused.status_code == 400
    assert refused.json["error"]["field"] == "browser"


def test_likes_are_writes_json_from_the_sites_origins_only(client, site):
    comment = make_comment(site)
    assert like(client, site, comment.id, origin="https://evil.example").status_code == 403
    as_form = client.put(
        f"/api/v1/sites/{site.id}/comments/{comment.id}/like",
        data={"browser": BROWSER},
        headers={"Origin": HOST_ORIGIN},
    )
    assert as_form.status_code == 415
    stale = like(client, site, comment.id, headers={"Authorization": "Bearer stale"})
    assert stale.status_code == 401
    assert stored_count(comment.id) == 0


def test_the_preflight_allows_put_and_delete(client, site):
    comment = make_comment(site)
    for method in ("PUT", "DELETE"):
        resp = client.options(
            f"/api/v1/sites/{site.id}/comments/{comment.id}/like",
            headers={
                "Origin": HOST_ORIGIN,
                "Access-Control-Request-Method": method,
                "Access-Control-Request-Headers": "content-type, authorization",
            },
        )
        assert resp.status_code == 204
        assert method in resp.headers["Access-Control-Allow-Methods"]


# --- abuse --------------------------------------------------------------------------------


def test_guests_likes_from_one_address_are_capped_per_comment(app, client, site):
    assert app.config["LIKE_GUESTS_PER_ADDRESS"] == 3
    comment, elsewhere = make_comment(site), make_comment(site)
    for n in range(3):
        assert like(client, site, comment.id, browser_id=browser_id(n)).status_code == 200
    refused = like(client, site, comment.id, browser_id=browser_id(3))
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "like_limit"
    assert stored_count(comment.id) == 3
    # One of them liking again is still fine; so are another address and another comment.
    assert like(client, site, comment.id, browser_id=browser_id(0)).json["likes"] == 3
    assert (
        like(client, site, comment.id, browser_id=browser_id(3), addr="198.51.100.2").status_code
        == 200
    )
    assert like(client, site, elsewhere.id, browser_id=browser_id(3)).status_code == 200
    # Signed-in readers are themselves, whatever address they share.
    ada = make_reader()
    assert (
        like(client, site, comment.id, browser_id=None, headers=bearer(ada, site)).status_code
        == 200
    )
    assert stored_count(comment.id) == 5


def test_an_address_past_its_retention_no_longer_counts_to_the_cap(client, site, clock):
    comment = make_comment(site)
    for n in range(3):
        like(client, site, comment.id, browser_id=browser_id(n))
    clock.advance(timedelta(days=31).total_seconds())
    report = retention.prune(address_days=30)
    assert report.address_hashes >= 3
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(CommentLike)
            .where(CommentLike.address_hash.is_not(None))
        )
        == 0
    )
    assert like(client, site, comment.id, browser_id=browser_id(3)).status_code == 200
    assert stored_count(comment.id) == 4


def test_liking_is_rate_limited(app, client, site):
    app.config.update(RATELIMIT_LIKE="3 per day")  # a window no test run straddles
    comment = make_comment(site)
    answers = [like(client, site, comment.id).status_code for _ in range(2)]
    answers.append(unlike(client, site, comment.id).status_code)  # one budget for both
    limited = like(client, site, comment.id)
    assert answers == [200, 200, 200]
    assert limited.status_code == 429
    assert limited.json["error"]["code"] == "too_many_requests"
    assert "Retry-After" in limited.headers


# --- counts stay exact --------------------------------------------------------------------


def test_likes_arriving_together_are_all_counted(app, site):
    comment_id = make_comment(site).id
    site_id = site.id

    def put(i: int) -> int:
        return (
            app.test_client()
            .put(
                f"/api/v1/sites/{site_id}/comments/{comment_id}/like",
                json={"browser": browser_id(i)},
                headers={"Origin": HOST_ORIGIN},
                environ_base={"REMOTE_ADDR": f"198.51.100.{i + 1}"},
            )
            .status_code
        )

    assert run_together(app, put) == [200] * WRITERS
    db.session.rollback()  # end this thread's read snapshot
    assert stored_count(comment_id) == WRITERS
    assert db.session.scalar(select(func.count()).select_from(CommentLike)) == WRITERS


def test_one_browser_liking_many_times_at_once_counts_once(app, site):
    comment_id = make_comment(site).id
    site_id = site.id

    def put(_: int) -> int:
        return (
            app.test_client()
            .put(
                f"/api/v1/sites/{site_id}/comments/{comment_id}/like",
                json={"browser": BROWSER},
                headers={"Origin": HOST_ORIGIN},
            )
            .json["likes"]
        )

    assert run_together(app, put) == [1] * WRITERS
    db.session.rollback()
    assert stored_count(comment_id) == 1


def test_a_like_makes_the_cached_page_stale_at_once(client, site):
    comment = make_comment(site)
    assert by_id(thread(client, site))[comment.id]["likes"] == 0
    assert by_id(thread(client, site))[comment.id]["likes"] == 0  # now from the cache
    like(client, site, comment.id)
    assert by_id(thread(client, site))[comment.id]["likes"] == 1
    unlike(client, site, comment.id)
    assert by_id(thread(client, site))[comment.id]["likes"] == 0


# --- best -----------------------------------------------------------------------------------


def test_best_sorts_by_likes_then_replies(client, site):
    talked_about = make_comment(site, body="Two replies, no likes")
    for n in range(2):
        make_comment(site, parent=talked_about, body=f"Reply {n}")
    liked = make_comment(site, body="Two likes, no replies")
    liked_and_talked = make_comment(site, body="Two likes, one reply")
    make_comment(site, parent=liked_and_talked, body="The reply")
    quiet = make_comment(site, body="Nothing")
    for target in (liked, liked_and_talked):
        for n in range(2):
            like(client, site, target.id, browser_id=browser_id(n))
    order = [c["id"] for c in thread(client, site, sort="best")["comments"]]
    assert order == [liked_and_talked.id, liked.id, talked_about.id, quiet.id]


def test_a_comment_held_again_does_not_rank_by_its_old_likes(client, site):
    held = make_comment(site, body="Liked, then held")
    make_comment(site, parent=held, body="A reply keeps it on the page")
    plain = make_comment(site, body="One reply")
    make_comment(site, parent=plain, body="Its reply")
    make_comment(site, parent=plain, body="And another")
    for n in range(3):
        like(client, site, held.id, browser_id=browser_id(n))
    moderation.set_status(db.session.get_one(Comment, held.id), CommentStatus.PENDING)
    order = [c["id"] for c in thread(client, site, sort="best")["comments"]]
    assert order == [plain.id, held.id]


# --- the dashboard, privacy, export ---------------------------------------------------------


def test_the_dashboard_shows_a_comments_likes(client, site):
    moderator = make_moderator(site, email="mod@example.com")
    comment = make_comment(site)
    one = make_comment(site)
    for n in range(3):
        like(client, site, comment.id, browser_id=browser_id(n))
    like(client, site, one.id)
    dash = Dashboard(client)
    dash.sign_in(moderator.email)
    assert "3 likes" in client.get(f"/dashboard/comments/{comment.id}").text
    assert "1 like<" in client.get(f"/dashboard/comments/{one.id}").text
    assert "likes" not in client.get(f"/dashboard/comments/{make_comment(site).id}").text


def test_a_readers_export_lists_their_likes_and_deletion_removes_them(client, site):
    ada = make_reader()
    ada_voter = likes.user_voter(ada.id)
    comment = make_comment(site)
    like(client, site, comment.id, browser_id=None, headers=bearer(ada, site))
    like(client, site, comment.id, browser_id=browser_id(1))
    exported = client.get(
        f"/api/v1/sites/{site.id}/me/export", headers={"Origin": HOST_ORIGIN, **bearer(ada, site)}
    ).json
    assert [(x["comment_id"], x["page"]["url"]) for x in exported["likes"]] == [
        (comment.id, POST_URL)
    ]
    assert by_id(thread(client, site))[comment.id]["likes"] == 2  # cached now
    deleted = client.delete(
        f"/api/v1/sites/{site.id}/me",
        json={"confirm": True},
        headers={"Origin": HOST_ORIGIN, **bearer(ada, site)},
    )
    assert deleted.status_code == 200
    assert stored_count(comment.id) == 1
    assert by_id(thread(client, site))[comment.id]["likes"] == 1
    assert ada_voter not in db.session.scalars(select(CommentLike.voter)).all()
    assert db.session.scalar(select(func.count()).select_from(CommentLike)) == 1


def test_erasing_an_author_erases_the_likes_of_their_comments(client, site):
    comment = make_comment(site, email="zoe@example.com")
    like(client, site, comment.id)
    privacy.erase_guest("zoe@example.com")
    assert stored_count(comment.id) == 0
    assert db.session.scalar(select(func.count()).select_from(CommentLike)) == 0


def test_like_counts_travel_with_an_export(runner, client, site, tmp_path):
    comment = make_comment(site, body="Liked twice")
    like(client, site, comment.id)
    like(client, site, comment.id, browser_id=browser_id(1))
    out = tmp_path / "export.json"
    assert runner.invoke(args=["export", "--site", site.id, "--output", str(out)]).exit_code == 0
    exported = json.loads(out.read_text())
    assert [c["likes"] for c in exported["threads"][0]["comments"]] == [2]
    assert "voter" not in out.read_text()
    target = make_site()
    imported = runner.invoke(args=["import", "afterword", str(out), "--site", target.id])
    assert imported.exit_code == 0, imported.output
    restored = db.session.scalars(
        select(Comment).where(Comment.body == "Liked twice", Comment.id != comment.id)
    ).one()
    assert restored.like_count == 2
