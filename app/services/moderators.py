"""Moderator accounts."""

from __future__ import annotations

import hmac
import secrets

from flask import render_template
from sqlalchemy import delete, or_, select, update
from werkzeug.security import check_password_hash

from app.database import writes
from app.domain.errors import LinkExpired, LinkInvalid, NotFound, ValidationError
from app.domain.policy import clean_email, is_id
from app.domain.roles import Role
from app.extensions import db
from app.models import Moderator, ModeratorIdentity, moderator_sites
from app.services import cache, links, mail
from app.services.hashing import keyed_hash
from app.services.identities import Profile
from app.services.sites import get_site

PASSWORD_MIN = 10


def create_moderator(email: str, password: str, *, site_ids: list[str] | None = None) -> Moderator:
    """A moderator of the given sites, or of every site when none are given."""
    email = clean_email(email)
    _check_password_length(password, field="password")
    # Hashed before the write begins: scrypt takes a tenth of a second, too long to hold
    # SQLite's write lock for.
    return _add_moderator(email, Moderator.hash_password(password), list(site_ids or []))


@writes
def _add_moderator(email: str, password_hash: str, site_ids: list[str]) -> Moderator:
    if db.session.scalar(select(Moderator).where(Moderator.email == email)):
        raise ValidationError("A moderator with that email already exists.", field="email")
    sites = [get_site(site_id) for site_id in site_ids]
    moderator = Moderator(email=email, all_sites=not sites, sites=sites)
    moderator.password_hash = password_hash
    db.session.add(moderator)
    return moderator


def check_password_length(password: str, *, field: str) -> None:
    """Raises ValidationError, naming `field`, for a password too short to keep."""
    _check_password_length(password, field=field)


def _check_password_length(password: str, *, field: str) -> None:
    if len(password) < PASSWORD_MIN:
        raise ValidationError(f"A password needs at least {PASSWORD_MIN} characters.", field=field)


# Compared against when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = Moderator.hash_password("afterword-timing-equalizer")
NOTIFY_CHOICES = ("each", "digest", "off")


def authenticate(email: str, password: str) -> Moderator | None:
    moderator: Moderator | None = db.session.scalar(
        select(Moderator).where(Moderator.email == (email or "").strip().lower())
    )
    if moderator is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return moderator if moderator.check_password(password) else None


def find_by_email(email: str) -> Moderator:
    moderator: Moderator | None = db.session.scalar(
        select(Moderator).where(Moderator.email == (email or "").strip().lower())
    )
    if moderator is None:
        raise NotFound("No moderator has that email.", field="email")
    return moderator


def signed_in(session_id: str) -> Moderator | None:
    """The moderator a session names (Moderator.get_id), unless that session was ended since.

    An id without a version is from before versions existed, and is ended too."""
    moderator_id, _, version = session_id.partition(":")
    if not (moderator_id.isdigit() and version.isdigit()):
        return None
    moderator = db.session.get(Moderator, int(moderator_id))
    if moderator is None or moderator.session_version != int(version):
        return None
    return moderator


@writes
def end_sessions(moderator: Moderator) -> None:
    """Sign the moderator out everywhere, wherever a session cookie was copied to."""
    _raise_session_version(moderator)


def set_password(moderator: Moderator, password: str) -> None:
    """A new password (a reset): every session made with the old one ends with it."""
    _check_password_length(password, field="new_password")
    _store_password(
        moderator, Moderator.hash_password(password)
    )  # hashed outside the write, as above


@writes
def _store_password(moderator: Moderator, password_hash: str) -> None:
    moderator.password_hash = password_hash
    _raise_session_version(moderator)


def change_password(moderator: Moderator, current: str, new: str) -> None:
    """The moderator's own change; the caller signs the current session in again."""
    if not moderator.check_password(current):
        raise ValidationError("That is not your current password.", field="current_password")
    set_password(moderator, new)


RESET_SECONDS = links.PASSWORD_RESET.max_age or 0
RESET_USED = "This link was already used. Ask for a new one from the sign-in page."
RESET_STALE = "This link no longer works: the password was changed since it was sent."


@writes
def request_password_reset(email: str) -> bool:
    """Mail a link to set a new password, if `email` is a moderator's; True if one was queued.

    Callers answer the same either way, so nobody learns whether an address has an account.
    An address past its limit (RATELIMIT_RECIPIENT) gets nothing more, and the caller still
    answers the same.
    """
    address = (email or "").strip().lower()
    moderator: Moderator | None = db.session.scalar(
        select(Moderator).where(Moderator.email == address)
    )
    # Counted and written for unknown addresses too (only not queued), so that the time the
    # answer takes tells as little as the answer does.
    allowed = bool(address) and mail.recipient_allows("password-reset", address)
    payload = {
        "m": moderator.id if moderator else 0,
        "p": _password_mark(moderator) if moderator else "",
        "j": secrets.token_urlsafe(16),
    }
    link = links.public_url(
        "dashboard.reset_password", token=links.sign(links.PASSWORD_RESET, payload)
    )
    context = {"link": link, "minutes": RESET_SECONDS // 60}
    text = render_template("mail/password_reset.txt", **context)
    html = render_template("mail/password_reset.html", **context)
    if moderator is None or not allowed:
        return False
    mail.enqueue(moderator.email, "Set a new password for the Afterword dashboard", text, html)
    return True


def _password_mark(moderator: Moderator) -> str:
    """Binds a reset link to the password it replaces: once that changed, the link is dead.
    A keyed hash of the hash, so that the link shows nothing of the hash itself."""
    return keyed_hash("password-reset", moderator.password_hash)[:24]


def reset_link_moderator(token: str) -> Moderator:
    """The moderator a reset link is for, while it may still set a password.

    Raises LinkInvalid for a link that is not genuine, LinkExpired for one that is too old,
    was used, or was made before the password last changed.
    """
    moderator, _ = _read_reset_link(token)
    return moderator


def _read_reset_link(token: str) -> tuple[Moderator, str]:
    data = links.load(links.PASSWORD_RESET, token)
    try:
        moderator_id, mark, jti = int(data["m"]), str(data["p"]), str(data["j"])
    except (KeyError, TypeError, ValueError):
        raise LinkInvalid("This link is not valid.") from None
    moderator = db.session.get(Moderator, moderator_id)
    if moderator is None:
        raise LinkInvalid("This link is not valid.")
    if links.was_used(links.PASSWORD_RESET, jti):
        raise LinkExpired(RESET_USED)
    if not hmac.compare_digest(mark, _password_mark(moderator)):
        raise LinkExpired(RESET_STALE)
    return moderator, jti


@writes
def reset_password(token: str, password: str) -> Moderator:
    """Set a new password with a mailed link, once; every session ends (`set_password`)."""
    moderator, jti = _read_reset_link(token)
    links.use_once(links.PASSWORD_RESET, jti, used=RESET_USED)
    set_password(moderator, password)
    return moderator


def raise_session_version(moderator: Moderator) -> None:
    """End every session of the moderator, in the caller's write transaction."""
    _raise_session_version(moderator)


def _raise_session_version(moderator: Moderator) -> None:
    # In SQL, so that two sign-outs at once both count.
    db.session.execute(
        update(Moderator)
        .where(Moderator.id == moderator.id)
        .values(session_version=Moderator.session_version + 1)
    )


@writes
def set_notify(moderator: Moderator, notify: str) -> None:
    if notify not in NOTIFY_CHOICES:
        raise ValidationError("Choose each, digest or off.", field="notify")
    moderator.notify = notify


def find_by_identity(profile: Profile) -> Moderator | None:
    """The moderator who linked this provider account, if any. Never matched by email."""
    link = db.session.scalar(
        select(ModeratorIdentity).where(
            ModeratorIdentity.provider == profile.provider,
            ModeratorIdentity.provider_user_id == profile.provider_user_id,
        )
    )
    return db.session.get(Moderator, link.moderator_id) if link else None


@writes
def link_identity(moderator: Moderator, profile: Profile) -> ModeratorIdentity:
    existing = find_by_identity(profile)
    if existing is not None and existing.id != moderator.id:
        raise ValidationError("That account is already linked to another moderator.")
    link = db.session.scalar(
        select(ModeratorIdentity).where(
            ModeratorIdentity.provider == profile.provider,
            ModeratorIdentity.provider_user_id == profile.provider_user_id,
        )
    ) or ModeratorIdentity(
        moderator_id=moderator.id,
        provider=profile.provider,
        provider_user_id=profile.provider_user_id,
    )
    link.name = profile.name[:100]
    link.handle = profile.handle[:255] if profile.handle else None
    db.session.add(link)
    return link


def linked_identities(moderator: Moderator) -> list[ModeratorIdentity]:
    return list(
        db.session.scalars(
            select(ModeratorIdentity)
            .where(ModeratorIdentity.moderator_id == moderator.id)
            .order_by(ModeratorIdentity.provider)
        )
    )


def names_on_site(site_id: str) -> list[str]:
    """The names the site's moderators are known by: those of the provider accounts they
    linked (a moderator has no other name; replies as the site carry the site's name)."""
    return list(
        db.session.scalars(
            select(ModeratorIdentity.name)
            .join(Moderator, Moderator.id == ModeratorIdentity.moderator_id)
            .where(
                ModeratorIdentity.name != "",
                or_(
                    Moderator.all_sites.is_(True),
                    Moderator.id.in_(
                        select(moderator_sites.c.moderator_id).where(
                            moderator_sites.c.site_id == site_id
                        )
                    ),
                ),
            )
            .distinct()
        )
    )


@writes
def unlink_identity(moderator: Moderator, link_id: int) -> None:
    link = db.session.get(ModeratorIdentity, link_id) if is_id(link_id) else None
    if link is None or link.moderator_id != moderator.id:
        raise NotFound("There is no such linked account.")
    db.session.delete(link)


def list_moderators() -> list[tuple[Moderator, list[tuple[str, Role]]]]:
    """Every moderator with the ids of their sites and their role on each (empty: every
    site, as an owner, for a moderator of every site)."""
    moderators = list(db.session.scalars(select(Moderator).order_by(Moderator.email)))
    rows = db.session.execute(
        select(moderator_sites.c.moderator_id, moderator_sites.c.site_id, moderator_sites.c.role)
    )
    grants: dict[int, list[tuple[str, Role]]] = {}
    for moderator_id, site_id, role in rows:
        grants.setdefault(moderator_id, []).append((site_id, Role(role)))
    return [(m, sorted(grants.get(m.id, []))) for m in moderators]


@writes
def remove_moderator(email: str) -> None:
    """Delete a moderator account; their sessions end with it (the cookie names no one)."""
    moderator = find_by_email(email)
    # By statement: the database drops their site grants and linked accounts (ON DELETE
    # CASCADE), and the audit log keeps their email with the moderator id set to NULL.
    db.session.execute(delete(Moderator).where(Moderator.id == moderator.id))


@writes
def add_site(email: str, site_id: str, role: Role = Role.OWNER) -> Moderator:
    """Let a moderator of some sites moderate one more, in `role`; on a site they already
    have, their role there becomes `role`."""
    moderator = find_by_email(email)
    site = get_site(site_id)
    if moderator.all_sites:
        return moderator
    grant(moderator, site.id, role)
    return moderator


def grant(moderator: Moderator, site_id: str, role: Role) -> None:
    """Give the moderator `role` on the site, in the caller's write transaction."""
    # The table is written without the ORM, which would have marked this for the flush.
    cache.touch_moderators()
    where = (moderator_sites.c.moderator_id == moderator.id) & (
        moderator_sites.c.site_id == site_id
    )
    if db.session.scalar(select(moderator_sites.c.role).where(where)) is None:
        db.session.execute(
            moderator_sites.insert().values(
                moderator_id=moderator.id, site_id=site_id, role=role.value
            )
        )
    else:
        db.session.execute(update(moderator_sites).where(where).values(role=role.value))
