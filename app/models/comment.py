from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.states import CommentStatus
from app.extensions import Model
from app.models.types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from app.models.thread import Thread
    from app.models.user import User

# Pending comments are few beside the rest, and the queue and its count only ever want them.
_PENDING = text("status = 'pending'")
# Every other comment: what the queue's capped counts read (services.moderation.queue).
_SETTLED = text("status <> 'pending'")
# At most one comment per thread is pinned: the index holds only those.
_PINNED = text("pinned")
# Comments readers reported and no moderator has acted on since: a handful on any site.
_REPORTED = text("open_reports > 0")


class Comment(Model):
    __table_args__ = (
        # A retried POST with the same key finds the first comment instead of adding one.
        UniqueConstraint("thread_id", "idempotency_key"),
        # Where an imported comment came from ("wordpress:1234"): a second import skips it.
        UniqueConstraint("thread_id", "import_key"),
        # One page of top-level comments: thread, roots only, ordered by time.
        Index("ix_comment_thread_roots", "thread_id", "parent_id", "created_at"),
        # Everything under a page of roots, in one query.
        Index("ix_comment_root", "root_id"),
        # An author's comments by address or account; with the status and thread beside them,
        # the queue counts an author's record on a site (capped) from the index alone. A
        # guest's record is `guest_email = ? AND user_id IS NULL`: with user_id here, that
        # is three equalities, so planners never take ix_comment_user's two for it instead.
        Index("ix_comment_guest_email", "guest_email", "user_id", "status", "thread_id"),
        Index("ix_comment_user", "user_id", "status", "thread_id"),
        # The queue's counts of the other statuses, each capped (services.moderation.queue):
        # they stop reading at the cap instead of visiting every comment of the site. Partial,
        # so that it never competes with ix_comment_pending for the pending comments: a query
        # can use it only by naming its predicate, as those counts do.
        Index(
            "ix_comment_status",
            "status",
            "thread_id",
            sqlite_where=_SETTLED,
            postgresql_where=_SETTLED,
        ),
        # The `Reported` filter and its count. Status leads, as in ix_comment_pending, so that
        # it ties with ix_comment_status on the query's equalities and wins by being partial.
        Index(
            "ix_comment_reported",
            "status",
            "thread_id",
            sqlite_where=_REPORTED,
            postgresql_where=_REPORTED,
        ),
        # The moderation queue and its length (every dashboard page and `/metrics` scrape)
        # read only the pending comments. In the queue's order, so that its first page reads
        # the newest entries and stops at a page, instead of sorting every pending comment of
        # a big site; with thread_id last, the length (joined to the thread for its site) and
        # a thread's pending comments come from the index alone. Status leads, constant as it
        # is here, so that SQLite's planner (without statistics) takes this index for
        # `status = 'pending'` rather than ix_comment_thread_roots.
        Index(
            "ix_comment_pending",
            "status",
            "created_at",
            "id",
            "thread_id",
            sqlite_where=_PENDING,
            postgresql_where=_PENDING,
        ),
        # A thread's pinned comment, looked up before its page is built.
        Index("ix_comment_pinned", "thread_id", sqlite_where=_PINNED, postgresql_where=_PINNED),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("thread.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comment.id"))
    # The top-level ancestor (itself for a top-level comment): a page of roots and all their
    # replies come back with one `root_id IN (...)` query, however deep the replies go.
    root_id: Mapped[int | None] = mapped_column(ForeignKey("comment.id"))

    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # The provider the user was signed in with when posting ("twitter"), shown as a badge.
    provider: Mapped[str | None] = mapped_column(String(32))
    # Set on a reply written by a moderator from the dashboard, shown "as the site".
    moderator_id: Mapped[int | None] = mapped_column(
        ForeignKey("moderator.id", ondelete="SET NULL")
    )
    guest_name: Mapped[str | None] = mapped_column(String(100))
    guest_email: Mapped[str | None] = mapped_column(String(254))
    guest_website: Mapped[str | None] = mapped_column(String(300))
    # A guest's comment whose address its owner has since proven theirs (an email sign-in or a
    # confirmation link): it shows as verified, and that reader may change it when signed in.
    email_verified: Mapped[bool] = mapped_column(default=False, server_default=false())

    body: Mapped[str] = mapped_column(Text)
    # Rendered and sanitized once, when written: reads never run Markdown.
    html: Mapped[str] = mapped_column(Text)
    status: Mapped[CommentStatus] = mapped_column(
        Enum(
            CommentStatus,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
            create_constraint=True,
            name="status",
        ),
        default=CommentStatus.PENDING,
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # HMAC of the address with a server secret; dropped by `flask prune` after its retention.
    remote_addr_hash: Mapped[str | None] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    import_key: Mapped[str | None] = mapped_column(String(200))
    # Subscribers hear of a comment once, however often moderators change their minds.
    subscribers_notified: Mapped[bool] = mapped_column(default=False, server_default=false())
    # How many CommentLike rows it has, moved in SQL with each like (services.likes).
    like_count: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # How many CommentReport rows it has (services.reports); the queue's `Reported` filter.
    report_count: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # Reports since a moderator last acted on it: what the `Reported` filter lists.
    open_reports: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # Why it was held or caught when it was posted (domain.holds): the queue says so, and a
    # later change to the site's settings does not rewrite it. None: nothing held it.
    holds: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    # The learning filter's score when it was posted (0 to 1: like what the site rejects) and
    # the features that weighed most, for the queue (services.learning); None: not scored.
    filter_score: Mapped[float | None] = mapped_column()
    filter_reasons: Mapped[list[str] | None] = mapped_column(JSON)
    # What the filter last learned from a moderator's decision on it ("spam", "ham"), so that
    # a change of mind unlearns that first.
    trained_as: Mapped[str | None] = mapped_column(String(8))
    # Caught (as spam) by a shadow ban: its author still sees it, as published; no one else.
    shadowed: Mapped[bool] = mapped_column(default=False, server_default=false())
    # A moderator put it first in its thread (top-level, approved; one per thread).
    pinned: Mapped[bool] = mapped_column(default=False, server_default=false())

    thread: Mapped[Thread] = relationship(lazy="raise_on_sql")
    user: Mapped[User | None] = relationship(lazy="raise_on_sql")

    def __repr__(self) -> str:
        return f"<Comment {self.id} {self.status}>"
