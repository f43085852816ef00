"""Keeping an author out of a site: bans by account, address hash or email hash."""

from __future__ import annotations

import enum
from datetime import timedelta

from sqlalchemy import or_, select

from app.database import writes
from app.domain import holds, policy
from app.domain.errors import Forbidden, NotFound, ValidationError
from app.domain.holds import Hold
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
    shadow: bool = False,
) -> Ban:
    """Keep a comment's author out of its site; their comment goes to spam too. A shadow
    ban leaves the author seeing their comments (this one included) as published."""
    comment, site_id = moderated_comment(moderator, comment_id, lock=True)
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
        shadow=shadow,
    )
    if not (ban.user_id or ban.email_hash or ban.address_hash):
        raise ValidationError(
            "Nothing identifies this author: choose email or address.", field="by_email"
        )
    db.session.add(ban)
    record_action(site_id, comment, moderator, "shadow-ban" if shadow else "ban", detail=ban.reason)
    if shadow and comment.status is not CommentStatus.DELETED:
        comment.shadowed = True
        comment.holds = holds.added(comment.holds, Hold(holds.SHADOW_BANNED))
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


class BanKind(enum.Enum):
    BANNED = "banned"  # refused: the author is told it did not work
    SHADOW = "shadow"  # kept from everyone but its author, who sees it as published


def ban_on(
    site_id: str, *, user_id: int | None, email: str | None, address_hash: str | None
) -> BanKind | None:
    """Whether a new comment by this author should go straight to spam, and how quietly: a
    plain ban wins over a shadow one when both match."""
    matches = []
    if user_id is not None:
        matches.append(Ban.user_id == user_id)
    if email:
        matches.append(Ban.email_hash == email_hash(email))
    if address_hash:
        matches.append(Ban.address_hash == address_hash)
    if not matches:
        return None
    kinds = set(
        db.session.scalars(
            select(Ban.shadow)
            .where(
                Ban.site_id == site_id,
                or_(*matches),
                or_(Ban.expires_at.is_(None), Ban.expires_at > utcnow()),
            )
            .distinct()
        )
    )
    if False in kinds:
        return BanKind.BANNED
    return BanKind.SHADOW if kinds else None


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
