"""Moderation rules: permissions, bulk actions, bans, audit log, author history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from flask_sqlalchemy.record_queries import get_recorded_queries
from sqlalchemy import select

from app.domain.errors import CommentNotFound, Forbidden, ValidationError
from app.domain.states import CommentStatus
from app.extensions import db
from app.models import AuditEntry, Ban, Comment, Thread
from app.services import moderation, sites
from tests.factories import (
    HOST_ORIGIN,
    POST_URL,
    guest_payload,
    make_comment,
    make_moderator,
    make_site,
    post_json,
)


def count_of(thread_id: int) -> int:
    db.session.expire_all()
    return db.session.get(Thread, thread_id).approved_count


def test_bulk_approve_updates_statuses_counts_and_the_audit_log(site):
    moderator = make_moderator(site)
    comments = [make_comment(site, status=None) for _ in range(3)]
    moderation.act(moderator, [c.id for c in comments], "approve")
    assert {db.session.get(Comment, c.id).status for c in comments} == {CommentStatus.APPROVED}
    assert count_of(comments[0].thread_id) == 3
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.action, e.before, e.after, e.moderator_email) for e in entries] == [
        ("approve", "pending", "approved", moderator.email)
    ] * 3


def test_a_moderator_of_site_a_cannot_touch_site_b(site):
    other = make_site(origins=["https://other.example"])
    moderator = make_moderator(site)
    mine = make_comment(site, status=None)
    theirs = make_comment(other, url="https://other.example/p", status=None)
    with pytest.raises(Forbidden):
        moderation.act(moderator, [mine.id, theirs.id], "approve")
    db.session.rollback()
    # All or nothing: the allowed comment in the same request stayed pending too.
    assert db.session.get(Comment, mine.id).status is CommentStatus.PENDING
    with pytest.raises(CommentNotFound):
        moderation.edit_text(moderator, theirs.id, "defaced")
    assert [c.id for c in moderation.queue(moderator).comments] == [mine.id]


def test_a_moderator_of_every_site_sees_every_site(site):
    other = make_site(origins=["https://other.example"])
    moderator = make_moderator()
    make_comment(site, status=None)
    make_comment(other, url="https://other.example/p", status=None)
    assert len(moderation.queue(moderator).comments) == 2


def test_queue_filters_and_order(site):
    moderator = make_moderator(site)
    older = make_comment(site, status=None, body="about sourdough")
    newer = make_comment(site, status=None, body="about rye", url=f"{HOST_ORIGIN}/rye")
    spam = make_comment(site, status=CommentStatus.SPAM, body="buy now")
    newer.created_at = older.created_at + timedelta(minutes=1)
    db.session.commit()
    assert [c.id for c in moderation.queue(moderator).comments] == [newer.id, older.id]
    assert [c.id for c in moderation.queue(moderator, status="spam").comments] == [spam.id]
    assert [c.id for c in moderation.queue(moderator, text="SOURDOUGH").comments] == [older.id]
    assert [c.id for c in moderation.queue(moderator, text="%").comments] == []
    thread = newer.thread_id
    assert [c.id for c in moderation.queue(moderator, thread_id=thread).comments] == [newer.id]
    with pytest.raises(ValidationError):
        moderation.queue(moderator, status="everything")


def test_queue_shows_each_authors_history_on_the_site(site):
    moderator = make_moderator(site)
    for status in (CommentStatus.APPROVED, CommentStatus.APPROVED, CommentStatus.SPAM):
        make_comment(site, email="regular@example.com", status=status)
    make_comment(site, email="regular@example.com", status=None)
    page = moderation.queue(moderator)
    history = moderation.history_of(page, page.comments[0])
    assert (history.approved, history.rejected) == (2, 1)


def test_edit_and_reply_as_the_site(site):
    moderator = make_moderator(site)
    comment = make_comment(site, body="teh typo")
    moderation.edit_text(moderator, comment.id, "the typo")
    reply = moderation.reply_as_site(moderator, comment.id, "Thanks for *reading*.")
    assert db.session.get(Comment, comment.id).html == "<p>the typo</p>"
    assert reply.status is CommentStatus.APPROVED and reply.moderator_id == moderator.id
    assert reply.guest_name == site.name
    assert count_of(comment.thread_id) == 2
    actions = [e.action for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == ["approve", "edit", "reply"]  # the first by the factory, as the system


def test_banned_guest_is_told_only_that_posting_failed(client, site):
    moderator = make_moderator(site)
    comment = make_comment(site, email="troll@example.com", status=None)
    moderation.ban_author(moderator, comment.id, reason="abuse")
    assert db.session.get(Comment, comment.id).status is CommentStatus.SPAM

    resp = post_json(client, site, guest_payload(email="Troll@Example.com", body="again"))
    assert resp.status_code == 403
    assert resp.json["error"] == {
        "code": "posting_failed",
        "message": "Your comment could not be posted.",
    }
    kept = db.session.scalars(select(Comment).where(Comment.body == "again")).one()
    assert kept.status is CommentStatus.SPAM
    # Someone else is unaffected, and the ban does not reach another site.
    assert post_json(client, site, guest_payload()).status_code == 201
    other = make_site()
    assert post_json(client, other, guest_payload(email="troll@example.com")).status_code == 201


def test_ban_by_address_and_expiry(client, site):
    moderator = make_moderator(site)
    post_json(client, site, guest_payload(email="a@example.com", body="first"))
    comment = db.session.scalars(select(Comment)).one()
    ban = moderation.ban_author(moderator, comment.id, by_email=False, by_address=True, days=1)
    assert ban.email_hash is None and ban.address_hash == comment.remote_addr_hash
    blocked = post_json(client, site, guest_payload(email="new-name@example.com", body="x"))
    assert blocked.status_code == 403
    ban = db.session.get(Ban, ban.id)
    ban.expires_at -= timedelta(days=2)
    db.session.commit()
    assert post_json(client, site, guest_payload(body="after")).status_code == 201


def test_lifting_a_ban(client, site):
    moderator = make_moderator(site)
    comment = make_comment(site, email="troll@example.com")
    ban = moderation.ban_author(moderator, comment.id)
    moderation.lift_ban(moderator, ban.id)
    assert post_json(client, site, guest_payload(email="troll@example.com")).status_code == 201
    assert [e.action for e in moderation.audit_for_site(moderator, site.id)][:1] == ["unban"]


def test_closed_threads_take_no_comments(client, site):
    make_comment(site)
    thread = db.session.scalars(select(Thread)).one()
    thread.created_at -= timedelta(days=31)
    site.close_after_days = 30
    db.session.commit()
    resp = post_json(client, site, guest_payload())
    assert resp.status_code == 403
    assert resp.json["error"]["code"] == "thread_closed"
    assert post_json(client, site, guest_payload(url=f"{HOST_ORIGIN}/new")).status_code == 201


def test_audit_for_a_comment_is_only_for_its_moderators(site):
    moderator = make_moderator(site)
    outsider = make_moderator(make_site())
    comment = make_comment(site, status=None)
    moderation.act(moderator, [comment.id], "approve")
    moderation.act(moderator, [comment.id], "reject")
    history = moderation.audit_for_comment(moderator, comment.id)
    assert [(e.before, e.after) for e in history] == [
        ("approved", "rejected"),
        ("pending", "approved"),
    ]
    with pytest.raises(CommentNotFound):
        moderation.audit_for_comment(outsider, comment.id)
    with pytest.raises(Forbidden):
        moderation.audit_for_site(outsider, site.id)


def test_settings_change_is_checked_and_logged(site):
    from app.domain.states import ModerationMode

    moderator = make_moderator(site)
    sites.update_settings(
        moderator,
        site.id,
        origins=["https://blog.example", "https://www.blog.example/"],
        moderation=ModerationMode.FIRST_TIME,
        close_after_days=14,
        providers=["twitter"],
    )
    db.session.expire_all()
    assert site.origins == ["https://blog.example", "https://www.blog.example"]
    assert (site.moderation, site.close_after_days, site.providers) == (
        ModerationMode.FIRST_TIME,
        14,
        ["twitter"],
    )
    with pytest.raises(ValidationError):
        sites.update_settings(
            moderator,
            site.id,
            origins=["https://*.blog.example"],
            moderation=ModerationMode.ALL,
            close_after_days=None,
            providers=None,
        )


def test_approval_shows_in_the_thread_at_once(client, site):
    moderator = make_moderator(site)
    resp = post_json(client, site, guest_payload(body="hello"))
    moderation.act(moderator, [resp.json["comment"]["id"]], "approve")
    thread = client.get(f"/api/v1/sites/{site.id}/thread", query_string={"url": POST_URL}).json
    assert [c["html"] for c in thread["comments"]] == ["<p>hello</p>"]
    assert thread["thread"]["count"] == 1


def plans_of_queries(run: Callable[[], object]) -> list[tuple[str, str]]:
    """Each query on `comment` that `run` makes, with SQLite's plan for it."""
    before = len(get_recorded_queries())
    run()
    connection = db.session.connection()
    plans = []
    for query in get_recorded_queries()[before:]:
        if "FROM comment" not in query.statement:
            continue
        rows = connection.exec_driver_sql(
            f"EXPLAIN QUERY PLAN {query.statement}", query.parameters
        ).all()
        plans.append((query.statement, " / ".join(row[-1] for row in rows)))
    return plans


@pytest.mark.parametrize("of_every_site", [False, True])
def test_the_queue_and_its_length_read_the_index_of_pending_comments(site, of_every_site):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL may rightly prefer a scan of a table this small")
    moderator = make_moderator() if of_every_site else make_moderator(site)
    for status in (None, CommentStatus.APPROVED, CommentStatus.SPAM):
        make_comment(site, status=status)

    plans = plans_of_queries(lambda: moderation.queue(moderator))
    plans += plans_of_queries(lambda: moderation.pending_count(moderator))
    plans += plans_of_queries(moderation.pending_total)

    # The page of the queue, its length, and the total for metrics: all from the small
    # index, never a scan of every comment (nor of every comment of the site's threads).
    assert len(plans) >= 3
    for statement, plan in plans[:1] + plans[-2:]:
        assert "ix_comment_pending" in plan, (statement, plan)
        assert "SCAN comment " not in plan.replace(
            "SCAN comment USING INDEX ix_comment_pending", ""
        )
