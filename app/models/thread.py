from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models.types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from app.models.site import Site

URL_MAX = 2000


class Thread(Model):
    """The comments under one page. Created by the first comment, never by a view."""

    __table_args__ = (UniqueConstraint("site_id", "url"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(URL_MAX))
    title: Mapped[str] = mapped_column(String(300), default="")
    # Kept by the comment service on every status change, so counts never scan comments.
    approved_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Closed for good, whatever the site's close_after_days: a page the old comment system had
    # closed stays closed after an import.
    closed: Mapped[bool] = mapped_column(default=False, server_default=false())

    site: Mapped[Site] = relationship(back_populates="threads", lazy="raise_on_sql")

    def __repr__(self) -> str:
        return f"<Thread {self.id} {self.url!r}>"
