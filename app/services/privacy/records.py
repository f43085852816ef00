"""What is stored about a person: their comments, subscriptions and account, as one export."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import selectinload

from app.domain import policy
from app.domain.errors import ValidationError
from app.extensions import db
from app.models import (
    Comment,
    Identity,
    NotificationAddress,
    ReplySubscription,
    Site,
    Subscription,
    Thread,
    User,
)
from app.models.types import utcnow
from app.services.likes import likes_of_user

FORMAT = "afterword-personal-data"


VERSION = 1


def email_forms(email: str) -> set[str]:
    """The ways an address may be stored: as the widget normalizes it, and as imports do."""
    plain = email.strip().lower()
    try:
        return {policy.clean_email(email), plain}
    except ValidationError:
        return {plain}


def guest_condition(email: str) -> ColumnElement[bool]:
    return and_(
        Comment.user_id.is_(None),
        Comment.moderator_id.is_(None),
        Comment.guest_email.in_(email_forms(email)),
    )


def _comments(condition: ColumnElement[bool]) -> list[Comment]:
    """Comments with their thread and site loaded, oldest first, on every site."""
    return list(
        db.session.scalars(
            select(Comment)
            .where(condition)
            .options(selectinload(Comment.thread).selectinload(Thread.site))
            .order_by(Comment.created_at, Comment.id)
        )
    )


def comments_of_user(user: User) -> list[Comment]:
    return _comments(Comment.user_id == user.id)


def comments_of_email(email: str) -> list[Comment]:
    """A guest's comments by address, on every site: the person owns their data wherever
    they wrote, whichever site they asked from."""
    return _comments(guest_condition(email))


def subscriptions_of_email(email: str) -> list[tuple[Subscription, Thread]]:
    rows = db.session.execute(
        select(Subscription, Thread)
        .join(Thread, Subscription.thread_id == Thread.id)
        .where(Subscription.email.in_(email_forms(email)))
        .order_by(Subscription.created_at, Subscription.id)
    )
    return [(subscription, thread) for subscription, thread in rows]


def reply_notifications(
    *, email: str | None = None, user_id: int | None = None
) -> list[tuple[ReplySubscription, NotificationAddress, Thread]]:
    """Requests for reply mail: by address (a guest's), or those an account made."""
    stmt = (
        select(ReplySubscription, NotificationAddress, Thread)
        .join(NotificationAddress, ReplySubscription.address_id == NotificationAddress.id)
        .join(Comment, ReplySubscription.comment_id == Comment.id)
        .join(Thread, Comment.thread_id == Thread.id)
        .order_by(ReplySubscription.created_at, ReplySubscription.id)
    )
    if email is not None:
        stmt = stmt.where(NotificationAddress.email.in_(email_forms(email)))
    else:
        stmt = stmt.where(ReplySubscription.user_id == user_id)
    return [(sub, address, thread) for sub, address, thread in db.session.execute(stmt)]


def notification_addresses(
    *, email: str | None = None, user_id: int | None = None
) -> list[tuple[NotificationAddress, Site]]:
    """Addresses given for reply mail, with their site: by address, or an account's."""
    stmt = select(NotificationAddress, Site).join(Site, NotificationAddress.site_id == Site.id)
    if email is not None:
        stmt = stmt.where(NotificationAddress.email.in_(email_forms(email)))
    else:
        stmt = stmt.where(NotificationAddress.user_id == user_id)
    stmt = stmt.order_by(NotificationAddress.created_at, NotificationAddress.id)
    return [(address, site) for address, site in db.session.execute(stmt)]


def counts_per_site(comments: Iterable[Comment]) -> list[tuple[str, int]]:
    """(site name, comments) for the guest page, most comments first."""
    sites = Counter((c.thread.site_id, c.thread.site.name) for c in comments).most_common()
    return [(name, count) for (_, name), count in sites]


def export_data(*, user: User | None = None, email: str | None = None) -> dict[str, Any]:
    """Everything stored about a signed-in reader or a guest address, as JSON-able data."""
    if (user is None) == (email is None):
        raise ValueError("export a user or an email, not both")
    data: dict[str, Any] = {"format": FORMAT, "version": VERSION, "exported_at": _iso(utcnow())}
    if user is not None:
        identities = db.session.scalars(
            select(Identity).where(Identity.user_id == user.id).order_by(Identity.id)
        )
        data["account"] = {
            "name": user.display_name,
            "handle": user.handle,
            "avatar_url": user.avatar_url,
            "created_at": _iso(user.created_at),
            "providers": [
                {
                    "provider": i.provider,
                    "id": i.provider_user_id,
                    "profile": i.profile,
                    "linked_at": _iso(i.created_at),
                    "updated_at": _iso(i.updated_at),
                }
                for i in identities
            ],
        }
        comments = comments_of_user(user)
        who: dict[str, Any] = {"user_id": user.id}
    else:
        assert email is not None  # exactly one of the two, checked above
        data["email"] = email
        comments = comments_of_email(email)
        who = {"email": email}
        data["subscriptions"] = [
            {
                "page": {"url": thread.url, "title": thread.title},
                "scope": sub.scope,
                "created_at": _iso(sub.created_at),
                "confirmed_at": _iso(sub.confirmed_at),
                "unsubscribed_at": _iso(sub.unsubscribed_at),
            }
            for sub, thread in subscriptions_of_email(email)
        ]
    data["notification_addresses"] = [
        {
            "site": {"id": site.id, "name": site.name},
            "email": address.email,
            "created_at": _iso(address.created_at),
            "confirmed_at": _iso(address.confirmed_at),
            "replies_stopped_at": _iso(address.replies_stopped_at),
        }
        for address, site in notification_addresses(**who)
    ]
    data["reply_notifications"] = [
        {
            "comment_id": sub.comment_id,
            "page": {"url": thread.url, "title": thread.title},
            "email": address.email,
            "created_at": _iso(sub.created_at),
            "unsubscribed_at": _iso(sub.unsubscribed_at),
        }
        for sub, address, thread in reply_notifications(**who)
    ]
    data["comments"] = [_comment_out(c) for c in comments]
    if user is not None:
        # A guest's likes are kept by a random id of their browser, never by their address.
        data["likes"] = [
            {
                "comment_id": like.comment_id,
                "site": {"id": thread.site_id},
                "page": {"url": thread.url, "title": thread.title},
                "created_at": _iso(like.created_at),
            }
            for like, thread in likes_of_user(user.id)
        ]
    return data


def _comment_out(comment: Comment) -> dict[str, Any]:
    thread = comment.thread
    out: dict[str, Any] = {
        "id": comment.id,
        "site": {"id": thread.site_id, "name": thread.site.name},
        "page": {"url": thread.url, "title": thread.title},
        "parent_id": comment.parent_id,
        # The true status: it is the person's own record (the widget shows spam as pending
        # to keep spammers guessing, but this copy only ever reaches the author).
        "status": comment.status.value,
        "created_at": _iso(comment.created_at),
        "edited_at": _iso(comment.edited_at),
        "body": comment.body,
        "address_hash_kept": comment.remote_addr_hash is not None,
    }
    if comment.user_id is None:
        out |= {
            "name": comment.guest_name,
            "email": comment.guest_email,
            "website": comment.guest_website,
        }
    else:
        out["provider"] = comment.provider
    return out


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment else None
