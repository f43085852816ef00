"""Reading the moderation queue: pages of comments with each author's record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import Select, String, and_, case, cast, false, func, literal, or_, select
from sqlalchemy.orm import selectinload

from app.domain import policy
from app.domain.authors import key_of
from app.domain.errors import ValidationError
from app.domain.states import CommentStatus
from app.extensions import db
from app.models import (
    Comment,
    CommentReport,
    Moderator,
    Thread,
    User,
)
from app.services import authors
from app.services.moderation.permissions import moderated_comment, site_ids_of

QUEUE_PAGE_SIZE = 50
REPORTED = "reported"  # the queue's filter beside the statuses
_S = TypeVar("_S", bound=Select)  # type: ignore[type-arg]  # any row shape


# Fifty million comments back; a larger page would only overflow the query's offset.
QUEUE_MAX_PAGE = 1_000_000


@dataclass
class AuthorHistory:
    approved: int = 0
    rejected: int = 0  # rejected or spam


@dataclass
class QueuePage:
    comments: list[Comment]
    history: dict[tuple[str, str], AuthorHistory]  # by (site id, author key)
    page: int
    has_next: bool
    filters: dict[str, object] = field(default_factory=dict)
    # Readers' reports of the comments on the page, counted by reason (services.reports).
    reports: dict[int, dict[str, int]] = field(default_factory=dict)


def queue(
    moderator: Moderator,
    *,
    status: str = "pending",
    site_id: str | None = None,
    thread_id: int | None = None,
    text: str = "",
    page: int = 1,
) -> QueuePage:
    """Comments newest first, filtered; with each author's record on the comment's site.

    `reported` lists what readers reported since a moderator last acted on it, published or
    taken down by the reports, the most reported first.
    """
    stmt: Select[Comment] = select(Comment).join(Thread)
    if status == REPORTED:
        stmt = stmt.where(
            Comment.open_reports > 0,
            Comment.status.in_([CommentStatus.PENDING, CommentStatus.APPROVED]),
        ).order_by(Comment.open_reports.desc(), Comment.created_at.desc(), Comment.id.desc())
    else:
        try:
            wanted = CommentStatus(status)
        except ValueError:
            raise ValidationError("Unknown status.", field="status") from None
        stmt = stmt.where(Comment.status == wanted).order_by(
            Comment.created_at.desc(), Comment.id.desc()
        )
    stmt = stmt.options(
        selectinload(Comment.thread),
        selectinload(Comment.user).selectinload(User.identities),
    )
    allowed = site_ids_of(moderator)
    if allowed is not None:
        stmt = stmt.where(Thread.site_id.in_(allowed))
    if site_id:
        stmt = stmt.where(Thread.site_id == site_id)
    if thread_id is not None:
        # An id no row can have (negative, beyond the column) names no thread: nothing shows.
        stmt = stmt.where(Comment.thread_id == thread_id if policy.is_id(thread_id) else false())
    if text.strip():
        needle = f"%{_escape_like(text.strip()[:100])}%"
        stmt = stmt.where(
            or_(
                Comment.body.ilike(needle, escape="\\"),
                Comment.guest_name.ilike(needle, escape="\\"),
                Comment.guest_email.ilike(needle, escape="\\"),
            )
        )
    page = min(max(page, 1), QUEUE_MAX_PAGE)
    rows = list(
        db.session.scalars(stmt.limit(QUEUE_PAGE_SIZE + 1).offset((page - 1) * QUEUE_PAGE_SIZE))
    )
    comments = rows[:QUEUE_PAGE_SIZE]
    return QueuePage(
        comments=comments,
        history=_histories(comments),
        page=page,
        has_next=len(rows) > QUEUE_PAGE_SIZE,
        filters={"status": status, "site": site_id, "thread": thread_id, "q": text},
        reports=report_reasons([c.id for c in comments if c.report_count]),
    )


def queue_counts(moderator: Moderator, site_id: str | None = None) -> dict[str, int]:
    """How many comments each filter holds, on the moderator's sites (or one of them)."""
    allowed = site_ids_of(moderator)

    def scoped(stmt: _S) -> _S:
        stmt = stmt.join(Thread)
        if allowed is not None:
            stmt = stmt.where(Thread.site_id.in_(allowed))
        return stmt.where(Thread.site_id == site_id) if site_id else stmt

    counts = {s.value: 0 for s in CommentStatus}
    for status, count in db.session.execute(
        scoped(select(Comment.status, func.count()).select_from(Comment)).group_by(Comment.status)
    ):
        counts[status.value] = count
    counts[REPORTED] = (
        db.session.scalar(
            scoped(
                select(func.count())
                .select_from(Comment)
                .where(
                    Comment.open_reports > 0,
                    Comment.status.in_([CommentStatus.PENDING, CommentStatus.APPROVED]),
                )
            )
        )
        or 0
    )
    return counts


def report_reasons(comment_ids: list[int]) -> dict[int, dict[str, int]]:
    """Each comment's reports counted by reason, in one query."""
    if not comment_ids:
        return {}
    found: dict[int, dict[str, int]] = {}
    rows = db.session.execute(
        select(CommentReport.comment_id, CommentReport.reason, func.count())
        .where(CommentReport.comment_id.in_(comment_ids))
        .group_by(CommentReport.comment_id, CommentReport.reason)
    )
    for comment_id, reason, count in rows:
        found.setdefault(comment_id, {})[reason] = count
    return found


def pending_count(moderator: Moderator) -> int:
    """The queue's length across the moderator's sites (shown in the navigation)."""
    stmt = (
        select(func.count(Comment.id)).join(Thread).where(Comment.status == CommentStatus.PENDING)
    )
    allowed = site_ids_of(moderator)
    if allowed is not None:
        stmt = stmt.where(Thread.site_id.in_(allowed))
    return db.session.scalar(stmt) or 0


def comment_for_review(moderator: Moderator, comment_id: int) -> Comment:
    """A comment with its thread, author and the author's identities loaded for display."""
    moderated_comment(moderator, comment_id)
    return db.session.scalars(
        select(Comment)
        .where(Comment.id == comment_id)
        .options(
            selectinload(Comment.thread),
            selectinload(Comment.user).selectinload(User.identities),
        )
        .execution_options(populate_existing=True)
    ).one()


def pending_total() -> int:
    """Comments waiting on every site (for metrics)."""
    return (
        db.session.scalar(
            select(func.count(Comment.id)).where(Comment.status == CommentStatus.PENDING)
        )
        or 0
    )


def author_key(comment: Comment) -> str:
    """`Author.key`: the key of the author's record in `_histories`."""
    return key_of(comment)


def author_label(comment: Comment) -> str:
    """The author's name as moderators see it (the queue, bans)."""
    return authors.of_comment(comment).label


def _histories(comments: list[Comment]) -> dict[tuple[str, str], AuthorHistory]:
    """Approved and rejected counts per (site, author) for the authors on a queue page.

    One grouped query for the whole page, however many authors it shows.
    """
    if not comments:
        return {}
    user_ids = {c.user_id for c in comments if c.user_id}
    emails = {c.guest_email for c in comments if not c.user_id and c.guest_email}
    site_ids = {c.thread.site_id for c in comments}
    # Author.key, in SQL.
    key = case(
        (Comment.user_id.is_not(None), literal("user:") + cast(Comment.user_id, String)),
        else_=literal("guest:") + func.coalesce(Comment.guest_email, ""),
    )
    approved = func.sum(case((Comment.status == CommentStatus.APPROVED, 1), else_=0))
    rejected = func.sum(
        case((Comment.status.in_([CommentStatus.REJECTED, CommentStatus.SPAM]), 1), else_=0)
    )
    by_user = Comment.user_id.in_(user_ids) if user_ids else false()
    by_email = (
        and_(Comment.user_id.is_(None), Comment.guest_email.in_(emails)) if emails else false()
    )
    rows = db.session.execute(
        select(Thread.site_id, key, approved, rejected)
        .join(Thread)
        .where(Thread.site_id.in_(site_ids), or_(by_user, by_email))
        .group_by(Thread.site_id, key)
    ).all()
    return {(site, k): AuthorHistory(approved=a or 0, rejected=r or 0) for site, k, a, r in rows}


def history_of(page: QueuePage, comment: Comment) -> AuthorHistory:
    return page.history.get((comment.thread.site_id, author_key(comment)), AuthorHistory())


def history_for(comment: Comment) -> AuthorHistory:
    """The record of one comment's author on its site (a comment's own page)."""
    return history_of(QueuePage([comment], _histories([comment]), 1, False), comment)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
