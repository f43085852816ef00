from __future__ import annotations

import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.states import ModerationMode
from app.extensions import Model
from app.models.types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from app.models.thread import Thread


def new_site_id() -> str:
    """Public, unguessable-enough id that goes into the embed snippet."""
    return secrets.token_hex(6)


class Site(Model):
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_site_id)
    name: Mapped[str] = mapped_column(String(100))
    # Exact origins ("https://blog.example"), compared as strings: no wildcards, no subdomains.
    origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    moderation: Mapped[ModerationMode] = mapped_column(
        Enum(
            ModerationMode,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
            create_constraint=True,
            name="moderation",
        ),
        default=ModerationMode.ALL,
    )
    # Threads stop taking comments this many days after their first one; None: never.
    close_after_days: Mapped[int | None] = mapped_column()
    # A published comment this many readers reported waits for a moderator again; None: never.
    report_threshold: Mapped[int | None] = mapped_column(default=3)
    # In `first-time` mode, a signed-in reader's comments skip the queue once they have this
    # many approved comments here.
    trust_after: Mapped[int] = mapped_column(default=1, server_default="1")
    # Comments with one of these words are refused as spam; with one of these, they wait for a
    # moderator (domain.words). Checked when a comment is written, never on ones decided.
    banned_words: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    held_words: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # What the learning filter does with a likely unwanted comment (domain.learning): "off",
    # "hold" it for a moderator, or "catch" the surest as spam. It scores nothing until the
    # site's moderators decided enough comments.
    filter_mode: Mapped[str] = mapped_column(String(8), default="hold", server_default="hold")
    # Sign-in providers offered on this site; None offers every configured one.
    providers: Mapped[list[str] | None] = mapped_column(JSON)
    # The key the site's own pages sign their signed-in readers with (single sign-on,
    # app/services/sso.py); None: off. Shown to the site's moderators, so kept as is.
    sso_secret: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    threads: Mapped[list[Thread]] = relationship(back_populates="site", lazy="raise_on_sql")

    def __repr__(self) -> str:
        return f"<Site {self.id} {self.name!r}>"


class RefusedOrigin(Model):
    """An origin whose pages asked for a site's comments and were refused: most often the
    owner's own blog under an address they did not add (www., https, a new domain). Shown in
    the dashboard with a button to add it; a few per site, the most recent."""

    site_id: Mapped[str] = mapped_column(
        ForeignKey("site.id", ondelete="CASCADE"), primary_key=True
    )
    origin: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    requests: Mapped[int] = mapped_column(default=1)
