"""Readers' accounts: signing in with a provider, linking providers, erasing on request."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app.database import writes
from app.domain.errors import InvalidSignedRequest
from app.domain.names import strip_invisible
from app.extensions import db
from app.models import Comment, DataDeletion, Identity, Thread, UsedSignedRequest, User
from app.models.types import utcnow
from app.services import cache, privacy
from app.services.hashing import keyed_hash

# A provider signs a deletion request as it sends it: one issued longer ago than this is a copy
# kept and sent again. Clocks differ a little, so one may seem to come from just ahead.
SIGNED_REQUEST_MAX_AGE = timedelta(hours=1)
CLOCK_SKEW = timedelta(minutes=5)
# Signing in with a mailed link tells us an address, and a name only from its local part.
NAMELESS_PROVIDER = "email"


@dataclass(frozen=True)
class Profile:
    """What a provider tells us about a reader, already parsed."""

    provider: str
    provider_user_id: str
    name: str
    handle: str | None = None
    avatar_url: str | None = None
    profile_url: str | None = None  # the reader's page at the provider, where it has one


@writes
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
    identity = db.session.scalar(
        select(Identity).where(
            Identity.provider == profile.provider,
            Identity.provider_user_id == profile.provider_user_id,
        )
    )
    created = False
    if identity is None:
        user = db.session.get(User, link_to) if link_to is not None else None
        if user is None:
            user = User(display_name=profile.name[:100])
            db.session.add(user)
            db.session.flush()
            created = True
        identity = Identity(
            user_id=user.id, provider=profile.provider, provider_user_id=profile.provider_user_id
        )
        db.session.add(identity)
    else:
        # The account already belongs to someone: sign in as them, never merge two users.
        user = db.session.get_one(User, identity.user_id)
    identity.profile = {
        "name": profile.name,
        "handle": profile.handle,
        "avatar": profile.avatar_url,
        "url": profile.profile_url if _is_https(profile.profile_url) else None,
    }
    if profile.provider == NAMELESS_PROVIDER and not created:
        # An address names nobody: the reader keeps the name they already have.
        return user
    shown = (user.display_name, user.avatar_url)
    user.display_name = profile.name[:100]
    user.handle = (profile.handle or "")[:100] or None
    user.avatar_url = profile.avatar_url if _is_https(profile.avatar_url) else None
    if shown != (user.display_name, user.avatar_url) and user.id is not None:
        _touch_threads_of(user.id)  # their name and picture are on cached pages
    return user


@writes
def erase_provider_user(provider: str, provider_user_id: str) -> int:
    """Remove the user behind a provider account and the text of their comments.

    Returns how many comments were removed. Replies by others keep their place under a
    "deleted" placeholder (see `privacy.erase_user`, which does the work).
    """
    user_id = _user_of(provider, provider_user_id)
    return privacy.erase_user(user_id) if user_id is not None else 0


def _user_of(provider: str, provider_user_id: str) -> int | None:
    return db.session.scalar(
        select(Identity.user_id).where(
            Identity.provider == provider, Identity.provider_user_id == provider_user_id
        )
    )


def _touch_threads_of(user_id: int) -> None:
    for site_id, thread_id in db.session.execute(
        select(Thread.site_id, Thread.id)
        .join(Comment, Comment.thread_id == Thread.id)
        .where(Comment.user_id == user_id)
        .distinct()
    ):
        cache.touch_thread(site_id, thread_id)


def _is_https(url: str | None) -> bool:
    return url is not None and url.startswith("https://") and len(url) <= 1000


@writes
def erase_on_request(
    provider: str, provider_user_id: str, *, signature: str, issued_at: datetime
) -> DataDeletion:
    """Erase at a provider's signed request and keep a receipt the provider's user can look up.

    A request is acted on once, and only while fresh: whoever kept a copy (from a log, say)
    must not erase the account its owner opened again since. The request is recorded first,
    in the transaction that erases, so that of two copies arriving together one is refused
    before it erases anything.
    """
    now = utcnow()
    if not now - SIGNED_REQUEST_MAX_AGE <= issued_at <= now + CLOCK_SKEW:
        raise InvalidSignedRequest("The signed_request is too old, or from the future.")
    try:
        with db.session.begin_nested():
            db.session.add(
                UsedSignedRequest(
                    signature_hash=keyed_hash("signed-request", f"{provider}:{signature}"),
                    issued_at=issued_at,
                )
            )
    except IntegrityError:
        raise InvalidSignedRequest("This signed_request was already acted on.") from None
    user_id = _user_of(provider, provider_user_id)
    removed = privacy.forget_user(user_id) if user_id is not None else 0
    record = DataDeletion(
        confirmation_code=secrets.token_hex(10),
        provider=provider,
        provider_user_hash=keyed_hash("provider-user", f"{provider}:{provider_user_id}"),
        comments_removed=removed,
        completed_at=utcnow(),
    )
    db.session.add(record)
    return record


@writes
def prune_used_requests() -> int:
    """Forget used signed requests too old to be accepted again anyway; returns how many."""
    pruned: int = db.session.execute(  # type: ignore[attr-defined]  # DML answers a CursorResult
        delete(UsedSignedRequest)
        .where(UsedSignedRequest.issued_at < utcnow() - SIGNED_REQUEST_MAX_AGE)
        .execution_options(synchronize_session=False)
    ).rowcount
    return pruned


def deletion_record(code: str) -> DataDeletion | None:
    return db.session.get(DataDeletion, code) if len(code) <= 64 else None
