from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models.types import UTCDateTime, utcnow


class NotificationAddress(Model):
    """An address a reader gave one site for mail about replies, and whether its owner
    confirmed it by the mailed link.

    One row per site and address, so anonymous requests add at most one row and one pending
    confirmation per address. Confirmed once, it covers every later reply opt-in on the site;
    `replies_stopped_at` is the owner's "no more reply mail from this site".
    """

    __tablename__ = "notification_address"
    __table_args__ = (UniqueConstraint("site_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254), index=True)
    # The signed-in reader who asked first, if any: as for Subscription, only the first
    # request's account is ever vouched for by the owner's click.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmation_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replies_stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReplySubscription(Model):
    """An author who asked for mail about replies to one of their comments.

    Sent only while the address is confirmed for the comment's site and neither this row
    (`unsubscribed_at`) nor the address (`replies_stopped_at`) says stop.
    """

    __tablename__ = "reply_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(
        ForeignKey("comment.id", ondelete="CASCADE"), unique=True
    )
    address_id: Mapped[int] = mapped_column(
        ForeignKey("notification_address.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
