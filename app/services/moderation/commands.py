"""Moderators changing what readers see: status moves, edits and replies as the site.
Every action is checked against the moderator's sites and audited in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select, update

from app.database import writes
from app.domain import policy
from app.domain.authors import Author
from app.domain.errors import CommentNotFound, Forbidden, ValidationError
from app.domain.markdown import render_markdown
from app.domain.states import CommentStatus
from app.extensions import db
from app.models import (
    AuditEntry,
    Comment,
    Moderator,
    Site,
    Thread,
)
from app.models.types import utcnow
from app.services import cache, learning, subscriptions, webhooks
from app.services.moderation.audit import audit_row, record_action, record_actions
from app.services.moderation.permissions import moderated_comment, site_ids_of
from app.services.threads import adjust_approved_count, adjust_approved_counts

ACTIONS: dict[str, CommentStatus] = {
    "approve": CommentStatus.APPROVED,
    "reject": CommentStatus.REJECTED,
    "spam": CommentStatus.SPAM,
    "delete": CommentStatus.DELETED,
}


@writes
def set_status(
    comment: Comment, status: CommentStatus, *, moderator: Moderator | None = None
) -> Comment:
    """Move one comment to `status` (no permission check: for trusted callers). Read afresh
    and locked, as `moderated_comment(lock=True)` says why."""
    db.session.refresh(comment, with_for_update=True)
    site_id = db.session.execute(
        select(Thread.site_id).where(Thread.id == comment.thread_id)
    ).scalar_one()
    move_comment(comment, status, site_id, moderator, action=_action_name(status))
    return comment


@writes
def act(moderator: Moderator, comment_ids: Iterable[int], action: str) -> list[Comment]:
    """Approve, reject, mark as spam or delete comments, all or none.

    Raises Forbidden if any of them is on a site the moderator does not moderate, so a
    tampered id in a bulk form changes nothing at all.
    """
    comments = apply_action(moderator, comment_ids, action)
    return comments


def apply_action(moderator: Moderator, comment_ids: Iterable[int], action: str) -> list[Comment]:
    """`act` inside the caller's write transaction (used by one-time mail links).

    However many comments, the same few statements: one to load them, one UPDATE of their
    statuses, one of their threads' counters, one INSERT of the audit entries, and mail
    only for those that someone follows.
    """
    if action not in ACTIONS:
        raise ValidationError("Unknown action.", field="action")
    ids = sorted({int(i) for i in comment_ids})
    if any(not policy.is_id(i) for i in ids):
        raise CommentNotFound("Some of those comments do not exist.")
    if not ids:
        raise ValidationError("Select at least one comment.", field="ids")
    if len(ids) > policy.BULK_MAX:
        raise ValidationError(
            f"Select at most {policy.BULK_MAX:,} comments at a time; {len(ids):,} were selected.",
            field="ids",
        )
    # Locked, and read afresh: on PostgreSQL two moderators approving the same comment at
    # once both read it pending otherwise, and its thread's counter moved twice. The second
    # now waits for the first and finds it approved. In id order, so that two bulk actions
    # over the same comments lock them in one order and never deadlock. (SQLite renders no
    # FOR UPDATE: its write transaction holds the database's write lock already.)
    rows = db.session.execute(
        select(Comment, Thread.site_id)
        .join(Thread)
        .where(Comment.id.in_(ids))
        .order_by(Comment.id)
        .with_for_update(of=Comment)
        .execution_options(populate_existing=True)
    ).all()
    if len(rows) != len(ids):
        raise CommentNotFound("Some of those comments do not exist.")
    allowed = site_ids_of(moderator)
    if allowed is not None and any(site_id not in allowed for _, site_id in rows):
        raise Forbidden("You do not moderate that site.")
    moves = [(comment, site_id) for comment, site_id in rows]
    audit = move_comments(moves, ACTIONS[action], moderator, action=action)
    for comment, site_id in moves:
        # A moderator's decision settles the reports so far: approving a published comment
        # that readers reported keeps it up and takes it off the `Reported` list.
        if comment.open_reports:
            comment.open_reports = 0
            if action == "approve":
                audit.append(audit_row(site_id, comment, moderator, "reports-dismissed"))
    record_actions(audit)
    return [comment for comment, _ in rows]


@writes
def pin(moderator: Moderator, comment_id: int, pinned: bool) -> Comment:
    """Pin a published top-level comment first in its thread (taking the pin from any other
    there: one per thread), or unpin it."""
    comment, site_id = moderated_comment(moderator, comment_id, lock=True)
    if pinned and (comment.status is not CommentStatus.APPROVED or comment.parent_id is not None):
        raise ValidationError("Only a published top-level comment can be pinned.", field="pin")
    if comment.pinned == pinned:
        return comment
    if pinned:
        db.session.execute(
            update(Comment)
            .where(Comment.thread_id == comment.thread_id, Comment.pinned.is_(True))
            .values(pinned=False)
            .execution_options(synchronize_session=False)
        )
    comment.pinned = pinned
    cache.touch_thread(site_id, comment.thread_id)
    record_action(site_id, comment, moderator, "pin" if pinned else "unpin")
    return comment


@writes
def undo(moderator: Moderator, comment_id: int, status: CommentStatus) -> Comment:
    """Put one comment back to the status it had before an action (the dashboard's Undo);
    also back to pending, which no action moves a comment to."""
    comment, site_id = moderated_comment(moderator, comment_id, lock=True)
    move_comment(comment, status, site_id, moderator, action="undo")
    return comment


@writes
def edit_text(moderator: Moderator, comment_id: int, body: str) -> Comment:
    """A moderator's edit: no time window, same limits as the author's."""
    comment, site_id = moderated_comment(moderator, comment_id, lock=True)
    body = policy.clean_body(body)
    before = comment.body
    comment.body = body
    comment.html = render_markdown(body)
    comment.edited_at = utcnow()
    cache.touch_thread(site_id, comment.thread_id)
    record_action(
        site_id, comment, moderator, "edit", detail=f"{len(before)} → {len(body)} characters"
    )
    return comment


@writes
def reply_as_site(moderator: Moderator, comment_id: int, body: str) -> Comment:
    """A reply shown as the site's (with a moderator badge), published at once."""
    parent, site_id = moderated_comment(moderator, comment_id)
    body = policy.clean_body(body)
    site = db.session.get_one(Site, site_id)
    reply = Comment(
        thread_id=parent.thread_id,
        parent_id=parent.id,
        root_id=parent.root_id,
        **Author.site(site.name, moderator.id).columns(),
        body=body,
        html=render_markdown(body),
        status=CommentStatus.APPROVED,
    )
    db.session.add(reply)
    db.session.flush()
    adjust_approved_count(parent.thread_id, +1)
    cache.touch_thread(site_id, parent.thread_id)
    # Published at once, so mailed at once, like any comment approved on posting.
    thread = db.session.get_one(Thread, parent.thread_id)
    subscriptions.comment_approved(reply, thread, site)
    webhooks.comment_event(reply, thread, site, webhooks.APPROVED)
    record_action(site_id, reply, moderator, "reply", after=CommentStatus.APPROVED)
    return reply


def move_comment(
    comment: Comment,
    status: CommentStatus,
    site_id: str,
    moderator: Moderator | None,
    *,
    action: str,
) -> None:
    # Added to the session, not inserted at once: callers move a comment in the middle of
    # their own changes (an edit, a report), which an INSERT now would flush half-done.
    for row in move_comments([(comment, site_id)], status, moderator, action=action):
        db.session.add(AuditEntry(**row))


def move_comments(
    moves: list[tuple[Comment, str]],
    status: CommentStatus,
    moderator: Moderator | None,
    *,
    action: str,
) -> list[dict[str, Any]]:
    """Move comments (each with its site's id) to `status`; returns the audit entries for
    the caller to record (`record_actions`), with any of its own, in one INSERT.

    Each thread's counter moves once and its cached pages go stale once, however many of
    its comments moved.
    """
    audit: list[dict[str, Any]] = []
    deltas: dict[int, int] = {}
    approved: list[Comment] = []
    moved: list[int] = []
    if moderator is not None:
        # The filter learns from people only; approving what was published at once teaches too.
        learning.note_decisions(moves, status)
    hooked: dict[str, bool] = {}  # whether each site has a webhook, looked up once
    for comment, site_id in moves:
        before = comment.status
        if before is status:
            continue
        moved.append(comment.id)
        cache.touch_thread(site_id, comment.thread_id)
        if status is CommentStatus.APPROVED:
            approved.append(comment)
            if site_id not in hooked:
                hooked[site_id] = webhooks.has_webhook(site_id)
            if hooked[site_id]:
                # Unlike subscribers' mail, each time: a channel that saw it go should see it
                # back.
                webhooks.comment_event(
                    comment,
                    db.session.get_one(Thread, comment.thread_id),
                    db.session.get_one(Site, site_id),
                    webhooks.APPROVED,
                )
        delta = (status is CommentStatus.APPROVED) - (before is CommentStatus.APPROVED)
        deltas[comment.thread_id] = deltas.get(comment.thread_id, 0) + delta
        audit.append(audit_row(site_id, comment, moderator, action, before=before, after=status))
    if moved:
        # One UPDATE, not one per comment; the session's copies take the new status too.
        db.session.execute(
            update(Comment).where(Comment.id.in_(moved)).values(status=status),
            execution_options={"synchronize_session": "evaluate"},
        )
    subscriptions.comments_approved(approved)
    adjust_approved_counts(deltas)
    return audit


def _action_name(status: CommentStatus) -> str:
    return next((name for name, s in ACTIONS.items() if s is status), status.value)
