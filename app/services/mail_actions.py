"""One-time, expiring links in notification mail that approve or reject a comment."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from app import clock
from app.database import begin_write
from app.domain.errors import LinkExpired, LinkInvalid
from app.extensions import db
from app.models import Comment, Moderator, UsedActionToken
from app.services import moderation

_SALT = "afterword.mail-action"
LINK_SECONDS = 3 * 24 * 3600  # a weekend away, not forever


@dataclass(frozen=True)
class MailLink:
    moderator_id: int
    comment_id: int
    action: str
    jti: str


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT, signer=clock.Signer)


def make_token(moderator: Moderator, comment: Comment, action: str) -> str:
    if action not in moderation.ACTIONS:
        raise ValueError(action)
    payload = {"m": moderator.id, "c": comment.id, "a": action, "j": secrets.token_urlsafe(16)}
    return _serializer().dumps(payload)


def read(token: str) -> MailLink:
    try:
        data = _serializer().loads(token, max_age=LINK_SECONDS)
    except SignatureExpired:
        raise LinkExpired("This link has expired. Open the dashboard instead.") from None
    except BadSignature:
        raise LinkInvalid("This link is not valid.") from None
    try:
        return MailLink(int(data["m"]), int(data["c"]), str(data["a"]), str(data["j"]))
    except (KeyError, TypeError, ValueError):
        raise LinkInvalid("This link is not valid.") from None


def use(link: MailLink) -> Comment:
    """Act once: the link's id is recorded in the same transaction as the action."""
    moderator = db.session.get(Moderator, link.moderator_id)
    if moderator is None:
        raise LinkInvalid("This link is not valid.")
    begin_write()
    db.session.add(UsedActionToken(jti=link.jti))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise LinkExpired("This link was already used.") from None
    [comment] = moderation.apply_action(moderator, [link.comment_id], link.action)
    db.session.commit()
    return comment


def comment_of(link: MailLink) -> Comment:
    """The comment a link acts on, as its moderator may see it (for the confirming page)."""
    moderator = db.session.get(Moderator, link.moderator_id)
    if moderator is None:
        raise LinkInvalid("This link is not valid.")
    return moderation.comment_for_review(moderator, link.comment_id)
