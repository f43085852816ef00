from __future__ import annotations

from sqlalchemy import ForeignKey, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model


class LearnedToken(Model):
    """How often a feature (a word, a link's host, a mark; see domain.learning) appeared in the
    comments a site's moderators approved (`ham`) and in those they marked as spam or rejected
    (`spam`). The empty token counts the decisions themselves. Counts only: no comment text."""

    site_id: Mapped[str] = mapped_column(
        ForeignKey("site.id", ondelete="CASCADE"), primary_key=True
    )
    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    spam: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    ham: Mapped[int] = mapped_column(default=0, server_default=text("0"))
