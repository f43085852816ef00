"""Telling moderators that a comment waits: a mail each, or a daily digest."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, render_template
from sqlalchemy import or_, select

from app.domain import holds
from app.domain.reports import REASONS
from app.extensions import db
from app.models import Comment, Moderator, Site, Thread, moderator_sites
from app.models.types import utcnow
from app.services import authors, links, mail, mail_actions

DIGEST_KEY = "moderation-digest"


def comment_waiting(
    comment: Comment, thread: Thread, site: Site, *, reports: dict[str, int] | None = None
) -> int:
    """Queue a mail for every moderator of the site who wants one; returns how many.

    Runs inside the caller's transaction, so the mail exists exactly when the comment does.
    `reports` (counts by reason) when readers' reports took a published comment down.
    """
    moderators = db.session.scalars(
        select(Moderator).where(
            Moderator.notify != "off",
            or_(
                Moderator.all_sites.is_(True),
                Moderator.id.in_(
                    select(moderator_sites.c.moderator_id).where(
                        moderator_sites.c.site_id == site.id
                    )
                ),
            ),
        )
    ).all()
    author = authors.of_comment(comment)
    for moderator in moderators:
        actions = {
            action: mail_actions.url(moderator, comment, action) for action in ("approve", "reject")
        }
        context = {
            "comment": comment,
            "thread": thread,
            "site": site,
            "author": author.label,  # the name the dashboard shows
            "links": actions,
            "queue_url": links.public_url("dashboard.queue", site=site.id),
            "reports": ", ".join(f"{REASONS[r]} {n}" for r, n in sorted((reports or {}).items())),
            "report_count": sum((reports or {}).values()),
            "why": " ".join(h.describe() for h in holds.from_json(comment.holds)),
        }
        what = "Readers reported a comment" if reports else "A comment waits"
        digest = moderator.notify == "digest"
        mail.enqueue(
            moderator.email,
            f"[{site.name}] {what} on “{thread.title or thread.url}”",
            render_template("mail/comment_waiting.txt", **context),
            render_template("mail/comment_waiting.html", **context),
            digest_key=DIGEST_KEY if digest else None,
            send_after=next_digest_time(utcnow()) if digest else None,
        )
    return len(moderators)


def next_digest_time(now: datetime) -> datetime:
    """Digests go out once a day, at MODERATION_DIGEST_HOUR (UTC)."""
    hour = current_app.config["MODERATION_DIGEST_HOUR"]
    today = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    return today if today > now else today + timedelta(days=1)
