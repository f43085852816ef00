"""A moderator pins a comment: it comes first in its thread, marked, one per thread."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.domain.errors import CommentNotFound, ValidationError
from app.domain.states import CommentStatus
from app.extensions import db
from app.models import AuditEntry, Comment
from app.services import moderation
from tests.factories import POST_URL, make_comment, make_moderator, make_site
from tests.helpers import Dashboard


def read(client, site, **params) -> list[dict]:
    resp = client.get(f"/api/v1/sites/{site.id}/thread", query_string={"url": POST_URL, **params})
    assert resp.status_code == 200
    return resp.json["comments"]


def test_a_pinned_comment_comes_first_in_every_order_and_says_so(client, site):
    first, middle, last = (make_comment(site, body=b) for b in ("first", "middle", "last"))
    moderator = make_moderator(site)
    assert [c["id"] for c in read(client, site)] == [first.id, middle.id, last.id]
    moderation.pin(moderator, middle.id, True)
    for sort in ("oldest", "newest", "best"):
        shown = read(client, site, sort=sort)
        assert shown[0]["id"] == middle.id and shown[0]["pinned"] is True, sort
        assert len(shown) == 3 and all("pinned" not in c for c in shown[1:])
    # Paged: first on page one, nowhere else.
    assert [c["id"] for c in read(client, site, per_page=2)] == [middle.id, first.id]
    assert [c["id"] for c in read(client, site, per_page=2, page=2)] == [last.id]


def test_one_pin_per_thread_and_unpin(client, site):
    a, b = make_comment(site), make_comment(site)
    moderator = make_moderator(site)
    moderation.pin(moderator, a.id, True)
    moderation.pin(moderator, b.id, True)
    db.session.expire_all()
    assert (db.session.get_one(Comment, a.id).pinned, db.session.get_one(Comment, b.id).pinned) == (
        False,
        True,
    )
    assert read(client, site)[0]["id"] == b.id
    moderation.pin(moderator, b.id, False)
    assert [c["id"] for c in read(client, site)] == [a.id, b.id]
    assert "pinned" not in read(client, site)[1]


def test_the_audit_log_records_pins(site):
    comment = make_comment(site)
    moderator = make_moderator(site)
    moderation.pin(moderator, comment.id, True)
    moderation.pin(moderator, comment.id, False)
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.comment_id == comment.id).order_by(AuditEntry.id)
    ).all()
    assert actions[-2:] == ["pin", "unpin"]


def test_a_pinned_comment_held_again_is_not_shown_first_nor_at_all(client, site):
    a, b = make_comment(site), make_comment(site)
    moderator = make_moderator(site)
    moderation.pin(moderator, b.id, True)
    moderation.act(moderator, [b.id], "reject")
    assert [c["id"] for c in read(client, site)] == [a.id]


@pytest.mark.parametrize("kind", ["reply", "pending"])
def test_only_a_published_top_level_comment_can_be_pinned(site, kind):
    root = make_comment(site)
    target = make_comment(site, parent=root) if kind == "reply" else make_comment(site, status=None)
    with pytest.raises(ValidationError):
        moderation.pin(make_moderator(site), target.id, True)


def test_a_moderator_of_another_site_cannot_pin_here(site):
    comment = make_comment(site)
    stranger = make_moderator(make_site())
    with pytest.raises(CommentNotFound):  # not theirs to know of, either
        moderation.pin(stranger, comment.id, True)
    db.session.expire_all()
    assert db.session.get_one(Comment, comment.id).pinned is False


def test_pin_and_unpin_from_the_dashboard_with_a_csrf_token_only(client, site):
    comment = make_comment(site, body="Read this first.")
    desk = Dashboard(client)
    desk.sign_in(make_moderator(site).email)
    queue = "/dashboard/?status=approved"
    page = client.get(queue).text
    assert f'id="pin-{comment.id}"' in page and ">Pin</button>" in page
    forged = client.post(f"/dashboard/comments/{comment.id}/pin", data={"pinned": "1"})
    assert forged.status_code == 400
    db.session.expire_all()
    assert db.session.get_one(Comment, comment.id).pinned is False
    done = client.post(
        f"/dashboard/comments/{comment.id}/pin",
        data={"pinned": "1", "csrf_token": desk.token(queue), "next": queue},
    )
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get_one(Comment, comment.id).pinned is True
    assert ">Unpin</button>" in client.get(queue).text
    assert read(client, site)[0]["pinned"] is True
    assert db.session.get_one(Comment, comment.id).status is CommentStatus.APPROVED
