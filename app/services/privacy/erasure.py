"""Erasing a person's data. A comment's row stays as a "deleted" placeholder, so replies by
others keep their place, but nothing in it says who wrote it or what."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, select, update

from app.database import writes
from app.domain.errors import ValidationError
from app.domain.states import CommentStatus
from app.extensions import db
from app.models import (
    Ban,
    Comment,
    Moderator,
    NotificationAddress,
    OutboxMessage,
    ReplySubscription,
    Subscription,
    Thread,
    User,
    WebhookDelivery,
)
from app.services import cache, likes, moderation, reports
from app.services.hashing import email_hash
from app.services.privacy.records import email_forms, guest_condition
from app.services.threads import adjust_approved_count

ERASED_LABEL = "(erased on request)"


_BATCH = 500  # ids per UPDATE, well under every backend's limit on bound parameters


def erase_comments(condition: ColumnElement[bool], **forget: Any) -> dict[str, int]:
    """Remove the text of the comments matching `condition`, and whatever `forget` names.

    Inside the caller's write transaction. Each comment becomes a "deleted" placeholder
    (replies by others keep their place under it), its thread's count of approved comments
    drops, and cached pages of its thread go stale. Returns how many comments per site.
    """
    rows = db.session.execute(
        select(Comment.id, Comment.thread_id, Comment.status, Thread.site_id)
        .join(Thread, Comment.thread_id == Thread.id)
        .where(condition)
    ).all()
    approved: Counter[int] = Counter()
    per_site: Counter[str] = Counter()
    for _, thread_id, status, site_id in rows:
        per_site[site_id] += 1
        if status is CommentStatus.APPROVED:
            approved[thread_id] += 1
        cache.touch_thread(site_id, thread_id)
    ids = [row.id for row in rows]  # exactly these: a comment posted meanwhile is not counted
    likes.forget_likes_of_comments(ids)  # a placeholder has nothing to like
    for start in range(0, len(ids), _BATCH):
        # Nobody hears of replies to a comment that is no longer there.
        db.session.execute(
            delete(ReplySubscription)
            .where(ReplySubscription.comment_id.in_(ids[start : start + _BATCH]))
            .execution_options(synchronize_session=False)
        )
        # Webhook bodies, waiting or sent, hold the name and the text.
        db.session.execute(
            delete(WebhookDelivery)
            .where(WebhookDelivery.comment_id.in_(ids[start : start + _BATCH]))
            .execution_options(synchronize_session=False)
        )
        db.session.execute(
            update(Comment)
            .where(Comment.id.in_(ids[start : start + _BATCH]))
            .values(
                status=CommentStatus.DELETED,
                body="",
                html="",
                remote_addr_hash=None,
                idempotency_key=None,
                **forget,
            )
        )
    for thread_id, count in approved.items():
        adjust_approved_count(thread_id, -count)
    return dict(per_site)


def forget_user(user_id: int) -> int:
    """Erase all of a user's comments and delete the account with its linked identities,
    inside the caller's write transaction; returns how many comments."""
    cache.touch_reader(user_id)  # the bulk deletes below pass the ORM by
    removed = erase_comments(Comment.user_id == user_id, user_id=None, provider=None)
    likes.forget_likes_of_user(user_id)
    reports.forget_reports_of_user(user_id)
    _forget_account_addresses(user_id)
    # Identities, sign-in flows and bans go with the user (ON DELETE CASCADE).
    db.session.execute(delete(User).where(User.id == user_id))
    return sum(removed.values())


def _forget_account_addresses(user_id: int, site_ids: set[str] | None = None) -> None:
    """Addresses the account gave for reply mail, unless a guest's requests use them too."""
    stmt = delete(NotificationAddress).where(
        NotificationAddress.user_id == user_id,
        NotificationAddress.id.not_in(select(ReplySubscription.address_id)),
    )
    if site_ids is not None:
        stmt = stmt.where(NotificationAddress.site_id.in_(site_ids))
    db.session.execute(stmt.execution_options(synchronize_session=False))


@writes
def erase_user(user_id: int) -> int:
    """A reader's account and the text of all their comments; returns how many comments."""
    if db.session.get(User, user_id) is None:
        return 0
    removed = forget_user(user_id)
    return removed


_GUEST_FIELDS = {"guest_name": None, "guest_email": None, "guest_website": None}


def forget_guest(email: str, site_ids: set[str] | None = None) -> dict[str, int]:
    """A guest address's comments (name, address, website, text, address hash) and its
    subscriptions, on `site_ids` or everywhere; in the caller's transaction. Returns how
    many comments per site."""
    forms = email_forms(email)
    condition = guest_condition(email)
    thread_ids = select(Thread.id)
    if site_ids is not None:
        thread_ids = thread_ids.where(Thread.site_id.in_(site_ids))
        condition = and_(condition, Comment.thread_id.in_(thread_ids))
    removed = erase_comments(condition, **_GUEST_FIELDS)
    addresses = select(NotificationAddress.id).where(NotificationAddress.email.in_(forms))
    if site_ids is not None:
        addresses = addresses.where(NotificationAddress.site_id.in_(site_ids))
    for model, column in (
        (ReplySubscription, ReplySubscription.address_id),
        (NotificationAddress, NotificationAddress.id),
    ):
        db.session.execute(
            delete(model)
            .where(column.in_(addresses.scalar_subquery()))
            .execution_options(synchronize_session=False)
        )
    db.session.execute(
        delete(Subscription)
        .where(Subscription.email.in_(forms), Subscription.thread_id.in_(thread_ids))
        .execution_options(synchronize_session=False)
    )
    # A ban stays (it keeps out abuse, by a keyed hash of the address), without the name.
    bans = update(Ban).where(Ban.email_hash.in_({email_hash(form) for form in forms}))
    if site_ids is not None:
        bans = bans.where(Ban.site_id.in_(site_ids))
    db.session.execute(bans.values(label=ERASED_LABEL).execution_options(synchronize_session=False))
    if site_ids is None:
        # Mail to the address, waiting or sent (new-comment mail, earlier links).
        db.session.execute(
            delete(OutboxMessage)
            .where(func.lower(OutboxMessage.to).in_(forms))
            .execution_options(synchronize_session=False)
        )
    return removed


@writes
def erase_guest(email: str) -> int:
    """Everything stored under a guest address, on every site; returns how many comments."""
    removed = sum(forget_guest(email).values())
    return removed


@writes
def erase_author(moderator: Moderator, comment_id: int) -> int:
    """A moderator erases the data of a comment's author on the sites they moderate.

    A guest is matched by address (or, with none, only this comment is theirs); a signed-in
    reader by account. Their account goes too unless they wrote on sites the moderator does
    not moderate: those comments are not this moderator's to erase. Logged per site.
    """
    comment = moderation.comment_for_review(moderator, comment_id)
    if comment.moderator_id is not None:
        raise ValidationError("This reply was written as the site, not by a reader.")
    allowed = moderation.site_ids_of(moderator)  # None: every site
    user_id, email, home = comment.user_id, comment.guest_email, comment.thread.site_id
    if user_id is not None:
        condition = Comment.user_id == user_id
        if allowed is not None:
            on_sites = select(Thread.id).where(Thread.site_id.in_(allowed))
            condition = and_(condition, Comment.thread_id.in_(on_sites))
        cache.touch_reader(user_id)  # the bulk deletes below pass the ORM by
        per_site = erase_comments(condition, user_id=None, provider=None)
        _forget_account_addresses(user_id, allowed)
        if not db.session.scalar(
            select(func.count()).select_from(Comment).where(Comment.user_id == user_id)
        ):
            likes.forget_likes_of_user(user_id)
            reports.forget_reports_of_user(user_id)
            db.session.execute(delete(User).where(User.id == user_id))
    elif email:
        per_site = forget_guest(email, allowed)
    else:
        per_site = erase_comments(Comment.id == comment.id, **_GUEST_FIELDS)
    for site_id, count in sorted(per_site.items()):
        # Never the author's name: the log must not keep what was just erased.
        moderation.audit_entry(
            site_id,
            comment if site_id == home else None,
            moderator,
            "erase",
            detail=f"Erased an author's data: {count} comment(s)",
        )
    return sum(per_site.values())
