"""People's own data: getting a copy of it and having it erased.

A signed-in reader acts with their bearer token; a guest proves they own an address through a
link mailed to it; a moderator erases an author's data on the sites they moderate. Erasing
keeps a comment's row as a "deleted" placeholder, so replies by others keep their place, but
nothing in it says who wrote it or what.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app, render_template
from sqlalchemy import ColumnElement, and_, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.database import begin_write
from app.domain import policy
from app.domain.errors import LinkExpired, LinkInvalid, ValidationError
from app.domain.states import CommentStatus
from app.extensions import db
from app.models import (
    Ban,
    Comment,
    Identity,
    Moderator,
    OutboxMessage,
    Site,
    Subscription,
    Thread,
    UsedActionToken,
    User,
)
from app.models.types import utcnow
from app.services import cache, mail, moderation
from app.services.hashing import email_hash, keyed_hash
from app.services.threads import adjust_approved_count

FORMAT = "afterword-personal-data"
VERSION = 1
LINK_SECONDS = 24 * 3600  # long enough to find the mail tomorrow morning, not a standing key
TOKEN_MAX = 1000
ERASED_LABEL = "(erased on request)"
_BATCH = 500  # ids per UPDATE, well under every backend's limit on bound parameters


@dataclass(frozen=True)
class GuestLink:
    email: str
    jti: str  # recorded when the link is used to erase, so that it erases only once


# --- reading ------------------------------------------------------------------------------


def email_forms(email: str) -> set[str]:
    """The ways an address may be stored: as the widget normalizes it, and as imports do."""
    plain = email.strip().lower()
    try:
        return {policy.clean_email(email), plain}
    except ValidationError:
        return {plain}


def _guest_condition(email: str) -> ColumnElement[bool]:
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
    return _comments(_guest_condition(email))


def subscriptions_of_email(email: str) -> list[tuple[Subscription, Thread]]:
    rows = db.session.execute(
        select(Subscription, Thread)
        .join(Thread, Subscription.thread_id == Thread.id)
        .where(Subscription.email.in_(email_forms(email)))
        .order_by(Subscription.created_at, Subscription.id)
    )
    return [(subscription, thread) for subscription, thread in rows]


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
    else:
        assert email is not None  # exactly one of the two, checked above
        data["email"] = email
        comments = comments_of_email(email)
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
    data["comments"] = [_comment_out(c) for c in comments]
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


# --- erasing ------------------------------------------------------------------------------


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
    for start in range(0, len(ids), _BATCH):
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
    removed = erase_comments(Comment.user_id == user_id, user_id=None, provider=None)
    # Identities, sign-in flows and bans go with the user (ON DELETE CASCADE).
    db.session.execute(delete(User).where(User.id == user_id))
    return sum(removed.values())


def erase_user(user_id: int) -> int:
    """A reader's account and the text of all their comments; returns how many comments."""
    begin_write()
    if db.session.get(User, user_id) is None:
        db.session.commit()
        return 0
    removed = forget_user(user_id)
    db.session.commit()
    return removed


_GUEST_FIELDS = {"guest_name": None, "guest_email": None, "guest_website": None}


def _forget_guest(email: str, site_ids: set[str] | None = None) -> dict[str, int]:
    """A guest address's comments (name, address, website, text, address hash) and its
    subscriptions, on `site_ids` or everywhere; in the caller's transaction. Returns how
    many comments per site."""
    forms = email_forms(email)
    condition = _guest_condition(email)
    thread_ids = select(Thread.id)
    if site_ids is not None:
        thread_ids = thread_ids.where(Thread.site_id.in_(site_ids))
        condition = and_(condition, Comment.thread_id.in_(thread_ids))
    removed = erase_comments(condition, **_GUEST_FIELDS)
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


def erase_guest(email: str) -> int:
    """Everything stored under a guest address, on every site; returns how many comments."""
    begin_write()
    removed = sum(_forget_guest(email).values())
    db.session.commit()
    return removed


def erase_author(moderator: Moderator, comment_id: int) -> int:
    """A moderator erases the data of a comment's author on the sites they moderate.

    A guest is matched by address (or, with none, only this comment is theirs); a signed-in
    reader by account. Their account goes too unless they wrote on sites the moderator does
    not moderate: those comments are not this moderator's to erase. Logged per site.
    """
    begin_write()
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
        per_site = erase_comments(condition, user_id=None, provider=None)
        if not db.session.scalar(
            select(func.count()).select_from(Comment).where(Comment.user_id == user_id)
        ):
            db.session.execute(delete(User).where(User.id == user_id))
    elif email:
        per_site = _forget_guest(email, allowed)
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
    db.session.commit()
    return sum(per_site.values())


# --- links mailed to guests ---------------------------------------------------------------


def _fernet() -> Fernet:
    # Encrypted, not only signed: a signed token would carry the address readable in the
    # URL, and URLs end up in logs and browser histories. Fernet also signs and dates it.
    key = bytes.fromhex(keyed_hash("privacy-link", "fernet-key"))
    return Fernet(base64.urlsafe_b64encode(key))


def make_guest_token(email: str) -> str:
    payload = json.dumps({"e": email, "j": secrets.token_urlsafe(16)}).encode()
    return _fernet().encrypt(payload).decode()


def read_guest_token(token: str) -> GuestLink:
    """The address a link is for; LinkExpired after LINK_SECONDS, LinkInvalid if tampered."""
    raw = token.encode()
    try:
        if len(token) > TOKEN_MAX:
            raise InvalidToken
        data = json.loads(_fernet().decrypt(raw, ttl=LINK_SECONDS))
        return GuestLink(email=str(data["e"]), jti=str(data["j"]))
    except InvalidToken:
        pass
    except (ValueError, KeyError, TypeError):
        raise LinkInvalid("This link is not valid.") from None
    try:
        _fernet().extract_timestamp(raw)  # checks the signature: only the time ran out
    except InvalidToken:
        raise LinkInvalid("This link is not valid.") from None
    raise LinkExpired("This link has expired. Ask for a new one from the comments.")


def _used_key(link: GuestLink) -> str:
    return f"privacy:{link.jti}"


def link_used(link: GuestLink) -> bool:
    return db.session.get(UsedActionToken, _used_key(link)) is not None


def erase_with_link(link: GuestLink) -> int:
    """Erase once per link: its id is recorded in the same transaction as the erasure."""
    begin_write()
    db.session.add(UsedActionToken(jti=_used_key(link)))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise LinkExpired("This link was already used to delete your comments.") from None
    removed = sum(_forget_guest(link.email).values())
    db.session.commit()
    return removed


def request_guest_link(email: object, site: Site) -> bool:
    """Mail a link to the guest page when the address has data here; True if one was queued.

    Callers answer the same either way, so nobody learns whether an address wrote anything;
    the mail is prepared and counted against the address's limit (RATELIMIT_RECIPIENT)
    either way too, so that the time taken tells little more. Past that limit nothing is
    queued, and the caller still answers the same.
    Raises ValidationError for something that is not an email address.
    """
    address = policy.clean_email(email)
    allowed = mail.recipient_allows("privacy-link", address)
    link = f"{current_app.config['PUBLIC_URL']}/privacy/{make_guest_token(address)}"
    context = {"site": site, "link": link, "hours": LINK_SECONDS // 3600}
    text = render_template("mail/privacy_link.txt", **context)
    html = render_template("mail/privacy_link.html", **context)
    begin_write()
    has_data = db.session.scalar(
        select(func.count()).select_from(Comment).where(_guest_condition(address))
    ) or db.session.scalar(
        select(func.count())
        .select_from(Subscription)
        .where(Subscription.email.in_(email_forms(address)))
    )
    if has_data and allowed:
        mail.enqueue(address, f"[{site.name}] Your comments: download or delete them", text, html)
    db.session.commit()
    return bool(has_data and allowed)
