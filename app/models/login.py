from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, utcnow


class LoginFlow(db.Model):
    """One reader's sign-in, from the widget's click to the token it claims.

    The widget creates it from the host page (so the browser vouches for the origin), the popup
    runs the provider's pages on our own origin, and the widget claims the result once by id.
    Nothing here relies on cookies in the host page or on `window.opener`.
    """

    # Random and secret: whoever holds it can claim the reader's token once.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    origin: Mapped[str] = mapped_column(String(300))
    provider: Mapped[str] = mapped_column(String(32))
    # Where a full-page sign-in (popup blocked) returns to; on one of the site's origins.
    return_url: Mapped[str | None] = mapped_column(String(2000))
    # Set when a signed-in reader links another provider to their account.
    link_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UsedSignedRequest(db.Model):
    """A provider's signed request already acted on (Facebook's data deletion), so that a copy
    sent again erases nothing. Kept while a request issued then would still be accepted."""

    # A keyed hash of the signature, unique: of two copies arriving together, one is refused.
    signature_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class DataDeletion(db.Model):
    """A provider-initiated request to erase a reader's data (Facebook's data-deletion callback)."""

    confirmation_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    # Kept as a keyed hash: the status page must not reveal whose data it was.
    provider_user_hash: Mapped[str] = mapped_column(String(64))
    comments_removed: Mapped[int] = mapped_column(default=0)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
