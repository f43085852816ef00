"""Mail to an author about replies to their comment: one mail per reply once it is approved,
to an address its owner confirmed for the site, with a one-click way out (RFC 8058).

Confirmation is per site and address, not per comment: the owner clicks once, and later
opt-ins from the same address on that site need no more mail. A page's confirmed new-comment
subscription confirms the address too (its owner clicked a link from this site), and one
confirmation mail covers both boxes ticked on one comment. Replies approved before the
address is confirmed are not mailed, then or later: a confirmation never releases a backlog.
After the owner stopped all reply mail from the site, a new opt-in asks them again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import render_template
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from app.database import writes
from app.domain.authors import Author
from app.domain.errors import LinkInvalid
from app.domain.states import CommentStatus
from app.extensions import db
from app.models import Comment, NotificationAddress, ReplySubscription, Site, Subscription, Thread
from app.models.types import utcnow
from app.services import links, mail, verified_emails


@dataclass(frozen=True)
class Stopped:
    """What a stop link is for: one comment's reply mail, or all of it from the site."""

    address: NotificationAddress
    subscription: ReplySubscription | None  # None: every comment on the site
    thread: Thread | None = None  # the page of the comment, for the link's page


def opt_in(
    site: Site,
    thread: Thread,
    comment: Comment,
    email: str,
    *,
    user_id: int | None,
    covered: bool = False,
) -> ReplySubscription:
    """Ask for mail about replies to `comment`; inside the caller's transaction.

    `covered`: the same request asked for the page's new comments and that subscription
    waits for its own confirmation mail, which covers this one too.
    """
    address = _get_or_create_address(site, email, user_id)
    if address.replies_stopped_at is not None:
        # The owner said "no more"; only their own click says otherwise, since anyone can
        # type their address into a comment.
        address.replies_stopped_at = None
        address.confirmed_at = None
        address.confirmation_sent_at = None
    db.session.flush()
    if address.confirmed_at is None:
        if _owner_confirmed(site, address, user_id):
            address.confirmed_at = utcnow()
        elif covered:
            address.confirmation_sent_at = utcnow()
        elif _may_send_confirmation(address):
            _send_confirmation(site, thread, address)
    subscription = ReplySubscription(comment_id=comment.id, address_id=address.id, user_id=user_id)
    db.session.add(subscription)
    return subscription


def account_address(user_id: int) -> str | None:
    """The address a signed-in reader's account last had confirmed, if any, so that they
    need not type it again."""
    for stmt in (
        select(NotificationAddress.email, NotificationAddress.confirmed_at).where(
            NotificationAddress.user_id == user_id, NotificationAddress.confirmed_at.is_not(None)
        ),
        select(Subscription.email, Subscription.confirmed_at).where(
            Subscription.user_id == user_id, Subscription.confirmed_at.is_not(None)
        ),
    ):
        row = db.session.execute(stmt.order_by(stmt.selected_columns[1].desc()).limit(1)).first()
        if row is not None:
            return str(row[0])
    return None


def confirmed_by_subscription(site_id: str, email: str) -> None:
    """A page's subscription was confirmed: the address is, for reply mail on that site."""
    address = db.session.scalar(
        select(NotificationAddress).where(
            NotificationAddress.site_id == site_id, NotificationAddress.email == email
        )
    )
    if address is not None and address.confirmed_at is None:
        address.confirmed_at = utcnow()


@writes
def confirm(token: str) -> NotificationAddress:
    address = _address_from(links.load(links.CONFIRM_ADDRESS, token))
    if address.confirmed_at is None:
        address.confirmed_at = utcnow()
    address.replies_stopped_at = None
    # Its owner clicked: the guest comments the address wrote on the site until the mail
    # was asked for are theirs (not those typed with it since, by anyone).
    verified_emails.confirm(
        address.site_id, address.email, before=address.confirmation_sent_at or utcnow()
    )
    return address


def peek_confirm(token: str) -> NotificationAddress:
    """The address a confirmation link is for, changing nothing (for the page a GET shows)."""
    return _address_from(links.load(links.CONFIRM_ADDRESS, token))


@writes
def unsubscribe(token: str) -> Stopped:
    """Stop reply mail for the link's comment, or for the whole site."""
    stopped = peek_unsubscribe(token)
    if stopped.subscription is not None:
        if stopped.subscription.unsubscribed_at is None:
            stopped.subscription.unsubscribed_at = utcnow()
    elif stopped.address.replies_stopped_at is None:
        stopped.address.replies_stopped_at = utcnow()
    return stopped


def peek_unsubscribe(token: str) -> Stopped:
    payload = links.load(links.UNSUBSCRIBE_REPLIES, token)
    if isinstance(payload, dict) and isinstance(payload.get("reply"), int):
        subscription = db.session.get(ReplySubscription, payload["reply"])
        if subscription is None:
            raise LinkInvalid("This link is not valid any more.")
        address = db.session.get_one(NotificationAddress, subscription.address_id)
        thread = db.session.scalar(
            select(Thread)
            .join(Comment, Comment.thread_id == Thread.id)
            .where(Comment.id == subscription.comment_id)
        )
        return Stopped(address, subscription, thread)
    if isinstance(payload, dict):
        return Stopped(_address_from(payload.get("address")), None)
    raise LinkInvalid("This link is not valid.")


@dataclass(frozen=True)
class Recipient:
    subscription: ReplySubscription
    address: NotificationAddress
    parent: Comment


def recipient_of(reply: Comment, author: Author) -> Recipient | None:
    """Who hears of `reply` as an answer to their comment: the parent's author, if they
    asked, confirmed and did not stop, and did not write the reply themselves."""
    if reply.parent_id is None:
        return None
    row = db.session.execute(
        select(ReplySubscription, NotificationAddress, Comment)
        .join(NotificationAddress, ReplySubscription.address_id == NotificationAddress.id)
        .join(Comment, ReplySubscription.comment_id == Comment.id)
        .where(
            ReplySubscription.comment_id == reply.parent_id,
            ReplySubscription.unsubscribed_at.is_(None),
            # A comment rejected, marked as spam or deleted has no audience left to answer it.
            Comment.status.in_((CommentStatus.APPROVED, CommentStatus.PENDING)),
            NotificationAddress.confirmed_at.is_not(None),
            NotificationAddress.replies_stopped_at.is_(None),
        )
    ).first()
    if row is None:
        return None
    subscription, address, parent = row
    same_account = reply.user_id is not None and reply.user_id in (
        parent.user_id,
        subscription.user_id,
    )
    same_address = author.email is not None and author.email == address.email
    return None if same_account or same_address else Recipient(subscription, address, parent)


def send(
    recipient: Recipient,
    reply: Comment,
    thread: Thread,
    site: Site,
    author: Author,
    *,
    page_unsubscribe_url: str | None = None,
) -> None:
    """Queue the mail about `reply`; `page_unsubscribe_url` when the same address also
    follows the page, which this one mail then stands for too."""
    unsubscribe_url = links.public_url(
        "subscribe.unsubscribe_replies",
        token=links.sign(links.UNSUBSCRIBE_REPLIES, {"reply": recipient.subscription.id}),
    )
    stop_all_url = links.public_url(
        "subscribe.unsubscribe_replies",
        token=links.sign(links.UNSUBSCRIBE_REPLIES, {"address": recipient.address.id}),
    )
    context = {
        "site": site,
        "thread": thread,
        "reply": reply,
        "author": author.label,
        "page_url": f"{thread.url}#comment-{reply.id}",
        "unsubscribe_url": unsubscribe_url,
        "stop_all_url": stop_all_url,
        "page_unsubscribe_url": page_unsubscribe_url,
    }
    mail.enqueue(
        recipient.address.email,
        f"New reply to your comment on “{thread.title or thread.url}”",
        render_template("mail/new_reply.txt", **context),
        render_template("mail/new_reply.html", **context),
        headers={
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


def _get_or_create_address(site: Site, email: str, user_id: int | None) -> NotificationAddress:
    """Race-safe: two first opt-ins from one address end up with one row, not an error."""
    dialect = db.session.get_bind().dialect.name
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    db.session.execute(
        insert(NotificationAddress)
        .values(site_id=site.id, email=email, user_id=user_id, created_at=utcnow())
        # Both dialects' Insert have it; the checker sees only their common base.
        .on_conflict_do_nothing(index_elements=["site_id", "email"])  # type: ignore[attr-defined]
    )
    return db.session.scalars(
        select(NotificationAddress).where(
            NotificationAddress.site_id == site.id, NotificationAddress.email == email
        )
    ).one()


def _owner_confirmed(site: Site, address: NotificationAddress, user_id: int | None) -> bool:
    """Whether the address's owner already clicked a link that vouches for this request: a
    page of this site's new comments, or (a signed-in reader) anything for their account."""
    on_site = select(Subscription.id).where(
        Subscription.email == address.email,
        Subscription.confirmed_at.is_not(None),
        Subscription.thread_id.in_(select(Thread.id).where(Thread.site_id == site.id)),
    )
    if db.session.scalar(on_site.limit(1)) is not None:
        return True
    if user_id is None:
        return False
    for model in (Subscription, NotificationAddress):
        found = db.session.scalar(
            select(model.id)
            .where(
                model.user_id == user_id,
                model.email == address.email,
                model.confirmed_at.is_not(None),
            )
            .limit(1)
        )
        if found is not None:
            return True
    return False


def _may_send_confirmation(address: NotificationAddress) -> bool:
    """One pending confirmation per address and site: another only once the last one's link
    has expired, and within the address's limit (RATELIMIT_RECIPIENT)."""
    max_age = links.CONFIRM_ADDRESS.max_age or 0
    sent = address.confirmation_sent_at
    if sent is not None and sent > utcnow() - timedelta(seconds=max_age):
        return False
    return mail.recipient_allows("confirmation", address.email)


def _send_confirmation(site: Site, thread: Thread, address: NotificationAddress) -> None:
    address.confirmation_sent_at = utcnow()
    token = links.sign(links.CONFIRM_ADDRESS, address.id)
    context = {
        "site": site,
        "thread": thread,
        "confirm_url": links.public_url("subscribe.confirm_address", token=token),
        "for_account": address.user_id is not None,
    }
    mail.enqueue(
        address.email,
        f"Confirm: replies to your comments on {site.name}",
        render_template("mail/confirm_address.txt", **context),
        render_template("mail/confirm_address.html", **context),
    )


def _address_from(address_id: object) -> NotificationAddress:
    if not isinstance(address_id, int) or isinstance(address_id, bool):
        raise LinkInvalid("This link is not valid.")
    address = db.session.get(NotificationAddress, address_id)
    if address is None:
        raise LinkInvalid("This link is not valid any more.")
    return address
