"""Readers hearing about new comments by email: double opt-in, only approved comments,
one-click unsubscribe (RFC 8058), signed links that expire. Mail goes through the outbox."""

from __future__ import annotations

from flask import current_app, render_template
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from app import clock
from app.domain.errors import LinkExpired, LinkInvalid
from app.extensions import db
from app.models import Comment, Site, Subscription, Thread, User
from app.models.types import utcnow
from app.services import mail

SCOPES = ("thread", "replies")
CONFIRM_SECONDS = 7 * 24 * 3600
UNSUBSCRIBE_SECONDS = 400 * 24 * 3600  # outlives any mail a reader might still keep
_CONFIRM_SALT = "afterword.subscription-confirm"
_UNSUBSCRIBE_SALT = "afterword.subscription-unsubscribe"


def subscribe(
    site: Site, thread: Thread, email: str, scope: str = "thread", *, user_id: int | None = None
) -> Subscription:
    """Ask for mail about a page; inside the caller's transaction.

    Each page needs its own confirmation by mail: anyone may type anyone's address, and an
    address confirmed once must not let strangers sign it up for every other page. Only a
    signed-in reader (`user_id`) who confirmed the address for their account needs no more.
    Confirmations per address are limited (RATELIMIT_RECIPIENT); past that, the request
    goes on as if one were sent.
    """
    scope = scope if scope in SCOPES else "thread"
    subscription = db.session.scalar(
        select(Subscription).where(Subscription.thread_id == thread.id, Subscription.email == email)
    )
    if subscription is None:
        subscription = Subscription(thread_id=thread.id, email=email, scope=scope, user_id=user_id)
        db.session.add(subscription)
    elif scope == "thread":
        subscription.scope = "thread"  # "every comment" includes "replies to me"
    subscription.unsubscribed_at = None
    if subscription.confirmed_at is None:
        if user_id is not None and _confirmed_for_account(user_id, email):
            subscription.confirmed_at = utcnow()
        elif mail.recipient_allows("confirmation", email):
            db.session.flush()
            _send_confirmation(site, thread, subscription)
    return subscription


def confirm(token: str) -> Subscription:
    subscription = _from_token(token, _CONFIRM_SALT, CONFIRM_SECONDS)
    if subscription.confirmed_at is None:
        subscription.confirmed_at = utcnow()
    subscription.unsubscribed_at = None
    db.session.commit()
    return subscription


def unsubscribe(token: str) -> Subscription:
    subscription = _from_token(token, _UNSUBSCRIBE_SALT, UNSUBSCRIBE_SECONDS)
    if subscription.unsubscribed_at is None:
        subscription.unsubscribed_at = utcnow()
    db.session.commit()
    return subscription


def peek(token: str, *, unsubscribing: bool) -> Subscription:
    """The subscription a link is for, changing nothing (for the page a GET shows)."""
    if unsubscribing:
        return _from_token(token, _UNSUBSCRIBE_SALT, UNSUBSCRIBE_SECONDS)
    return _from_token(token, _CONFIRM_SALT, CONFIRM_SECONDS)


def comment_approved(comment: Comment, thread: Thread, site: Site) -> int:
    """Queue mail for the page's confirmed subscribers; once per comment. Returns how many.

    Called when a comment becomes approved (at once, or by a moderator), inside the write.
    Pending, rejected and spam comments never reach here.
    """
    if comment.subscribers_notified:
        return 0
    comment.subscribers_notified = True
    author_email = comment.guest_email
    parent_email = None
    if comment.parent_id:
        parent_email = db.session.scalar(
            select(Comment.guest_email).where(Comment.id == comment.parent_id)
        )
    subscribers = db.session.scalars(
        select(Subscription).where(
            Subscription.thread_id == thread.id,
            Subscription.confirmed_at.is_not(None),
            Subscription.unsubscribed_at.is_(None),
        )
    ).all()
    user = db.session.get(User, comment.user_id) if comment.user_id else None
    author = user.display_name if user else comment.guest_name
    sent = 0
    for subscription in subscribers:
        if subscription.email == author_email:
            continue  # nobody needs mail about their own comment
        if subscription.scope == "replies" and subscription.email != parent_email:
            continue
        links = _links(subscription)
        context = {
            "site": site,
            "thread": thread,
            "comment": comment,
            "author": author or "A reader",
            "page_url": f"{thread.url}#comment-{comment.id}",
            "unsubscribe_url": links["unsubscribe"],
        }
        mail.enqueue(
            subscription.email,
            f"New comment on “{thread.title or thread.url}”",
            render_template("mail/new_comment.txt", **context),
            render_template("mail/new_comment.html", **context),
            headers={
                "List-Unsubscribe": f"<{links['unsubscribe']}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        )
        sent += 1
    return sent


def _confirmed_for_account(user_id: int, email: str) -> bool:
    """Whether the address's owner confirmed a subscription this account asked for."""
    return bool(
        db.session.scalar(
            select(Subscription.id)
            .where(
                Subscription.user_id == user_id,
                Subscription.email == email,
                Subscription.confirmed_at.is_not(None),
            )
            .limit(1)
        )
    )


def _send_confirmation(site: Site, thread: Thread, subscription: Subscription) -> None:
    base = current_app.config["PUBLIC_URL"]
    token = _serializer(_CONFIRM_SALT).dumps(subscription.id)
    context = {
        "site": site,
        "thread": thread,
        "confirm_url": f"{base}/notifications/confirm/{token}",
        "for_account": subscription.user_id is not None,
    }
    mail.enqueue(
        subscription.email,
        f"Confirm: new comments on “{thread.title or thread.url}”",
        render_template("mail/confirm_subscription.txt", **context),
        render_template("mail/confirm_subscription.html", **context),
    )


def _links(subscription: Subscription) -> dict[str, str]:
    base = current_app.config["PUBLIC_URL"]
    token = _serializer(_UNSUBSCRIBE_SALT).dumps(subscription.id)
    return {"unsubscribe": f"{base}/notifications/unsubscribe/{token}"}


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt, signer=clock.Signer)


def _from_token(token: str, salt: str, max_age: int) -> Subscription:
    try:
        subscription_id = _serializer(salt).loads(token, max_age=max_age)
    except SignatureExpired:
        raise LinkExpired("This link has expired.") from None
    except BadSignature:
        raise LinkInvalid("This link is not valid.") from None
    subscription = db.session.get(Subscription, subscription_id)
    if subscription is None:
        raise LinkInvalid("This link is not valid any more.")
    return subscription
