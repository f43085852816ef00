"""A guest's edit token: edit within the window, delete any time, nobody else can."""

from __future__ import annotations

from datetime import timedelta

from app.domain.states import CommentStatus
from app.extensions import db
from app.models import Comment
from app.services import moderation
from tests.factories import guest_payload, post_json


def posted(client, site, **overrides):
    resp = post_json(client, site, guest_payload(**overrides))
    return resp.json["comment"]["id"], resp.json["edit_token"]


def edit(client, site, comment_id, token, body="Edited *text*"):
    return post_json(
        client,
        site,
        {"body": body, "edit_token": token},
        path=f"comments/{comment_id}",
        method="PATCH",
    )


def delete(client, site, comment_id, token):
    return post_json(
        client, site, {"edit_token": token}, path=f"comments/{comment_id}", method="DELETE"
    )


def test_author_edits_within_the_window(client, site):
    comment_id, token = posted(client, site)
    resp = edit(client, site, comment_id, token)
    assert resp.status_code == 200
    assert resp.json["comment"]["html"] == "<p>Edited <em>text</em></p>"
    assert resp.json["comment"]["edited_at"] is not None
    assert db.session.get(Comment, comment_id).body == "Edited *text*"


def test_edit_after_the_window_is_refused(client, site):
    comment_id, token = posted(client, site)
    comment = db.session.get(Comment, comment_id)
    comment.created_at -= timedelta(minutes=16)
    db.session.commit()
    resp = edit(client, site, comment_id, token)
    assert resp.status_code == 403
    assert resp.json["error"]["code"] == "edit_window_closed"
    db.session.expire_all()
    assert db.session.get(Comment, comment_id).body == "Hello *world*"


def test_another_guest_cannot_edit_or_delete(client, site):
    comment_id, _ = posted(client, site)
    _, other_token = posted(client, site, email="eve@example.com", body="mine")
    for resp in (
        edit(client, site, comment_id, other_token),
        delete(client, site, comment_id, other_token),
        edit(client, site, comment_id, "garbage"),
        delete(client, site, comment_id, None),
    ):
        assert resp.status_code == 403
        assert resp.json["error"]["code"] == "forbidden"
    db.session.expire_all()
    assert db.session.get(Comment, comment_id).status is CommentStatus.PENDING


def test_edit_keeps_the_limits(client, site):
    comment_id, token = posted(client, site)
    resp = edit(client, site, comment_id, token, body="x" * 10_001)
    assert resp.json["error"]["code"] == "body_too_long"


def test_delete_removes_the_text_and_the_count(client, site):
    comment_id, token = posted(client, site)
    moderation.set_status(db.session.get(Comment, comment_id), CommentStatus.APPROVED)
    resp = delete(client, site, comment_id, token)
    assert resp.status_code == 200
    db.session.expire_all()
    comment = db.session.get(Comment, comment_id)
    assert comment.status is CommentStatus.DELETED
    assert comment.body == "" and comment.html == ""
    counts = client.get(
        f"/api/v1/sites/{site.id}/counts", query_string={"url": guest_payload()["url"]}
    )
    assert list(counts.json["counts"].values()) == [0]


def test_a_comment_of_another_site_is_not_found(client, site):
    from tests.factories import make_site

    comment_id, token = posted(client, site)
    other = make_site()
    resp = edit(client, other, comment_id, token)
    assert resp.status_code == 404
    assert resp.json["error"]["code"] == "comment_not_found"


def test_rejected_comment_cannot_be_edited_back_into_view(client, site):
    comment_id, token = posted(client, site)
    moderation.set_status(db.session.get(Comment, comment_id), CommentStatus.SPAM)
    assert edit(client, site, comment_id, token).status_code == 404
