from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models.types import UTCDateTime, utcnow


class MastodonApp(Model):
    """This service's app on one Mastodon server, registered there at the server's first use.

    One row per server: of several first sign-ins at once, the one whose insert wins
    registers (`registering_since`), the others wait for its client id.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    # The server's base URL as readers' names are read: `https://host[:port]`.
    server: Mapped[str] = mapped_column(String(300), unique=True)
    client_id: Mapped[str | None] = mapped_column(String(255))
    client_secret: Mapped[str | None] = mapped_column(String(255))
    # The callback it was registered with: a new PUBLIC_URL needs a new registration.
    redirect_uri: Mapped[str | None] = mapped_column(String(2000))
    # Set while one request registers; an old one is a request that died doing it.
    registering_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the server last accepted the client, so that a deleted app is noticed.
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
