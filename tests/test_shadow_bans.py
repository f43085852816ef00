"""A shadow ban: the author keeps seeing their comments, as published; nobody else does, and
the audit log records it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.domain.states import CommentStatus, ModerationMode
from app.extensions import db
from app.models import AuditEntry, Ban, Comment, OutboxMessage
from app.services import moderation
from tests.factories import (
    HOST_ORIGIN,
    POST_URL,
    bearer,
    guest_payload,
    make_moderator,
    make_reader,
    make_site,
    post_json,
)
from tests.helpers import Dashboard, csrf_from


@pytest.fixture
def open_site():
    return make_site(moderation=ModerationMode.NONE)


def stored(body: str) -> Comment:
    db.session.expire_all()
    return db.session.scalars(select(Comment).where(Comment.body == body)).one()


def thread(client, site, *, mine: list[str] = (), headers=None) -> list[dict]:  # type: ignore[assignment]
    resp = client.get(
        f"/api/v1/sites/{site.id}/thread",
        query_string={"url": POST_URL, **({"mine": ",".join(mine)} if mine else {})},
        headers={"Origin": HOST_ORIGIN, **(headers or {})},
    )
    assert resp.status_code == 200, resp.json
    return resp.json["comments"]


def shadow_ban_from_the_dashboard(client, site, comment_id: int):
    moderator = make_moderator(site)
    Dashboard(client).sign_in(moderator.email)
    page = client.get(f"/dashboard/comments/{comment_id}").text
    assert "Shadow ban: they keep seeing their comments; nobody else does" in page
    return client.post(
        f"/dashboard/comments/{comment_id}/ban",
        data={"csrf_token": csrf_from(page), "by_email": "y", "shadow": "y", "reason": "pest"},
    )


def test_a_shadow_banned_guest_sees_their_comments_as_published_and_nobody_else_does(
    app, open_site
):
    author, moderator_browser, stranger = app.test_client(), app.test_client(), app.test_client()
    first = post_json(author, open_site, guest_payload(body="First, seen by all")).json
    assert first["comment"]["status"] == "approved"
    resp = shadow_ban_from_the_dashboard(moderator_browser, open_site, first["comment"]["id"])
    assert resp.status_code == 302
    assert "shadow-banned" in moderator_browser.get(resp.headers["Location"]).text

    second = post_json(author, open_site, guest_payload(body="Second, seen by me"))
    assert second.status_code == 201  # nothing tells the author
    assert second.json["comment"]["status"] == "approved"
    comment = stored("Second, seen by me")
    assert (comment.status, comment.shadowed) == (CommentStatus.SPAM, True)
    assert comment.holds == [{"code": "shadow-banned"}]

    tokens = [first["edit_token"], second.json["edit_token"]]
    own_view = thread(author, open_site, mine=tokens)
    assert [(c["html"], c["status"]) for c in own_view] == [
        ("<p>First, seen by all</p>", "approved"),
        ("<p>Second, seen by me</p>", "approved"),
    ]
    assert thread(stranger, open_site) == []
    counts = stranger.get(
        f"/api/v1/sites/{open_site.id}/counts",
        query_string={"url": POST_URL},
        headers={"Origin": HOST_ORIGIN},
    )
    assert counts.json["counts"][POST_URL] == 0


def test_the_audit_log_and_the_bans_page_say_shadow(client, open_site):
    first = post_json(client, open_site, guest_payload(body="Noted")).json["comment"]
    shadow_ban_from_the_dashboard(client, open_site, first["id"])
    actions = db.session.scalars(select(AuditEntry.action)).all()
    assert "shadow-ban" in actions
    ban = db.session.scalars(select(Ban)).one()
    assert ban.shadow is True
    page = client.get(f"/dashboard/sites/{open_site.id}/bans").text
    assert '<span class="tag">shadow</span>' in page


def test_a_shadow_banned_comment_mails_no_moderator_and_waits_under_spam_with_its_reason(
    client, open_site
):
    first = post_json(client, open_site, guest_payload(body="Before")).json["comment"]
    moderator = make_moderator(open_site)
    moderation.ban_author(moderator, first["id"], shadow=True)
    open_site.moderation = ModerationMode.ALL
    db.session.commit()
    post_json(client, open_site, guest_payload(body="After the ban"))
    assert db.session.scalars(select(OutboxMessage)).all() == []
    Dashboard(client).sign_in(moderator.email)
    page = client.get("/dashboard/", query_string={"status": "spam"}).text
    assert "After the ban" in page
    assert "Its author is shadow-banned: they see it as published, no one else does." in page


def test_a_shadow_banned_reader_signed_in_sees_their_comment_and_may_edit_it(app, open_site):
    reader = make_reader("Mallory")
    db.session.commit()
    headers = {"Origin": HOST_ORIGIN, **bearer(reader, open_site)}
    author, stranger = app.test_client(), app.test_client()
    first = author.post(
        f"/api/v1/sites/{open_site.id}/comments",
        json={"url": POST_URL, "body": "Hi all"},
        headers=headers,
    ).json["comment"]
    moderation.ban_author(make_moderator(open_site), first["id"], shadow=True)
    resp = author.post(
        f"/api/v1/sites/{open_site.id}/comments",
        json={"url": POST_URL, "body": "Still here"},
        headers=headers,
    )
    assert resp.json["comment"]["status"] == "approved"
    second_id = resp.json["comment"]["id"]
    assert [c["html"] for c in thread(author, open_site, headers=bearer(reader, open_site))] == [
        "<p>Hi all</p>",
        "<p>Still here</p>",
    ]
    assert thread(stranger, open_site) == []
    edited = author.patch(
        f"/api/v1/sites/{open_site.id}/comments/{second_id}",
        json={"body": "Still here, edited"},
        headers=headers,
    )
    assert edited.status_code == 200, edited.json
    assert edited.json["comment"]["status"] == "approved"
    assert stored("Still here, edited").status is CommentStatus.SPAM


def test_a_plain_ban_wins_over_a_shadow_ban(client, open_site):
    first = post_json(client, open_site, guest_payload(body="One")).json["comment"]
    second = post_json(
        client, open_site, guest_payload(body="Two", website="https://other.example")
    ).json["comment"]
    moderator = make_moderator(open_site)
    moderation.ban_author(moderator, first["id"], shadow=True)
    moderation.ban_author(moderator, second["id"])
    resp = post_json(client, open_site, guest_payload(body="Three"))
    assert resp.status_code == 403
    assert stored("Three").holds == [{"code": "banned-author"}]


def test_approving_a_shadowed_comment_publishes_it_for_everyone(app, open_site):
    author = app.test_client()
    first = post_json(author, open_site, guest_payload(body="Once")).json["comment"]
    moderator = make_moderator(open_site)
    moderation.ban_author(moderator, first["id"], shadow=True)
    moderation.set_status(stored("Once"), CommentStatus.APPROVED)
    db.session.commit()
    assert [c["html"] for c in thread(app.test_client(), open_site)] == ["<p>Once</p>"]
