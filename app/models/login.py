from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models.types import UTCDateTime, utcnow


class LoginFlow(Model):
    """One reader's sign-in, from the widget's click to the token it claims.

    The widget creates it from the host page (so the browser vouches for the origin) and gets
    the flow's secret; the popup runs the provider's pages on our own origin, and its last page
    hands a one-time code to the page that opened it. Claiming takes both: the secret proves the
    page started the flow, the code that this browser finished it. Nothing here relies on
    cookies in the host page.
    """

    # Not secret: it travels in the popup's URL.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    origin: Mapped[str] = mapped_column(String(300))
    provider: Mapped[str] = mapped_column(String(32))
    # The reader's own server for providers that have many (Mastodon): its base URL.
    server: Mapped[str | None] = mapped_column(String(300))
    # Runs in a popup (the code goes back by postMessage) or in the page itself (by redirect).
    popup: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The page the flow started from, on its origin: where a full-page sign-in returns, and
    # where a popup cut off from its opener hands the code over.
    return_url: Mapped[str | None] = mapped_column(String(2000))
    # Set when a signed-in reader links another provider to their account.
    link_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    # SHA-256 of the secret only the creating page was given.
    secret_hash: Mapped[str] = mapped_column(String(64))
    # SHA-256 of the code only the browser that finished the provider's pages was given.
    code_hash: Mapped[str | None] = mapped_column(String(64))
    # Who signed in, as the provider said, until the page claims it: nothing is signed in or
    # linked before that.
    profile: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UsedSignedRequest(Model):
    """A provider's signed request already acted on (Facebook's data deletion), so that a copy
    sent again erases nothing. Kept while a request issued then would still be accepted."""

    # A keyed hash of the signature, unique: of two copies arriving together, one is refused.
    signature_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class DataDeletion(Model):
    """A provider-initiated request to erase a reader's data (Facebook's data-deletion callback)."""

    confirmation_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    # Kept as a keyed hash: the status page must not reveal whose data it was.
    provider_user_hash: Mapped[str] = mapped_column(String(64))
    comments_removed: Mapped[int] = mapped_column(default=0)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
