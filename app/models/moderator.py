from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Column, ForeignKey, Index, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import Model, db
from app.models.site import Site
from app.models.types import UTCDateTime, utcnow

moderator_sites = Table(
    "moderator_site",
    db.metadata,
    Column("moderator_id", ForeignKey("moderator.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", ForeignKey("site.id", ondelete="CASCADE"), primary_key=True),
    # app.domain.roles.Role: "owner" (settings, moderators, export) or "moderator" (the
    # queue). Rows from before roles existed were made by operators: owners.
    Column("role", String(16), nullable=False, default="owner", server_default="owner"),
)


class Moderator(UserMixin, Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # True for a moderator made without --site: every site, including ones created later.
    all_sites: Mapped[bool] = mapped_column(default=False)
    # "each": a mail per waiting comment; "digest": one a day; "off": none.
    notify: Mapped[str] = mapped_column(String(16), default="each", server_default="each")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Part of what a session cookie names (get_id); raised to end every session made before.
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")

    sites: Mapped[list[Site]] = relationship(secondary=moderator_sites, lazy="raise_on_sql")

    @staticmethod
    def hash_password(password: str) -> str:
        return generate_password_hash(password, method="scrypt")

    def set_password(self, password: str) -> None:
        self.password_hash = self.hash_password(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        """Flask-Login keeps this in the session: a copy of the cookie names the moderator only
        while the version is unchanged, so signing out ends it too."""
        return f"{self.id}:{self.session_version}"

    def __repr__(self) -> str:
        return f"<Moderator {self.email}>"


class ModeratorInvite(Model):
    """An owner's invitation to moderate a site, mailed as a one-time link.

    Only a keyed hash of the link's token is kept: a copy of the database opens no invite.
    """

    __table_args__ = (Index("ix_moderator_invite_site", "site_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("moderator.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ModeratorIdentity(Model):
    """A provider account a moderator linked, to sign in to the dashboard with it."""

    __table_args__ = (UniqueConstraint("provider", "provider_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    moderator_id: Mapped[int] = mapped_column(
        ForeignKey("moderator.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(32))
    provider_user_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(100), default="")
    # What the account page names a Mastodon account by (`@user@server`): its display name
    # says nothing of which server it is on.
    handle: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
