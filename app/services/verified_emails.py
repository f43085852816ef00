"""Guests who proved their address own the comments they wrote with it.

A guest's comment carries the address they typed, which anyone can type. Once its owner
proves it theirs (signing in with email, or a confirmation link mailed to it), the comments
it wrote on that site until then are marked verified: they show so to everyone, and the
reader signed in with that address may edit and delete them from any device. Comments typed
with the address afterwards by someone not signed in are not: the proof covers only what was
there when it was asked for, and a reader who is signed in posts as their account anyway.

Nothing is stored beyond the mark: the address was on the comment already, and the signed-in
reader's is their identity's (provider `email`, the normalized address).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ColumnElement, select, update

from app.database import writes
from app.extensions import db
from app.models import Comment, Identity, Thread
from app.services import cache

EMAIL_PROVIDER = "email"


@writes
def confirm(site_id: str, email: str, *, before: datetime) -> int:
    """Mark the site's guest comments by `email` written up to `before`; returns how many.

    `email` as comments store it (policy.clean_email: normalized, lower-cased).
    """
    threads = select(Thread.id).where(Thread.site_id == site_id)
    touched = db.session.execute(
        update(Comment)
        .where(
            Comment.guest_email == email,
            Comment.user_id.is_(None),
            Comment.moderator_id.is_(None),
            Comment.email_verified.is_(False),
            Comment.created_at <= before,
            Comment.thread_id.in_(threads),
        )
        .values(email_verified=True)
        .returning(Comment.thread_id)
        .execution_options(synchronize_session=False)
    ).scalars()
    thread_ids = list(touched)
    for thread_id in set(thread_ids):
        cache.touch_thread(site_id, thread_id)  # the mark is on cached pages
    return len(thread_ids)


def addresses_of(user_id: int) -> frozenset[str]:
    """The addresses a reader signed in with (their `email` identities)."""
    return frozenset(
        db.session.scalars(
            select(Identity.provider_user_id).where(
                Identity.user_id == user_id, Identity.provider == EMAIL_PROVIDER
            )
        )
    )


def verified_guest_comments(emails: Collection[str]) -> ColumnElement[bool]:
    """SQL for the verified guest comments by these addresses: a reader's who proved them."""
    return (
        Comment.email_verified.is_(True)
        & Comment.user_id.is_(None)
        & Comment.moderator_id.is_(None)
        & Comment.guest_email.in_(emails)
    )
