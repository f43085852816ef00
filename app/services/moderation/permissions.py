"""Which sites a moderator may act on, and the comments found there."""

from __future__ import annotations

from sqlalchemy import select

from app.domain import policy
from app.domain.errors import CommentNotFound
from app.extensions import db
from app.models import (
    Comment,
    Moderator,
    Site,
    Thread,
    moderator_sites,
)


def site_ids_of(moderator: Moderator) -> set[str] | None:
    """The sites a moderator may act on; None means every site."""
    if moderator.all_sites:
        return None
    return set(
        db.session.scalars(
            select(moderator_sites.c.site_id).where(moderator_sites.c.moderator_id == moderator.id)
        )
    )


def can_moderate(moderator: Moderator, site_id: str) -> bool:
    allowed = site_ids_of(moderator)
    return allowed is None or site_id in allowed


def sites_of(moderator: Moderator) -> list[Site]:
    stmt = select(Site).order_by(Site.name)
    allowed = site_ids_of(moderator)
    if allowed is not None:
        stmt = stmt.where(Site.id.in_(allowed))
    return list(db.session.scalars(stmt))


def moderated_comment(moderator: Moderator, comment_id: int) -> tuple[Comment, str]:
    if not policy.is_id(comment_id):
        raise CommentNotFound("There is no such comment.")
    row = db.session.execute(
        select(Comment, Thread.site_id).join(Thread).where(Comment.id == comment_id)
    ).first()
    if row is None:
        raise CommentNotFound("There is no such comment.")
    comment, site_id = row
    if not can_moderate(moderator, site_id):
        # The same answer as a missing comment: ids on other sites are not confirmed.
        raise CommentNotFound("There is no such comment.")
    return comment, site_id
