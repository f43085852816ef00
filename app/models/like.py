from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models.types import UTCDateTime, utcnow


class CommentLike(Model):
    """One reader's like of one comment (see `app/services/likes.py`).

    `voter` is `u:<user id>` for a signed-in reader, or for a guest a keyed hash of the
    random id their browser keeps: never anything that names a person. The comment's
    `like_count` is the number of these rows, kept beside it so that reads never count.
    """

    __table_args__ = (
        UniqueConstraint("comment_id", "voter"),
        # The cap on guests' likes from one address, per comment.
        Index("ix_comment_like_address", "comment_id", "address_hash"),
        # A reader's likes, for their export and their account's deletion.
        Index("ix_comment_like_voter", "voter"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comment.id", ondelete="CASCADE"))
    voter: Mapped[str] = mapped_column(String(80))
    # A guest's address, keyed (services.hashing); dropped by `flask prune` after its retention.
    address_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
