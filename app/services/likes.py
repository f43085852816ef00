"""Readers liking comments: once per reader, counted beside the comment.

A reader is a signed-in user (`u:<id>`) or, for a guest, the random id their browser keeps
(the widget sends it as `browser`), stored only as a keyed hash. A script can make up as
many browser ids as it likes, so guests' likes of one comment from one address are capped
too (LIKE_GUESTS_PER_ADDRESS): a household shares an address, a flood of made-up browsers
does as well. The address is kept as a keyed hash and dropped by `flask prune` after
COMMENT_ADDRESS_RETENTION_DAYS, like a comment's; older likes no longer count to the cap.

Each comment's `like_count` moves in SQL in the like's own transaction, so concurrent likes
never lose one, and each like or unlike that changed something makes the thread's cached
pages stale once.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import ColumnElement, delete, func, select, update

from app.database import dialect_insert, writes
from app.domain import policy
from app.domain.errors import (
    CommentDeleted,
    CommentNotFound,
    LikeLimit,
    OwnComment,
    ValidationError,
)
from app.domain.states import CommentStatus
from app.extensions import db
from app.models import Comment, CommentLike, Site, Thread
from app.models.types import utcnow
from app.services import cache
from app.services.hashing import address_hash, keyed_hash
from app.services.viewers import Viewer

# What the widget makes with crypto.getRandomValues and keeps in localStorage.
BROWSER_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_BATCH = 500  # ids per statement, well under every backend's limit on bound parameters


@dataclass(frozen=True)
class LikeState:
    """A comment's likes, and whether the caller is among them, after their request."""

    likes: int
    liked: bool


def user_voter(user_id: int) -> str:
    return f"u:{user_id}"


def voter_of(viewer: Viewer, browser: object) -> str:
    """Who likes: the signed-in reader, else the guest's browser (validated, then hashed)."""
    if viewer.user is not None:
        return user_voter(viewer.user.id)
    if not isinstance(browser, str) or not BROWSER_ID.match(browser):
        raise ValidationError(
            "The browser id must be 16 to 64 letters, digits, - or _.", field="browser"
        )
    return keyed_hash("like-browser", browser)


@writes
def like(
    site: Site, viewer: Viewer, comment_id: object, *, browser: object, remote_addr: str | None
) -> LikeState:
    """Like a comment; liking it again changes nothing. A guest beyond the cap of their
    address is refused (`LikeLimit`), and a reader never likes their own comment."""
    voter = voter_of(viewer, browser)
    comment = _likeable(site, viewer, comment_id)
    if _has_liked(comment.id, voter):
        return LikeState(comment.like_count, True)
    addr = None if viewer.user is not None else address_hash(remote_addr)
    if addr is not None and _likes_from(comment.id, addr) >= _cap():
        raise LikeLimit("Too many likes of this comment came from your network already.")
    added = db.session.execute(  # type: ignore[attr-defined]  # DML answers a CursorResult
        dialect_insert(db.session())(CommentLike)
        .values(comment_id=comment.id, voter=voter, address_hash=addr, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["comment_id", "voter"])
    ).rowcount
    if not added:  # the same reader's other request came first
        return LikeState(_count(comment.id), True)
    return LikeState(_moved(site, comment, +1), True)


@writes
def unlike(site: Site, viewer: Viewer, comment_id: object, *, browser: object) -> LikeState:
    """Take a like back; taking back one never given changes nothing."""
    voter = voter_of(viewer, browser)
    comment = _likeable(site, viewer, comment_id)
    removed = db.session.execute(  # type: ignore[attr-defined]  # DML answers a CursorResult
        delete(CommentLike)
        .where(CommentLike.comment_id == comment.id, CommentLike.voter == voter)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not removed:
        return LikeState(comment.like_count, False)
    return LikeState(_moved(site, comment, -1), False)


def liked_among(viewer: Viewer, comment_ids: Iterable[int]) -> frozenset[int]:
    """Which of these comments the signed-in reader liked, in one query (guests: none; their
    widget remembers its own likes, so that their pages stay cached and shared)."""
    ids = list(comment_ids)
    if viewer.user is None or not ids:
        return frozenset()
    return frozenset(
        db.session.scalars(
            select(CommentLike.comment_id).where(
                CommentLike.voter == user_voter(viewer.user.id), CommentLike.comment_id.in_(ids)
            )
        )
    )


def likes_of_user(user_id: int) -> list[tuple[CommentLike, Thread]]:
    """A reader's likes with the page of each liked comment, oldest first (their export)."""
    rows = db.session.execute(
        select(CommentLike, Thread)
        .join(Comment, CommentLike.comment_id == Comment.id)
        .join(Thread, Comment.thread_id == Thread.id)
        .where(CommentLike.voter == user_voter(user_id))
        .order_by(CommentLike.created_at, CommentLike.id)
    )
    return [(like_row, thread) for like_row, thread in rows]


def forget_likes_of_user(user_id: int) -> int:
    """Remove a reader's likes, each comment's count with them, inside the caller's write
    transaction; returns how many."""
    condition = CommentLike.voter == user_voter(user_id)
    rows = db.session.execute(
        select(CommentLike.comment_id, Comment.thread_id, Thread.site_id)
        .join(Comment, CommentLike.comment_id == Comment.id)
        .join(Thread, Comment.thread_id == Thread.id)
        .where(condition)
    ).all()
    for _, thread_id, site_id in rows:
        cache.touch_thread(site_id, thread_id)
    db.session.execute(
        delete(CommentLike).where(condition).execution_options(synchronize_session=False)
    )
    per_comment = Counter(comment_id for comment_id, _, _ in rows)
    for comment_id, count in per_comment.items():
        _adjust(Comment.id == comment_id, -count)
    return len(rows)


def forget_likes_of_comments(comment_ids: list[int]) -> None:
    """A comment erased or taken back loses its likes; inside the caller's transaction (which
    touches the threads: it changes the comments too)."""
    for start in range(0, len(comment_ids), _BATCH):
        batch = comment_ids[start : start + _BATCH]
        db.session.execute(
            delete(CommentLike)
            .where(CommentLike.comment_id.in_(batch))
            .execution_options(synchronize_session=False)
        )
        db.session.execute(
            update(Comment)
            .where(Comment.id.in_(batch), Comment.like_count != 0)
            .values(like_count=0)
            .execution_options(synchronize_session=False)
        )


def locked_comment(site: Site, comment_id: object) -> Comment | None:
    """The comment, if it is on this site; locked on PostgreSQL for the rest of the
    transaction, so that what readers add to one comment (likes, reports, and their caps) is
    counted one at a time (SQLite holds its write lock from the start anyway)."""
    if not policy.is_id(comment_id):
        return None
    comment: Comment | None = db.session.scalar(
        select(Comment)
        .join(Thread, Comment.thread_id == Thread.id)
        .where(Comment.id == comment_id, Thread.site_id == site.id)
        .with_for_update(of=Comment)
        .execution_options(populate_existing=True)
    )
    return comment


def _likeable(site: Site, viewer: Viewer, comment_id: object) -> Comment:
    """The comment, if it is approved and on this site, locked (`locked_comment`)."""
    comment = locked_comment(site, comment_id)
    if comment is None or comment.status not in (CommentStatus.APPROVED, CommentStatus.DELETED):
        # Pending, rejected and spam comments are not shown to readers: not found.
        raise CommentNotFound("There is no such comment.")
    if comment.status is CommentStatus.DELETED:
        raise CommentDeleted("This comment was deleted.")
    if viewer.user is not None and viewer.owns(comment):
        raise OwnComment("You cannot like your own comment.")
    return comment


def _has_liked(comment_id: int, voter: str) -> bool:
    return (
        db.session.scalar(
            select(CommentLike.id).where(
                CommentLike.comment_id == comment_id, CommentLike.voter == voter
            )
        )
        is not None
    )


def _likes_from(comment_id: int, addr: str) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(CommentLike)
            .where(CommentLike.comment_id == comment_id, CommentLike.address_hash == addr)
        )
        or 0
    )


def _cap() -> int:
    return int(current_app.config["LIKE_GUESTS_PER_ADDRESS"])


def _count(comment_id: int) -> int:
    return db.session.scalar(select(Comment.like_count).where(Comment.id == comment_id)) or 0


def _moved(site: Site, comment: Comment, delta: int) -> int:
    """Move the comment's count in SQL, make its thread's cached pages stale; the new count."""
    cache.touch_thread(site.id, comment.thread_id)
    return _adjust(Comment.id == comment.id, delta)


def _adjust(condition: ColumnElement[bool], delta: int) -> int:
    """The arithmetic happens in SQL, so that concurrent likes never lose one."""
    count = db.session.scalar(
        update(Comment)
        .where(condition)
        .values(like_count=Comment.like_count + delta)
        .returning(Comment.like_count)
        .execution_options(synchronize_session=False)
    )
    return count or 0
