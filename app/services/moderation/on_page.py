"""Moderating from the page itself: a moderator signed in to the widget with a provider
account they linked on the dashboard sees the thread's waiting comments there, and acts on
them with the same commands (and the same audit log) as the dashboard."""

from __future__ import annotations

from sqlalchemy import and_, select
from sqlalchemy.orm import selectinload

from app.domain import policy
from app.domain.errors import CommentNotFound, Forbidden, ValidationError
from app.domain.states import CommentStatus
from app.extensions import db
from app.models import Comment, Identity, Moderator, ModeratorIdentity, User
from app.services.moderation.commands import act, pin
from app.services.moderation.permissions import can_moderate, moderated_comment

ACTIONS = ("approve", "reject", "spam", "pin", "unpin")
PENDING_SHOWN = 50  # the oldest waiting comments of the thread; the rest are on the dashboard


def moderator_of(user: User | None, site_id: str) -> Moderator | None:
    """The moderator of this site whose linked provider account this reader signed in with
    (any of the reader's accounts: they proved each), or None. One query."""
    if user is None:
        return None
    moderators = db.session.scalars(
        select(Moderator)
        .join(ModeratorIdentity, ModeratorIdentity.moderator_id == Moderator.id)
        .join(
            Identity,
            and_(
                Identity.provider == ModeratorIdentity.provider,
                Identity.provider_user_id == ModeratorIdentity.provider_user_id,
            ),
        )
        .where(Identity.user_id == user.id)
    ).all()
    return next((m for m in moderators if can_moderate(m, site_id)), None)


def pending_in(thread_id: int | None) -> list[Comment]:
    if thread_id is None:
        return []
    return list(
        db.session.scalars(
            select(Comment)
            .where(Comment.thread_id == thread_id, Comment.status == CommentStatus.PENDING)
            .options(selectinload(Comment.user))
            .order_by(Comment.created_at, Comment.id)
            .limit(PENDING_SHOWN)
        )
    )


def act_on(moderator: Moderator, site_id: str, comment_id: object, action: object) -> Comment:
    """One of the dashboard's actions, on a comment of this site."""
    if action not in ACTIONS:
        raise ValidationError("Approve, reject, spam, pin or unpin.", field="action")
    if not policy.is_id(comment_id):
        raise CommentNotFound("There is no such comment.")
    _, on_site = moderated_comment(moderator, comment_id)
    if on_site != site_id:
        raise CommentNotFound("There is no such comment.")
    if action in ("pin", "unpin"):
        return pin(moderator, comment_id, action == "pin")
    [moved] = act(moderator, [comment_id], str(action))
    return moved


def require_moderator(user: User | None, site_id: str) -> Moderator:
    moderator = moderator_of(user, site_id)
    if moderator is None:
        raise Forbidden("Only a moderator of this site can do that.")
    return moderator
