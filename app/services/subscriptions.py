"""Readers hearing about new comments by email: double opt-in, only approved comments,
one-click unsubscribe (RFC 8058), signed links that expire. Mail goes through the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import render_template
from sqlalchemy import ColumnElement, Exists, and_, exists, select, update

from app.database import writes
from app.domain.errors import LinkInvalid
from app.extensions import db
from app.models import Comment, ReplySubscription, Site, Subscription, Thread
from app.models.types import utcnow
from app.services import authors, links, mail, reply_mail, verified_emails

SCOPES = ("thread", "replies")


def subscribe(
    site: Site,
    thread: Thread,
    email: str,
    scope: str = "thread",
    *,
    user_id: int | None = None,
    replies: bool = False,
) -> Subscription:
    """Ask for mail about a page; inside the caller's transaction.

    Each page needs its own confirmation by mail: anyone may type anyone's address, and an
    address confirmed once must not let strangers sign it up for every other page. Only a
    signed-in reader (`user_id`) who confirmed the address for their account needs no more.
    Confirmations per address are limited (RATELIMIT_RECIPIENT); past that, the request
    goes on as if one were sent. `replies`: the same request asked for reply mail, which
    the confirmation mail then covers too (see reply_mail).
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
            _send_confirmation(site, thread, subscription, replies=replies)
    return subscription


@writes
def confirm(token: str) -> Subscription:
    subscription = _from_token(token, links.CONFIRM_SUBSCRIPTION)
    if subscription.confirmed_at is None:
        subscription.confirmed_at = utcnow()
    subscription.unsubscribed_at = None
    site_id = db.session.execute(
        select(Thread.site_id).where(Thread.id == subscription.thread_id)
    ).scalar_one()
    reply_mail.confirmed_by_subscription(site_id, subscription.email)
    # Its owner clicked: the guest comments the address wrote on the site are theirs.
    verified_emails.confirm(site_id, subscription.email, before=subscription.created_at)
    return subscription


@writes
def unsubscribe(token: str) -> Subscription:
    subscription = _from_token(token, links.UNSUBSCRIBE)
    if subscription.unsubscribed_at is None:
        subscription.unsubscribed_at = utcnow()
    return subscription


def peek(token: str, *, unsubscribing: bool) -> Subscription:
    """The subscription a link is for, changing nothing (for the page a GET shows)."""
    if unsubscribing:
        return _from_token(token, links.UNSUBSCRIBE)
    return _from_token(token, links.CONFIRM_SUBSCRIPTION)


def comments_approved(comments: list[Comment]) -> int:
    """`comment_approved` for many comments (a bulk action). Two queries find which of them
    anyone may hear of: a confirmed subscriber of the page, or a reply subscription on the
    comment answered. Only those go on to build mail; the rest are just marked."""
    fresh = [c for c in comments if not c.subscribers_notified]
    if not fresh:
        return 0
    followed = set(
        db.session.scalars(
            select(Subscription.thread_id)
            .where(
                Subscription.thread_id.in_({c.thread_id for c in fresh}),
                Subscription.confirmed_at.is_not(None),
                Subscription.unsubscribed_at.is_(None),
            )
            .distinct()
        )
    )
    parents = {c.parent_id for c in fresh if c.parent_id is not None}
    answered = (
        set(
            db.session.scalars(
                select(ReplySubscription.comment_id)
                .where(
                    ReplySubscription.comment_id.in_(parents),
                    ReplySubscription.unsubscribed_at.is_(None),
                )
                .distinct()
            )
        )
        if parents
        else set()
    )
    sent = 0
    quiet: list[int] = []
    for comment in fresh:
        if comment.thread_id in followed or comment.parent_id in answered:
            thread = db.session.get_one(Thread, comment.thread_id)
            sent += comment_approved(comment, thread, db.session.get_one(Site, thread.site_id))
        else:
            quiet.append(comment.id)
    if quiet:
        # Marked in one UPDATE as comment_approved marks each: nobody hears of them later.
        db.session.execute(
            update(Comment).where(Comment.id.in_(quiet)).values(subscribers_notified=True),
            execution_options={"synchronize_session": "evaluate"},
        )
    return sent


def _confirmed(thread_id: Any) -> ColumnElement[bool]:
    return and_(
        Subscription.thread_id == thread_id,
        Subscription.confirmed_at.is_not(None),
        Subscription.unsubscribed_at.is_(None),
    )


def confirmed_subscribers(thread_id: int) -> Sequence[Subscription]:
    """The page's subscriptions that get mail of its new comments."""
    return db.session.scalars(select(Subscription).where(_confirmed(thread_id))).all()


def has_confirmed_subscribers(thread_id: Any) -> Exists:
    """Whether `confirmed_subscribers` would find any: a column for a query of threads."""
    return exists().where(_confirmed(thread_id))


def comment_approved(
    comment: Comment,
    thread: Thread,
    site: Site,
    *,
    subscribers: Sequence[Subscription] | None = None,
) -> int:
    """Queue mail for the page's confirmed subscribers and for the author of the comment it
    answers; once per comment. Returns how many.

    Called when a comment becomes approved (at once, or by a moderator), inside the write.
    Pending, rejected and spam comments never reach here. An address that would hear of the
    comment both ways gets one mail, the reply's. `subscribers`: `confirmed_subscribers`
    as a new comment's post read them before the write lock (a page's subscribers, not
    the comment's: a subscription confirmed that very moment misses it, as it would have
    had it come a moment earlier).
    """
    if comment.subscribers_notified:
        return 0
    comment.subscribers_notified = True
    return published(comment, thread, site, subscribers=subscribers)


def published(
    comment: Comment,
    thread: Thread,
    site: Site,
    *,
    subscribers: Sequence[Subscription] | None = None,
) -> int:
    """`comment_approved`'s mail, for a comment whose row already says it was sent: a new
    comment published at once is stored that way in its one INSERT."""
    author = authors.of_comment(comment)
    replied_to = reply_mail.recipient_of(comment, author)
    parent_email = None
    if comment.parent_id:
        parent_email = db.session.scalar(
            select(Comment.guest_email).where(Comment.id == comment.parent_id)
        )
    if subscribers is None:
        subscribers = confirmed_subscribers(thread.id)
    sent = 0
    page_unsubscribe_url = None
    for subscription in subscribers:
        if subscription.email == author.email or (
            comment.user_id is not None and subscription.user_id == comment.user_id
        ):
            continue  # nobody needs mail about their own comment
        if subscription.scope == "replies" and subscription.email != parent_email:
            continue
        links = _links(subscription)
        if replied_to is not None and subscription.email == replied_to.address.email:
            page_unsubscribe_url = links["unsubscribe"]
            continue
        context = {
            "site": site,
            "thread": thread,
            "comment": comment,
            "author": author.label,
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
    if replied_to is not None:
        reply_mail.send(
            replied_to, comment, thread, site, author, page_unsubscribe_url=page_unsubscribe_url
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


def _send_confirmation(
    site: Site, thread: Thread, subscription: Subscription, *, replies: bool = False
) -> None:
    token = links.sign(links.CONFIRM_SUBSCRIPTION, subscription.id)
    context = {
        "site": site,
        "thread": thread,
        "confirm_url": links.public_url("subscribe.confirm", token=token),
        "for_account": subscription.user_id is not None,
        "replies": replies,
    }
    mail.enqueue(
        subscription.email,
        f"Confirm: new comments on “{thread.title or thread.url}”",
        render_template("mail/confirm_subscription.txt", **context),
        render_template("mail/confirm_subscription.html", **context),
    )


def _links(subscription: Subscription) -> dict[str, str]:
    token = links.sign(links.UNSUBSCRIBE, subscription.id)
    return {"unsubscribe": links.public_url("subscribe.unsubscribe", token=token)}


def _from_token(token: str, purpose: links.Purpose) -> Subscription:
    subscription_id = links.load(purpose, token)
    if not isinstance(subscription_id, int):
        raise LinkInvalid("This link is not valid.")
    subscription = db.session.get(Subscription, subscription_id)
    if subscription is None:
        raise LinkInvalid("This link is not valid any more.")
    return subscription
