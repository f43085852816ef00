"""One-time, expiring links in notification mail that approve or reject a comment."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from app.database import writes
from app.domain.errors import LinkInvalid
from app.extensions import db
from app.models import Comment, Moderator
from app.services import links, moderation

LINK_SECONDS = links.MAIL_ACTION.max_age


@dataclass(frozen=True)
class MailLink:
    moderator_id: int
    comment_id: int
    action: str
    jti: str


def make_token(moderator: Moderator, comment: Comment, action: str) -> str:
    if action not in moderation.ACTIONS:
        raise ValueError(action)
    payload = {"m": moderator.id, "c": comment.id, "a": action, "j": secrets.token_urlsafe(16)}
    return links.sign(links.MAIL_ACTION, payload)


def url(moderator: Moderator, comment: Comment, action: str) -> str:
    return links.public_url("dashboard.mail_action", token=make_token(moderator, comment, action))


def read(token: str) -> MailLink:
    data = links.load(links.MAIL_ACTION, token)
    try:
        return MailLink(int(data["m"]), int(data["c"]), str(data["a"]), str(data["j"]))
    except (KeyError, TypeError, ValueError):
        raise LinkInvalid("This link is not valid.") from None


@writes
def use(link: MailLink) -> Comment:
    """Act once: the link's id is recorded in the same transaction as the action."""
    moderator = db.session.get(Moderator, link.moderator_id)
    if moderator is None:
        raise LinkInvalid("This link is not valid.")
    links.use_once(links.MAIL_ACTION, link.jti, used="This link was already used.")
    [comment] = moderation.apply_action(moderator, [link.comment_id], link.action)
    return comment


def comment_of(link: MailLink) -> Comment:
    """The comment a link acts on, as its moderator may see it (for the confirming page)."""
    moderator = db.session.get(Moderator, link.moderator_id)
    if moderator is None:
        raise LinkInvalid("This link is not valid.")
    return moderation.comment_for_review(moderator, link.comment_id)


def used_at(link: MailLink) -> datetime | None:
    """When this link acted, if it did: its page then says what was done instead of asking."""
    return links.used_at(links.MAIL_ACTION, link.jti)
