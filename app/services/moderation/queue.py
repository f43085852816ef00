"""Reading the moderation queue: pages of comments with each author's record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    ScalarSelect,
    Select,
    and_,
    case,
    false,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import aliased, selectinload

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
# The statuses beside pending and reported are counted this far, then shown as "10,000+".
COUNT_CAP = 10_000
# An author's approved and rejected comments on a site are counted this far ("100+").
HISTORY_CAP = 100


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
    # What readers wrote with their reports, the latest few per comment.
    report_notes: dict[int, list[str]] = field(default_factory=dict)


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
        stmt = stmt.where(_reported()).order_by(
            Comment.open_reports.desc(), Comment.created_at.desc(), Comment.id.desc()
        )
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
        reports=report_reasons(reported := [c.id for c in comments if c.report_count]),
        report_notes=report_notes(reported),
    )


def queue_counts(moderator: Moderator, site_id: str | None = None) -> dict[str, int]:
    """How many comments each filter holds, on the moderator's sites (or one of them).

    Pending and reported are counted exactly: they are the work, and their indexes hold
    only them. The other statuses grow with the site for ever and nobody acts on their
    totals, so each is counted up to `COUNT_CAP + 1` (see `count_label`): a page of the
    queue never reads more than that many index entries per status, however big the site.
    One statement for all of them.
    """
    allowed = site_ids_of(moderator)

    def scoped(stmt: _S) -> _S:
        stmt = stmt.join(Thread)
        if allowed is not None:
            stmt = stmt.where(Thread.site_id.in_(allowed))
        return stmt.where(Thread.site_id == site_id) if site_id else stmt

    def capped(status: CommentStatus) -> ScalarSelect[int]:
        # Naming ix_comment_status's predicate (redundant beside the status) lets SQLite use it.
        settled = Comment.status != literal_column("'pending'")
        first = scoped(select(Comment.id).where(Comment.status == status, settled))
        first = first.limit(COUNT_CAP + 1)
        return select(func.count()).select_from(first.subquery()).scalar_subquery()

    exact = {
        CommentStatus.PENDING.value: scoped(
            select(func.count()).select_from(Comment).where(Comment.status == CommentStatus.PENDING)
        ).scalar_subquery(),
        REPORTED: scoped(
            select(func.count()).select_from(Comment).where(_reported())
        ).scalar_subquery(),
    }
    others = {s.value: capped(s) for s in CommentStatus if s is not CommentStatus.PENDING}
    columns = {**exact, **others}
    row = db.session.execute(select(*columns.values())).one()
    return {name: value or 0 for name, value in zip(columns, row, strict=True)}


def count_label(count: int) -> str:
    """A count from `queue_counts` as shown: "10,000+" once past the cap."""
    return f"{COUNT_CAP:,}+" if count > COUNT_CAP else f"{count:,}"


def _reported() -> ColumnElement[bool]:
    """What the `Reported` filter lists. A literal 0, not a parameter: the term then matches
    ix_comment_reported's predicate in any plan, PostgreSQL's generic ones included."""
    return and_(
        Comment.open_reports > literal_column("0"),
        Comment.status.in_([CommentStatus.PENDING, CommentStatus.APPROVED]),
    )


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


NOTES_SHOWN = 3  # per comment, the latest


def report_notes(comment_ids: list[int]) -> dict[int, list[str]]:
    """The latest notes readers left with their reports of each comment, in one query."""
    if not comment_ids:
        return {}
    latest = (
        select(
            CommentReport.comment_id,
            CommentReport.note,
            func.row_number()
            .over(
                partition_by=CommentReport.comment_id,
                order_by=(CommentReport.created_at.desc(), CommentReport.id.desc()),
            )
            .label("n"),
        )
        .where(CommentReport.comment_id.in_(comment_ids), CommentReport.note != "")
        .subquery()
    )
    found: dict[int, list[str]] = {}
    rows = db.session.execute(
        select(latest.c.comment_id, latest.c.note)
        .where(latest.c.n <= NOTES_SHOWN)
        .order_by(latest.c.comment_id, latest.c.n)
    )
    for comment_id, note in rows:
        found.setdefault(comment_id, []).append(note)
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
    """Approved and rejected counts per (site, author) for the authors on a queue page,
    each capped at `HISTORY_CAP + 1` ("100+").

    A regular can have written thousands of comments on a big site; counting them all for
    every page of the queue would cost more than the rest of the page. Capped, each count
    reads at most that many entries of ix_comment_guest_email or ix_comment_user. One
    statement of one shape for any page: a row per author shown, their counts in
    correlated subqueries (only the branch for a user or for a guest runs).
    """
    if not comments:
        return {}
    # One comment per (site, author) stands for the others: regulars fill much of a page.
    one_each: dict[tuple[str, str], int] = {}
    for comment in comments:
        one_each.setdefault((comment.thread.site_id, key_of(comment)), comment.id)
    shown = aliased(Comment, name="shown")
    shown_thread = aliased(Thread, name="shown_thread")

    # The site of each comment counted, looked up by its thread's key: a join here lets
    # PostgreSQL hash the whole thread table again for every row of the page.
    site_of = select(Thread.site_id).where(Thread.id == Comment.thread_id).scalar_subquery()

    def capped(by: ColumnElement[bool], statuses: list[CommentStatus]) -> Any:
        first = (
            select(Comment.id)
            .where(by, Comment.status.in_(statuses), site_of == shown_thread.site_id)
            .limit(HISTORY_CAP + 1)
            .correlate(shown, shown_thread)
        )
        return select(func.count()).select_from(first.subquery()).scalar_subquery()

    by_user = Comment.user_id == shown.user_id
    by_guest = and_(Comment.user_id.is_(None), Comment.guest_email == shown.guest_email)

    def record(statuses: list[CommentStatus]) -> Any:
        return case(
            (shown.user_id.is_not(None), capped(by_user, statuses)),
            else_=capped(by_guest, statuses),
        )

    rows = db.session.execute(
        select(
            shown.id,
            record([CommentStatus.APPROVED]),
            record([CommentStatus.REJECTED, CommentStatus.SPAM]),
        )
        .join(shown_thread, shown_thread.id == shown.thread_id)
        .where(shown.id.in_(one_each.values()))
    ).all()
    found = {comment_id: (a or 0, r or 0) for comment_id, a, r in rows}
    return {pair: AuthorHistory(*found.get(c_id, (0, 0))) for pair, c_id in one_each.items()}


def history_label(count: int) -> str:
    """An author's count as shown: "100+" once past the cap."""
    return f"{HISTORY_CAP}+" if count > HISTORY_CAP else str(count)


def history_of(page: QueuePage, comment: Comment) -> AuthorHistory:
    return page.history.get((comment.thread.site_id, author_key(comment)), AuthorHistory())


def history_for(comment: Comment) -> AuthorHistory:
    """The record of one comment's author on its site (a comment's own page)."""
    return history_of(QueuePage([comment], _histories([comment]), 1, False), comment)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
