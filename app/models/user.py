from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models.types import UTCDateTime, utcnow


class User(Model):
    """A reader who signed in with a provider. One user may link several identities."""

    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(String(100))
    handle: Mapped[str | None] = mapped_column(String(100))
    avatar_url: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    identities: Mapped[list[Identity]] = relationship(
        back_populates="user", lazy="raise_on_sql", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<User {self.id} {self.display_name!r}>"


class Identity(Model):
    """A provider account (Twitter, Facebook, ...) linked to a user."""

    __table_args__ = (UniqueConstraint("provider", "provider_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    # Provider ids are strings: Facebook's are app-scoped and both overflow 32-bit integers.
    # A site's own reader (single sign-on) is "SITE_ID:ID": 32, a colon and up to 255.
    provider_user_id: Mapped[str] = mapped_column(String(300))
    profile: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(back_populates="identities", lazy="raise_on_sql")
