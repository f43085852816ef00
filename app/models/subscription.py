from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models.types import UTCDateTime, utcnow


class Subscription(Model):
    """A reader who asked to hear about new comments on one page, by email.

    Nothing is sent before `confirmed_at` (double opt-in), and nothing after
    `unsubscribed_at`. Each page is confirmed on its own, except for a signed-in reader
    (`user_id`) who confirmed the address for their account once.
    """

    __table_args__ = (
        UniqueConstraint("thread_id", "email"),
        Index("ix_subscription_email", "email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("thread.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    # The signed-in reader who asked for it, if any; kept from the first request only, so
    # nobody else's confirmation ever vouches for an account.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    # "thread": every new comment on the page; "replies": replies to this reader's comments.
    scope: Mapped[str] = mapped_column(String(16), default="thread")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
