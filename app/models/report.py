from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models.types import UTCDateTime, utcnow


class CommentReport(Model):
    """One reader's report of one comment, with its reason (see `app/services/reports.py`).

    `reporter` names the reader the way a like's `voter` does (`u:<user id>`, or a keyed hash
    of a guest browser's random id), so one reader reports a comment once. The comment's
    `report_count` is the number of these rows, kept beside it for the queue and the
    per-site threshold.
    """

    __table_args__ = (
        UniqueConstraint("comment_id", "reporter"),
        # A reader's reports, for their account's deletion.
        Index("ix_comment_report_reporter", "reporter"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comment.id", ondelete="CASCADE"))
    reporter: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(String(16))  # app/domain/reports.py REASONS
    note: Mapped[str | None] = mapped_column(String(500))
    # A guest's address, keyed (services.hashing); dropped by `flask prune` after its retention.
    address_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
