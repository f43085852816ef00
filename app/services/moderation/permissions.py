"""Which sites a moderator may act on, in which role, and the comments found there."""

from __future__ import annotations

from sqlalchemy import select

from app.domain import policy
from app.domain.errors import CommentNotFound, Forbidden
from app.domain.roles import Role, SiteAction, allows
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


def role_on(moderator: Moderator, site_id: str) -> Role | None:
    """The moderator's role on a site; None when they have none there."""
    if moderator.all_sites:
        return Role.OWNER
    role = db.session.scalar(
        select(moderator_sites.c.role).where(
            moderator_sites.c.moderator_id == moderator.id, moderator_sites.c.site_id == site_id
        )
    )
    return Role(role) if role is not None else None


def roles_of(moderator: Moderator) -> dict[str, Role] | None:
    """The moderator's role on each of their sites; None means owner of every site."""
    if moderator.all_sites:
        return None
    rows = db.session.execute(
        select(moderator_sites.c.site_id, moderator_sites.c.role).where(
            moderator_sites.c.moderator_id == moderator.id
        )
    )
    return {site_id: Role(role) for site_id, role in rows}


def may(moderator: Moderator, site_id: str, action: SiteAction) -> bool:
    return allows(role_on(moderator, site_id), action)


def can_own(moderator: Moderator, site_id: str) -> bool:
    """Whether the moderator runs the site: its settings, moderators, export and audit log."""
    return role_on(moderator, site_id) is Role.OWNER


def require_owner(moderator: Moderator, site_id: str, action: SiteAction) -> None:
    """Raises Forbidden unless the moderator may take an owner's `action` on the site."""
    if not may(moderator, site_id, action):
        raise Forbidden("Only an owner of this site can do that.")


def can_add_sites(moderator: Moderator) -> bool:
    """Who owns a site may add another (and owns that one); a moderator of the queue only
    may not, or a moderator's grant would be a way to get an owner's."""
    if moderator.all_sites:
        return True
    owned = db.session.scalar(
        select(moderator_sites.c.site_id)
        .where(
            moderator_sites.c.moderator_id == moderator.id,
            moderator_sites.c.role == Role.OWNER.value,
        )
        .limit(1)
    )
    return owned is not None


def sites_of(moderator: Moderator) -> list[Site]:
    stmt = select(Site).order_by(Site.name)
    allowed = site_ids_of(moderator)
    if allowed is not None:
        stmt = stmt.where(Site.id.in_(allowed))
    return list(db.session.scalars(stmt))


def moderated_comment(
    moderator: Moderator, comment_id: int, *, lock: bool = False
) -> tuple[Comment, str]:
    """The comment and its site, if the moderator moderates that site. `lock`, for a write
    that decides from what the comment is now: read afresh and locked until the write ends,
    so that two moderators moving it at once on PostgreSQL do not both see it as it was (and
    move its thread's counter twice); the second waits, then reads the first one's result."""
    if not policy.is_id(comment_id):
        raise CommentNotFound("There is no such comment.")
    stmt = select(Comment, Thread.site_id).join(Thread).where(Comment.id == comment_id)
    if lock:
        stmt = stmt.with_for_update(of=Comment).execution_options(populate_existing=True)
    row = db.session.execute(stmt).first()
    if row is None:
        raise CommentNotFound("There is no such comment.")
    comment, site_id = row
    if not can_moderate(moderator, site_id):
        # The same answer as a missing comment: ids on other sites are not confirmed.
        raise CommentNotFound("There is no such comment.")
    return comment, site_id
