"""Readers' accounts: signing in with a provider, linking providers, erasing on request."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace

from sqlalchemy import select

from app.database import begin_write
from app.domain.names import strip_invisible
from app.extensions import db
from app.models import Comment, DataDeletion, Identity, Thread, User
from app.models.types import utcnow
from app.services import cache, privacy
from app.services.hashing import keyed_hash


@dataclass(frozen=True)
class Profile:
    """What a provider tells us about a reader, already parsed."""

    provider: str
    provider_user_id: str
    name: str
    handle: str | None = None
    avatar_url: str | None = None


def sign_in(profile: Profile, *, link_to: int | None = None) -> User:
    """The user behind this provider account, created on first sign-in.

    Accounts are linked only when a signed-in reader asks (`link_to`), never by email: an
    address a provider did not verify would let anyone take over an account.
    """
    # Names are shown beside comments: no bidi overrides or hidden characters in them.
    profile = replace(
        profile,
        name=strip_invisible(profile.name),
        handle=strip_invisible(profile.handle) if profile.handle else profile.handle,
    )
    begin_write()
    identity = db.session.scalar(
        select(Identity).where(
            Identity.provider == profile.provider,
            Identity.provider_user_id == profile.provider_user_id,
        )
    )
    if identity is None:
        user = db.session.get(User, link_to) if link_to is not None else None
        if user is None:
            user = User(display_name=profile.name[:100])
            db.session.add(user)
            db.session.flush()
        identity = Identity(
            user_id=user.id, provider=profile.provider, provider_user_id=profile.provider_user_id
        )
        db.session.add(identity)
    else:
        # The account already belongs to someone: sign in as them, never merge two users.
        user = db.session.get(User, identity.user_id)
    identity.profile = {
        "name": profile.name,
        "handle": profile.handle,
        "avatar": profile.avatar_url,
    }
    shown = (user.display_name, user.avatar_url)
    user.display_name = profile.name[:100]
    user.handle = (profile.handle or "")[:100] or None
    user.avatar_url = profile.avatar_url if _is_https(profile.avatar_url) else None
    if shown != (user.display_name, user.avatar_url) and user.id is not None:
        _touch_threads_of(user.id)  # their name and picture are on cached pages
    db.session.commit()
    return user


def erase_provider_user(provider: str, provider_user_id: str) -> int:
    """Remove the user behind a provider account and the text of their comments.

    Returns how many comments were removed. Replies by others keep their place under a
    "deleted" placeholder (see `privacy.erase_user`, which does the work).
    """
    user_id = db.session.scalar(
        select(Identity.user_id).where(
            Identity.provider == provider, Identity.provider_user_id == provider_user_id
        )
    )
    return privacy.erase_user(user_id) if user_id is not None else 0


def _touch_threads_of(user_id: int) -> None:
    for site_id, thread_id in db.session.execute(
        select(Thread.site_id, Thread.id)
        .join(Comment, Comment.thread_id == Thread.id)
        .where(Comment.user_id == user_id)
        .distinct()
    ):
        cache.touch_thread(site_id, thread_id)


def _is_https(url: str | None) -> bool:
    return bool(url) and url.startswith("https://") and len(url) <= 1000


def erase_on_request(provider: str, provider_user_id: str) -> DataDeletion:
    """Erase at a provider's request and keep a receipt the provider's user can look up."""
    removed = erase_provider_user(provider, provider_user_id)
    record = DataDeletion(
        confirmation_code=secrets.token_hex(10),
        provider=provider,
        provider_user_hash=keyed_hash("provider-user", f"{provider}:{provider_user_id}"),
        comments_removed=removed,
        completed_at=utcnow(),
    )
    db.session.add(record)
    db.session.commit()
    return record


def deletion_record(code: str) -> DataDeletion | None:
    return db.session.get(DataDeletion, code) if len(code) <= 64 else None
