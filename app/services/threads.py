"""Reading threads: one page of top-level comments with all their replies, in a few queries."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    UnaryExpression,
    and_,
    bindparam,
    case,
    exists,
    false,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import aliased, selectinload

from app.domain.errors import UrlNotAllowed, ValidationError
from app.domain.policy import thread_key
from app.domain.states import CommentStatus
from app.extensions import db
from app.models import Comment, Site, Thread
from app.services import cache, likes, verified_emails
from app.services.viewers import Viewer

if TYPE_CHECKING:
    # Only for annotations: sites reaches threads through moderation.
    from app.services.sites import SiteView

Sort = Literal["oldest", "newest", "best"]
SORTS: tuple[Sort, ...] = ("oldest", "newest", "best")
MAX_PER_PAGE = 100
MAX_PAGE = 1_000_000  # a hundred million top-level comments; beyond, offsets overflow
MAX_COUNT_URLS = 100


@dataclass
class CommentNode:
    comment: Comment
    visible: bool  # False: a placeholder kept so that visible replies keep their place
    replies: list[CommentNode] = field(default_factory=list)


@dataclass
class ThreadPage:
    url: str
    thread: Thread | None
    roots: list[CommentNode]
    page: int
    next_page: int | None
    liked: frozenset[int] = frozenset()  # what a signed-in viewer liked among these


def find_thread(site: Site, key: str) -> Thread | None:
    """The thread of a page, by its canonical key (see `policy.thread_key`)."""
    return db.session.scalar(select(Thread).where(Thread.site_id == site.id, Thread.url == key))


def check_paging(sort: str, page: int, per_page: int) -> None:
    if sort not in SORTS:
        raise ValidationError("Sort by oldest, newest or best.", field="sort")
    if not 1 <= page <= MAX_PAGE or not 1 <= per_page <= MAX_PER_PAGE:
        raise ValidationError(f"Pages start at 1 and hold up to {MAX_PER_PAGE}.", field="page")


def page_of(
    thread: Thread | None, key: str, viewer: Viewer, *, sort: str, page: int, per_page: int
) -> ThreadPage:
    """One page of a thread as `viewer` sees it: approved comments plus the viewer's own pending.

    Pages are counted in top-level comments, each shipped with its whole reply tree, so a
    10,000-comment thread never loads at once and a conversation is never cut in half.
    """
    if thread is None:
        return ThreadPage(url=key, thread=None, roots=[], page=page, next_page=None)

    root_ids = list(
        db.session.scalars(
            _roots_query(thread.id, viewer, sort).limit(per_page + 1).offset((page - 1) * per_page)
        )
    )
    next_page = page + 1 if len(root_ids) > per_page else None
    root_ids = root_ids[:per_page]
    comments = (
        db.session.scalars(
            select(Comment)
            .where(Comment.root_id.in_(root_ids))
            .options(selectinload(Comment.user))
            .order_by(Comment.created_at, Comment.id)
        ).all()
        if root_ids
        else []
    )
    return ThreadPage(
        url=key,
        thread=thread,
        roots=_build_tree(comments, root_ids, viewer),
        page=page,
        next_page=next_page,
        liked=likes.liked_among(viewer, (c.id for c in comments)),
    )


def _owned(viewer: Viewer, comment: type[Comment]) -> ColumnElement[bool]:
    clauses: list[ColumnElement[bool]] = []
    if viewer.comment_ids:
        clauses.append(comment.id.in_(viewer.comment_ids))
    if viewer.user is not None:
        clauses.append(comment.user_id == viewer.user.id)
    if viewer.emails:
        clauses.append(verified_emails.verified_guest_comments(viewer.emails))
    return or_(*clauses) if clauses else false()


@functools.cache
def _reply() -> Any:
    """One alias of Comment for the replies under a root, made once: SQLAlchemy memoizes
    what it works out about an alias, and a new one on every request costs a fifth of it."""
    return aliased(Comment, name="reply")


def _roots_query(thread_id: int, viewer: Viewer, sort: str) -> Select[int]:
    reply = _reply()
    has_visible_reply = exists().where(
        reply.root_id == Comment.id,
        reply.id != Comment.id,
        reply.status == CommentStatus.APPROVED,
    )
    visible = or_(
        Comment.status == CommentStatus.APPROVED,
        and_(
            or_(
                Comment.status == CommentStatus.PENDING,
                and_(Comment.shadowed.is_(True), Comment.status == CommentStatus.SPAM),
            ),
            _owned(viewer, Comment),
        ),
        has_visible_reply,
    )
    if sort == "best":
        approved_under = (
            select(func.count(reply.id))
            .where(reply.root_id == Comment.id, reply.status == CommentStatus.APPROVED)
            .scalar_subquery()
        )
        # A placeholder (deleted, or held again after it was liked) ranks by its replies only.
        likes_shown = case((Comment.status == CommentStatus.APPROVED, Comment.like_count), else_=0)
        order: tuple[UnaryExpression[Any], ...] = (
            likes_shown.desc(),
            approved_under.desc(),
            Comment.created_at.asc(),
            Comment.id.asc(),
        )
    elif sort == "newest":
        order = (Comment.created_at.desc(), Comment.id.desc())
    else:
        order = (Comment.created_at.asc(), Comment.id.asc())
    # The pinned comment first whatever the order (only while it is published: one held
    # again keeps its pin but readers do not see it), found by its own small index in the
    # same query.
    other = _reply()
    pinned_id = (
        select(other.id)
        .where(
            other.thread_id == thread_id,
            other.pinned.is_(True),
            other.status == CommentStatus.APPROVED,
        )
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(Comment.id)
        .where(Comment.thread_id == thread_id, Comment.parent_id.is_(None), visible)
        .order_by(case((Comment.id == pinned_id, 0), else_=1), *order)
    )


def _build_tree(
    comments: Iterable[Comment], root_ids: list[int], viewer: Viewer
) -> list[CommentNode]:
    nodes = {c.id: CommentNode(c, viewer.can_see(c)) for c in comments}
    for node in nodes.values():  # comments arrive oldest first, so replies stay in order
        parent = nodes.get(node.comment.parent_id) if node.comment.parent_id else None
        if parent is not None:
            parent.replies.append(node)
    roots = [nodes[i] for i in root_ids if i in nodes]
    return [n for n in (_prune(r) for r in roots) if n is not None]


def _prune(node: CommentNode) -> CommentNode | None:
    """Drop what the viewer may not see, unless a visible reply hangs under it."""
    node.replies = [r for r in (_prune(child) for child in node.replies) if r is not None]
    return node if node.visible or node.replies else None


def check_count_urls(urls: list[str]) -> None:
    if len(urls) > MAX_COUNT_URLS:
        raise ValidationError(f"Ask for up to {MAX_COUNT_URLS} URLs at once.", field="url")


def counts(site: Site | SiteView, urls: list[str]) -> dict[str, int]:
    """Approved comments per URL, from the counter on each thread: one indexed query, cached
    by the set of canonical keys asked for."""
    check_count_urls(urls)
    keys: dict[str, str] = {}
    for url in urls:
        try:
            keys[url] = thread_key(url, site.origins)
        except (ValidationError, UrlNotAllowed):
            continue  # a foreign or broken link on a listing page simply has no comments
    wanted = sorted(set(keys.values()))
    by_key = (
        cache.cached_counts(site.id, wanted, lambda: _approved_counts(site.id, wanted))
        if wanted
        else {}
    )
    return {url: by_key.get(keys.get(url, ""), 0) for url in urls}


def _approved_counts(site_id: str, keys: list[str]) -> dict[str, int]:
    rows = db.session.execute(
        select(Thread.url, Thread.approved_count).where(
            Thread.site_id == site_id, Thread.url.in_(keys)
        )
    ).all()
    return {url: count for url, count in rows}


def adjust_approved_counts(deltas: dict[int, int]) -> None:
    """`adjust_approved_count` for many threads at once (a bulk action), in one UPDATE."""
    moved = {thread_id: delta for thread_id, delta in deltas.items() if delta}
    if not moved:
        return
    db.session.execute(
        update(Thread)
        .where(Thread.id.in_(moved))
        .values(approved_count=Thread.approved_count + case(moved, value=Thread.id, else_=0))
        .execution_options(synchronize_session=False)
    )


_THREADS = cast(Table, Thread.__table__)
_MOVE_COUNT = (
    update(_THREADS)
    .where(_THREADS.c.id == bindparam("thread_id"))
    .values(approved_count=_THREADS.c.approved_count + bindparam("delta"))
)


def adjust_approved_count(thread_id: int, delta: int) -> None:
    """Move a thread's counter inside the caller's transaction.

    The arithmetic happens in SQL, so concurrent approvals never lose an increment. What
    the session holds is written first: on PostgreSQL the thread's row, which every writer
    of the page waits for, is then locked only from here to the commit.
    """
    session = db.session()
    if session.new or session.dirty or session.deleted:
        session.flush()
    # On the connection: the ORM's handling of an UPDATE costs more than running it.
    session.connection().execute(_MOVE_COUNT, {"thread_id": thread_id, "delta": delta})
    # Read afresh if asked for later, never the number from before the UPDATE.
    loaded = db.session.identity_map.get(db.session.identity_key(Thread, thread_id))
    if loaded is not None:
        db.session.expire(loaded, ["approved_count"])
