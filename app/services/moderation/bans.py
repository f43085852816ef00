"""Keeping an author out of a site: bans by account, address hash or email hash."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, or_, select

from app.database import writes
from app.domain import policy
from app.domain.errors import Forbidden, NotFound, ValidationError
from app.domain.states import CommentStatus
from app.extensions import db
from app.models import (
    Ban,
    Moderator,
)
from app.models.types import utcnow
from app.services import authors
from app.services.hashing import email_hash
from app.services.moderation.audit import record_action
from app.services.moderation.commands import move_comment
from app.services.moderation.permissions import can_moderate, moderated_comment


@writes
def ban_author(
    moderator: Moderator,
    comment_id: int,
    *,
    by_email: bool = True,
    by_address: bool = False,
    days: int | None = None,
    reason: str = "",
) -> Ban:
    """Keep a comment's author out of its site; their comment goes to spam too."""
    comment, site_id = moderated_comment(moderator, comment_id)
    if days is not None and not 1 <= days <= 3650:
        raise ValidationError("A ban lasts 1 to 3650 days, or has no end.", field="days")
    author = authors.of_comment(comment)
    ban = Ban(
        site_id=site_id,
        user_id=author.user_id,
        email_hash=email_hash(author.email) if by_email else None,
        address_hash=comment.remote_addr_hash if by_address else None,
        label=author.label,
        reason=reason.strip()[:300],
        expires_at=utcnow() + timedelta(days=days) if days else None,
        created_by_id=moderator.id,
    )
    if not (ban.user_id or ban.email_hash or ban.address_hash):
        raise ValidationError(
            "Nothing identifies this author: choose email or address.", field="by_email"
        )
    db.session.add(ban)
    record_action(site_id, comment, moderator, "ban", detail=ban.reason)
    move_comment(comment, CommentStatus.SPAM, site_id, moderator, action="spam")
    return ban


@writes
def lift_ban(moderator: Moderator, ban_id: int) -> str:
    """Remove a ban; returns its site's id."""
    ban = db.session.get(Ban, ban_id) if policy.is_id(ban_id) else None
    if ban is None or not can_moderate(moderator, ban.site_id):
        raise NotFound("There is no such ban.")
    site_id = ban.site_id
    record_action(site_id, None, moderator, "unban", detail=ban.label)
    db.session.delete(ban)
    return site_id


def is_banned(
    site_id: str, *, user_id: int | None, email: str | None, address_hash: str | None
) -> bool:
    """Whether a new comment by this author should go straight to spam."""
    matches = []
    if user_id is not None:
        matches.append(Ban.user_id == user_id)
    if email:
        matches.append(Ban.email_hash == email_hash(email))
    if address_hash:
        matches.append(Ban.address_hash == address_hash)
    if not matches:
        return False
    return bool(
        db.session.scalar(
            select(func.count(Ban.id)).where(
                Ban.site_id == site_id,
                or_(*matches),
                or_(Ban.expires_at.is_(None), Ban.expires_at > utcnow()),
            )
        )
    )


def active_bans(moderator: Moderator, site_id: str) -> list[Ban]:
    if not can_moderate(moderator, site_id):
        raise Forbidden("You do not moderate that site.")
    return list(
        db.session.scalars(
            select(Ban)
            .where(Ban.site_id == site_id, or_(Ban.expires_at.is_(None), Ban.expires_at > utcnow()))
            .order_by(Ban.created_at.desc())
        )
    )
