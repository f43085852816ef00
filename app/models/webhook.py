from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models.types import UTCDateTime, utcnow


class SiteWebhook(Model):
    """Where a site's new and approved comments are POSTed; a site has one or none."""

    site_id: Mapped[str] = mapped_column(
        ForeignKey("site.id", ondelete="CASCADE"), primary_key=True
    )
    url: Mapped[str] = mapped_column(String(500))
    # "json" (Afterword JSON) or "text" (one body that Slack, Discord and Matrix all read).
    format: Mapped[str] = mapped_column(String(8), default="json")
    # Signs every body; shown to the site's moderators, who give it to the receiver.
    secret: Mapped[str] = mapped_column(String(64))
    # The approve/reject links in a pending event act as this moderator, as a mail's links act
    # as the moderator they were mailed to; gone with them, and the links with it.
    moderator_id: Mapped[int | None] = mapped_column(
        ForeignKey("moderator.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDelivery(Model):
    """One event waiting to be POSTed, the webhooks' outbox: a request only adds a row, and
    `flask mail send-pending` sends it with the mail."""

    __table_args__ = (Index("ix_webhook_delivery_pending", "sent_at", "send_after"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(32))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comment.id", ondelete="SET NULL"))
    # Made when the event happened, in the format chosen then; signed anew at each attempt.
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    send_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
