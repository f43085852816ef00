"""Many readers writing at once: no lost comment, no duplicate thread, no "database is locked"."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import Comment, Thread
from tests.factories import HOST_ORIGIN, guest_payload, make_comment
from tests.helpers import WRITERS, run_together


def test_first_comments_arriving_together_share_one_new_thread(app, site):
    url = f"{HOST_ORIGIN}/brand-new-post"
    site_id = site.id  # models belong to this thread's session; workers get plain values

    def post(i: int) -> int:
        resp = app.test_client().post(
            f"/api/v1/sites/{site_id}/comments",
            json=guest_payload(url=url, body=f"first! #{i}", email=f"r{i}@example.com"),
            headers={"Origin": HOST_ORIGIN},
        )
        return resp.status_code

    statuses = run_together(app, post)
    assert statuses == [201] * WRITERS
    db.session.rollback()  # end this thread's read snapshot
    assert db.session.scalar(select(func.count(Thread.id))) == 1
    assert db.session.scalar(select(func.count(Comment.id))) == WRITERS


def test_double_submits_racing_store_one_comment(app, site):
    payload = guest_payload(idempotency_key="3b0c6b9e-race-race-race-5f0f9e1c2d3a")
    site_id = site.id

    def post(_: int) -> tuple[int, int]:
        resp = app.test_client().post(
            f"/api/v1/sites/{site_id}/comments", json=payload, headers={"Origin": HOST_ORIGIN}
        )
        return resp.status_code, resp.json["comment"]["id"]

    results = run_together(app, post)
    assert sorted(status for status, _ in results) == [200] * (WRITERS - 1) + [201]
    assert len({comment_id for _, comment_id in results}) == 1
    db.session.rollback()  # end this thread's read snapshot
    assert db.session.scalar(select(func.count(Comment.id))) == 1


def test_concurrent_approvals_keep_the_count_exact(app, site):
    from app.domain.states import CommentStatus
    from app.services import moderation

    pending = [make_comment(site, status=None).id for _ in range(WRITERS)]

    def approve(i: int) -> None:
        moderation.set_status(db.session.get(Comment, pending[i]), CommentStatus.APPROVED)

    assert run_together(app, approve) == [None] * WRITERS
    db.session.rollback()  # end this thread's read snapshot
    assert db.session.scalars(select(Thread.approved_count)).one() == WRITERS


def test_moderators_approving_one_comment_at_once_count_and_audit_it_once(app, site):
    """Two moderators with the same queue open press `Approve` on the same comment together:
    the second finds it approved already, so the thread's counter moves once, not twice."""
    from app.models import AuditEntry, Moderator
    from app.services import moderation
    from tests.factories import make_moderator

    comment_id = make_comment(site, status=None).id
    moderator_id = make_moderator(site).id

    def approve(_: int) -> str:
        moderator = db.session.get_one(Moderator, moderator_id)
        [comment] = moderation.act(moderator, [comment_id], "approve")
        return comment.status.value

    assert run_together(app, approve) == ["approved"] * WRITERS
    db.session.rollback()  # end this thread's read snapshot
    assert db.session.scalars(select(Thread.approved_count)).one() == 1
    approvals = select(func.count(AuditEntry.id)).where(
        AuditEntry.comment_id == comment_id, AuditEntry.action == "approve"
    )
    assert db.session.scalar(approvals) == 1


def test_one_comment_approved_from_several_mail_links_at_once_counts_once(app, site):
    """set_status (a mail link's confirmed approve) reads the comment afresh and locked, as
    the queue's actions do: the thread's counter moves once however many land together."""
    from app.domain.states import CommentStatus
    from app.services import moderation

    comment_id = make_comment(site, status=None).id

    def approve(_: int) -> str:
        comment = db.session.get_one(Comment, comment_id)
        return moderation.set_status(comment, CommentStatus.APPROVED).status.value

    assert run_together(app, approve) == ["approved"] * WRITERS
    db.session.rollback()  # end this thread's read snapshot
    assert db.session.scalars(select(Thread.approved_count)).one() == 1


def test_undoing_one_approval_at_once_from_several_tabs_counts_once(app, site):
    from app.domain.states import CommentStatus
    from app.models import Moderator
    from app.services import moderation
    from tests.factories import make_moderator

    comment_id = make_comment(site).id
    moderator_id = make_moderator(site).id
    assert db.session.scalars(select(Thread.approved_count)).one() == 1

    def undo(_: int) -> str:
        moderator = db.session.get_one(Moderator, moderator_id)
        return moderation.undo(moderator, comment_id, CommentStatus.PENDING).status.value

    assert run_together(app, undo) == ["pending"] * WRITERS
    db.session.rollback()  # end this thread's read snapshot
    assert db.session.scalars(select(Thread.approved_count)).one() == 0
