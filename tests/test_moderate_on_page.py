"""A moderator signed in to the widget with a provider account they linked on the dashboard
moderates from the page: the thread's waiting comments come with its answer, and Approve,
Reject, Spam, Pin and Unpin act as the dashboard's buttons do, audited the same."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.domain.states import CommentStatus
from app.extensions import db
from app.models import AuditEntry, Comment, ModeratorIdentity
from tests.factories import (
    HOST_ORIGIN,
    POST_URL,
    bearer,
    make_comment,
    make_moderator,
    make_reader,
    make_site,
)


def link(moderator, provider: str, provider_user_id: str) -> None:
    db.session.add(
        ModeratorIdentity(
            moderator_id=moderator.id, provider=provider, provider_user_id=provider_user_id
        )
    )
    db.session.commit()


@pytest.fixture
def moderator_reader(site):
    moderator = make_moderator(site, email="ada@example.com")
    reader = make_reader("Ada")
    link(moderator, "dev", "ada")
    return moderator, reader


def read(client, site, headers=None):
    resp = client.get(
        f"/api/v1/sites/{site.id}/thread",
        query_string={"url": POST_URL},
        headers={"Origin": HOST_ORIGIN, **(headers or {})},
    )
    assert resp.status_code == 200, resp.json
    return resp.json


def moderate(client, site, comment_id, action, headers):
    return client.post(
        f"/api/v1/sites/{site.id}/comments/{comment_id}/moderate",
        json={"action": action},
        headers={"Origin": HOST_ORIGIN, **headers},
    )


def status_of(comment_id: int) -> CommentStatus:
    db.session.expire_all()
    return db.session.get_one(Comment, comment_id).status


def test_a_moderators_page_holds_the_threads_waiting_comments(client, site, moderator_reader):
    _, reader = moderator_reader
    make_comment(site, body="Published")
    waiting = make_comment(site, body="Waiting here", status=None)
    make_comment(site, body="Elsewhere", url="https://blog.example/other", status=None)
    answer = read(client, site, bearer(reader, site))
    assert [c["id"] for c in answer["moderation"]["pending"]] == [waiting.id]
    assert answer["moderation"]["pending"][0]["status"] == "pending"
    assert answer["moderation"]["pending"][0]["author"]["name"] == "Ada"
    assert "email" not in str(answer["moderation"])


def test_nobody_else_sees_the_waiting_comments(client, site, moderator_reader):
    make_comment(site, body="Waiting here", status=None)
    assert "moderation" not in read(client, site)
    stranger = make_reader("Grace")
    assert "moderation" not in read(client, site, bearer(stranger, site))
    moderator_elsewhere = make_moderator(make_site())
    link(moderator_elsewhere, "dev", "grace")
    assert "moderation" not in read(client, site, bearer(stranger, site))


@pytest.mark.parametrize(
    ("action", "status"),
    [
        ("approve", CommentStatus.APPROVED),
        ("reject", CommentStatus.REJECTED),
        ("spam", CommentStatus.SPAM),
    ],
)
def test_each_action_moves_the_comment_and_is_audited_under_the_moderator(
    client, site, moderator_reader, action, status
):
    _, reader = moderator_reader
    waiting = make_comment(site, body="Waiting here", status=None)
    resp = moderate(client, site, waiting.id, action, bearer(reader, site))
    assert resp.status_code == 200, resp.json
    assert status_of(waiting.id) is status
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.comment_id == waiting.id, AuditEntry.action == action)
    ).one()
    assert entry.moderator_email == "ada@example.com"
    if action == "approve":
        assert [c["id"] for c in read(client, site)["comments"]] == [waiting.id]


def test_pin_and_unpin_from_the_page(client, site, moderator_reader):
    _, reader = moderator_reader
    make_comment(site, body="First")
    second = make_comment(site, body="Second")
    headers = bearer(reader, site)
    assert moderate(client, site, second.id, "pin", headers).json["comment"]["pinned"] is True
    assert read(client, site)["comments"][0]["id"] == second.id
    assert "pinned" not in moderate(client, site, second.id, "unpin", headers).json["comment"]


def test_a_reader_who_is_not_a_moderator_is_refused_and_nothing_changes(client, site):
    waiting = make_comment(site, body="Waiting here", status=None)
    stranger = make_reader("Grace")
    resp = moderate(client, site, waiting.id, "approve", bearer(stranger, site))
    assert resp.status_code == 403
    assert resp.json["error"]["code"] == "forbidden"
    guest = moderate(client, site, waiting.id, "approve", {})
    assert guest.status_code == 403
    assert status_of(waiting.id) is CommentStatus.PENDING


def test_a_moderator_of_another_site_is_refused(client, site):
    other = make_site()
    moderator = make_moderator(other)
    reader = make_reader("Lin")
    link(moderator, "dev", "lin")
    waiting = make_comment(site, body="Waiting here", status=None)
    resp = moderate(client, site, waiting.id, "approve", bearer(reader, site))
    assert resp.status_code == 403
    assert status_of(waiting.id) is CommentStatus.PENDING


def test_a_comment_of_another_site_is_not_found_through_this_one(client, site):
    other = make_site()
    moderator = make_moderator()  # of every site
    reader = make_reader("Lin")
    link(moderator, "dev", "lin")
    elsewhere = make_comment(other, body="On the other site", status=None)
    resp = moderate(client, site, elsewhere.id, "approve", bearer(reader, site))
    assert resp.status_code == 404
    assert status_of(elsewhere.id) is CommentStatus.PENDING


@pytest.mark.parametrize("action", ["delete", "", None, 3, ["approve"]])
def test_an_unknown_action_is_refused_clearly(client, site, moderator_reader, action):
    _, reader = moderator_reader
    waiting = make_comment(site, body="Waiting here", status=None)
    resp = moderate(client, site, waiting.id, action, bearer(reader, site))
    assert resp.status_code == 400
    assert resp.json["error"]["field"] == "action"
    assert status_of(waiting.id) is CommentStatus.PENDING


def test_pinning_what_cannot_be_pinned_is_refused(client, site, moderator_reader):
    _, reader = moderator_reader
    waiting = make_comment(site, body="Waiting here", status=None)
    resp = moderate(client, site, waiting.id, "pin", bearer(reader, site))
    assert resp.status_code == 400
