"""Every held comment says why: the reason is stored when it is held and the queue says it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.domain import holds
from app.domain.holds import Hold
from app.domain.states import CommentStatus, ModerationMode
from app.extensions import db
from app.models import Comment
from app.services import moderation
from tests.factories import (
    HOST_ORIGIN,
    POST_URL,
    bearer,
    guest_payload,
    make_comment,
    make_moderator,
    make_reader,
    make_site,
    post_json,
)
from tests.helpers import Dashboard


def stored(body: str) -> Comment:
    db.session.expire_all()
    return db.session.scalars(select(Comment).where(Comment.body == body)).one()


def queue_page(client, site, status: str = "pending") -> str:
    moderator = make_moderator(site)
    Dashboard(client).sign_in(moderator.email)
    return client.get("/dashboard/", query_string={"status": status}).text


def test_a_site_that_moderates_everything_says_so(client, site):
    post_json(client, site, guest_payload(body="Hello there"))
    assert stored("Hello there").holds == [{"code": "moderate-all"}]
    page = queue_page(client, site)
    assert "Why it waits:" in page and "The site moderates every comment." in page


def test_a_first_comment_says_it_is_one(client):
    site = make_site(moderation=ModerationMode.FIRST_TIME)
    resp = client.post(
        f"/api/v1/sites/{site.id}/comments",
        json={"url": POST_URL, "body": "My first words"},
        headers={"Origin": HOST_ORIGIN, **bearer(make_reader(), site)},
    )
    assert resp.status_code == 201, resp.json
    assert stored("My first words").holds == [{"code": "first-comment"}]
    assert "A first comment: this author has no approved comment here yet." in queue_page(
        client, site
    )


def test_a_published_comment_has_no_reason(client):
    site = make_site(moderation=ModerationMode.NONE)
    post_json(client, site, guest_payload(body="Straight through"))
    assert stored("Straight through").holds is None


def test_several_reasons_are_all_kept(client, site):
    site.held_words = ["refund"]
    db.session.commit()
    links = "refund " + " ".join(f"[x{i}](https://l{i}.example)" for i in range(4))
    post_json(client, site, guest_payload(body=links))
    assert [h["code"] for h in stored(links).holds] == ["links", "held-word", "moderate-all"]
    page = queue_page(client, site)
    assert "Too many links: 4 (the site allows 3)." in page
    assert "Held word: refund." in page


def test_a_reply_to_a_waiting_comment_says_so(client):
    site = make_site(moderation=ModerationMode.NONE)
    site.held_words = ["refund"]
    db.session.commit()
    parent = post_json(client, site, guest_payload(body="A refund please")).json
    resp = post_json(
        client,
        site,
        guest_payload(
            body="And soon",
            parent_id=parent["comment"]["id"],
            parent_edit_token=parent["edit_token"],
        ),
    )
    assert resp.status_code == 201, resp.json
    assert stored("And soon").holds == [{"code": "parent-pending"}]


def test_spam_says_which_signal_caught_it_and_is_one_click_from_approval(app, client):
    site = make_site(moderation=ModerationMode.NONE)
    app.config["COMMENT_MIN_FILL_MS"] = 2000
    post_json(client, site, guest_payload(body="Too quick", fill_ms=800))
    page = queue_page(client, site, status="spam")
    assert "Caught as spam:" in page
    assert "Spam check: sent 0.8 s after the form appeared." in page
    assert 'value="approve"' in page  # its own Approve button, on the spam page


def test_a_banned_authors_comment_says_so(client, site):
    first = make_comment(site, name="Troll", email="troll@example.com")
    moderator = make_moderator(site)
    moderation.ban_author(moderator, first.id)
    resp = post_json(
        client, site, guest_payload(body="Again", name="Troll", email="troll@example.com")
    )
    assert resp.status_code == 403
    assert stored("Again").holds == [{"code": "banned-author"}]


def test_a_comment_taken_down_by_reports_says_how_often(client):
    site = make_site(moderation=ModerationMode.NONE)
    site.report_threshold = 1
    db.session.commit()
    comment = make_comment(site, body="Contested words")
    resp = client.post(
        f"/api/v1/sites/{site.id}/comments/{comment.id}/report",
        json={"reason": "abuse", "browser": "b" * 22},
        headers={"Origin": HOST_ORIGIN},
    )
    assert resp.status_code in (200, 201), resp.json
    taken_down = stored("Contested words")
    assert taken_down.status is CommentStatus.PENDING
    assert taken_down.holds == [{"code": "reported", "detail": "1"}]
    assert "Taken down after 1 reports by readers." in queue_page(client, site)


def test_a_comment_held_before_reasons_were_kept_shows_none(client, site):
    make_comment(site, body="From long ago", status=None)
    comment = stored("From long ago")
    comment.holds = None
    db.session.commit()
    assert "Why it waits:" not in queue_page(client, site)


@pytest.mark.parametrize(
    "stored_value", [None, [], "text", [1, None, {"code": 3}, {"detail": "x"}]]
)
def test_unreadable_stored_reasons_are_skipped(stored_value):
    assert holds.from_json(stored_value if isinstance(stored_value, list) else None) == []


def test_a_reason_this_version_does_not_know_still_reads():
    assert Hold("from-the-future").describe() == "Held for a reason this version does not know."
