"""Who moderates a site, in which role: the owners' section of a site's page, and the
invitations they mail.

Every change is the owner's (app.domain.roles) and lands in the site's audit log. A site
always keeps an owner: the last one can be neither removed nor made a moderator. An invite
is a one-time link whose token is kept only as a keyed hash; opening it changes nothing
(mail scanners follow links), the invitee's POST accepts it, once, before it expires.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import render_template
from sqlalchemy import ColumnElement, delete, func, or_, select, update

from app.database import writes
from app.domain.errors import LinkExpired, LinkInvalid, NotFound, ValidationError
from app.domain.policy import clean_email, is_id
from app.domain.roles import Role, SiteAction
from app.extensions import db
from app.models import Moderator, ModeratorInvite, Site, moderator_sites
from app.models.types import utcnow
from app.services import links, mail, moderators
from app.services.hashing import keyed_hash
from app.services.moderation import record_action, require_owner
from app.services.sites import get_site

INVITE_DAYS = 7  # a week: time to find the mail after a weekend, not a standing key
# Open invitations a site may have at once: an owner's session cannot become a mail cannon.
OPEN_INVITES_MAX = 20
INVITE_USED = "This invitation was already used. Sign in instead."
INVITE_EXPIRED = "This invitation has expired. Ask the site's owner for a new one."
LAST_OWNER = "A site needs an owner: make someone else owner first."


@dataclass(frozen=True)
class SiteModerator:
    """One line of a site's moderators: `every_site` ones are owners of every site, whose
    role only `flask moderator` changes."""

    id: int
    email: str
    role: Role
    every_site: bool


def site_moderators(owner: Moderator, site_id: str) -> list[SiteModerator]:
    """The site's moderators, owners first, then by email."""
    require_owner(owner, site_id, SiteAction.MODERATORS)
    granted = db.session.execute(
        select(Moderator.id, Moderator.email, moderator_sites.c.role)
        .join(moderator_sites, moderator_sites.c.moderator_id == Moderator.id)
        .where(moderator_sites.c.site_id == site_id, Moderator.all_sites.is_(False))
    )
    rows = [SiteModerator(i, email, Role(role), False) for i, email, role in granted]
    everywhere = db.session.execute(
        select(Moderator.id, Moderator.email).where(Moderator.all_sites.is_(True))
    )
    rows += [SiteModerator(i, email, Role.OWNER, True) for i, email in everywhere]
    return sorted(rows, key=lambda row: (row.role is not Role.OWNER, row.email))


def open_invites(owner: Moderator, site_id: str) -> list[ModeratorInvite]:
    require_owner(owner, site_id, SiteAction.MODERATORS)
    return list(
        db.session.scalars(
            select(ModeratorInvite)
            .where(ModeratorInvite.site_id == site_id, _is_open())
            .order_by(ModeratorInvite.created_at.desc(), ModeratorInvite.id.desc())
        )
    )


def _is_open() -> ColumnElement[bool]:
    return (ModeratorInvite.used_at.is_(None)) & (ModeratorInvite.expires_at > utcnow())


@writes
def invite(owner: Moderator, site_id: str, email: str, role: Role) -> ModeratorInvite:
    """Mail `email` a link to moderate the site as `role`; an open invite for the same
    address is replaced (its link stops working)."""
    require_owner(owner, site_id, SiteAction.MODERATORS)
    site = get_site(site_id, for_update=True)  # counts and replaces under one lock
    address = clean_email(email)
    existing = db.session.scalar(select(Moderator).where(Moderator.email == address))
    if existing is not None and (existing.all_sites or _role_of(existing.id, site.id)):
        raise ValidationError("That address moderates this site already.", field="email")
    db.session.execute(
        delete(ModeratorInvite).where(
            ModeratorInvite.site_id == site.id,
            ModeratorInvite.email == address,
            ModeratorInvite.used_at.is_(None),
        )
    )
    still_open = db.session.scalar(
        select(func.count(ModeratorInvite.id)).where(ModeratorInvite.site_id == site.id, _is_open())
    )
    if (still_open or 0) >= OPEN_INVITES_MAX:
        raise ValidationError(
            f"This site has {OPEN_INVITES_MAX} open invitations: cancel one first.",
            field="email",
        )
    if not mail.recipient_allows("moderator-invite", address):
        raise ValidationError(
            "That address was sent enough mail for now: try again later.", field="email"
        )
    token = secrets.token_urlsafe(32)
    row = ModeratorInvite(
        site_id=site.id,
        email=address,
        role=role.value,
        token_hash=_token_hash(token),
        invited_by_id=owner.id,
        expires_at=utcnow() + timedelta(days=INVITE_DAYS),
    )
    db.session.add(row)
    _mail_invite(site, address, role, token, known=existing is not None)
    record_action(site.id, None, owner, "invite", detail=f"invited {address} as {role.value}")
    return row


def _mail_invite(site: Site, address: str, role: Role, token: str, *, known: bool) -> None:
    # Names go in as text: Jinja escapes them in the HTML part (autoescape, .html), and
    # header_text keeps each on one bounded line in both parts, so a site name can neither
    # add markup nor lines of its own (a fake link, a "reply to" paragraph).
    context = {
        "link": links.public_url("dashboard.accept_invite", token=token),
        "site_name": mail.header_text(site.name, 100),
        "email": mail.header_text(address, 254),
        "role": role.value,
        "days": INVITE_DAYS,
        "known": known,
    }
    mail.enqueue(
        address,
        f"You are invited to moderate {site.name} on Afterword",
        render_template("mail/moderator_invite.txt", **context),
        render_template("mail/moderator_invite.html", **context),
    )


@writes
def cancel_invite(owner: Moderator, site_id: str, invite_id: int) -> None:
    require_owner(owner, site_id, SiteAction.MODERATORS)
    row = db.session.get(ModeratorInvite, invite_id) if is_id(invite_id) else None
    if row is None or row.site_id != site_id or row.used_at is not None:
        raise NotFound("There is no such invitation.")
    db.session.delete(row)
    record_action(site_id, None, owner, "invite", detail=f"cancelled invite of {row.email}")


@writes
def set_role(owner: Moderator, site_id: str, moderator_id: int, role: Role) -> Moderator:
    require_owner(owner, site_id, SiteAction.MODERATORS)
    get_site(site_id, for_update=True)  # the last-owner check holds while we change it
    target, current = _granted(site_id, moderator_id)
    if current is role:
        return target
    if current is Role.OWNER and _owner_count(site_id) <= 1:
        raise ValidationError(LAST_OWNER, field="role")
    moderators.grant(target, site_id, role)
    record_action(site_id, None, owner, "role", detail=f"{target.email} is now {role.value}")
    return target


@writes
def remove(owner: Moderator, site_id: str, moderator_id: int) -> Moderator:
    """Take the site from a moderator; every session of theirs ends, so that a page they
    have open stops working at once rather than at their next sign-in."""
    require_owner(owner, site_id, SiteAction.MODERATORS)
    get_site(site_id, for_update=True)
    target, current = _granted(site_id, moderator_id)
    if current is Role.OWNER and _owner_count(site_id) <= 1:
        raise ValidationError(LAST_OWNER)
    db.session.execute(
        delete(moderator_sites).where(
            moderator_sites.c.moderator_id == target.id, moderator_sites.c.site_id == site_id
        )
    )
    moderators.raise_session_version(target)
    record_action(site_id, None, owner, "remove", detail=f"removed {target.email}")
    return target


def _granted(site_id: str, moderator_id: int) -> tuple[Moderator, Role]:
    """A moderator granted this site (not one of every site, whom the CLI manages)."""
    target = db.session.get(Moderator, moderator_id) if is_id(moderator_id) else None
    role = _role_of(target.id, site_id) if target is not None else None
    if target is None or role is None or target.all_sites:
        raise NotFound("That is not a moderator of this site.")
    return target, role


def _role_of(moderator_id: int, site_id: str) -> Role | None:
    role = db.session.scalar(
        select(moderator_sites.c.role).where(
            moderator_sites.c.moderator_id == moderator_id, moderator_sites.c.site_id == site_id
        )
    )
    return Role(role) if role is not None else None


def _owner_count(site_id: str) -> int:
    granted = (
        select(moderator_sites.c.moderator_id)
        .where(moderator_sites.c.site_id == site_id, moderator_sites.c.role == Role.OWNER.value)
        .scalar_subquery()
    )
    count = db.session.scalar(
        select(func.count(Moderator.id)).where(
            or_(Moderator.all_sites.is_(True), Moderator.id.in_(granted))
        )
    )
    return count or 0


# --- the invitee's side ---------------------------------------------------------------------


@dataclass(frozen=True)
class Invitation:
    """An open invite as its link's page shows it: `moderator` is the account its address
    already has, if any (they accept signed in, rather than by setting a password)."""

    invite: ModeratorInvite
    site: Site
    moderator: Moderator | None


def _token_hash(token: str) -> str:
    return keyed_hash("moderator-invite", token)


def read_invite(token: str) -> Invitation:
    """The invite a link is for, while it may still be accepted.

    Raises LinkInvalid for a token that names no invite (or a replaced one), LinkExpired for
    one used or past its week.
    """
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        raise LinkInvalid("This link is not valid.")
    row = db.session.scalar(
        select(ModeratorInvite).where(ModeratorInvite.token_hash == _token_hash(token))
    )
    if row is None:
        raise LinkInvalid("This link is not valid.")
    if row.used_at is not None:
        raise LinkExpired(INVITE_USED)
    if row.expires_at <= utcnow():
        raise LinkExpired(INVITE_EXPIRED)
    site = db.session.get_one(Site, row.site_id)
    existing = db.session.scalar(select(Moderator).where(Moderator.email == row.email))
    return Invitation(row, site, existing)


def accept_with_password(token: str, password: str) -> Moderator:
    """A new moderator for the invite's address, with its site and role; for an address
    that has no account yet."""
    moderators.check_password_length(password, field="new_password")
    return _accept_new(token, Moderator.hash_password(password))  # hashed outside the write


@writes
def _accept_new(token: str, password_hash: str) -> Moderator:
    invitation = read_invite(token)
    if invitation.moderator is not None:
        raise ValidationError("That address has an account: sign in to accept.")
    _use(invitation.invite)
    moderator = Moderator(email=invitation.invite.email, all_sites=False)
    moderator.password_hash = password_hash
    db.session.add(moderator)
    db.session.flush()
    return _join(invitation, moderator)


@writes
def accept_as(token: str, moderator: Moderator) -> Moderator:
    """The signed-in moderator whose address the invite names takes the site and role."""
    invitation = read_invite(token)
    if invitation.moderator is None or invitation.moderator.id != moderator.id:
        raise ValidationError(f"This invitation is for {invitation.invite.email}.")
    _use(invitation.invite)
    return _join(invitation, moderator)


def prune_invites() -> int:
    """Drop invitations no link can use any more (accepted, or past their week), in the
    caller's write transaction; the audit log keeps who invited whom. Returns how many."""
    dropped: int = db.session.execute(  # type: ignore[attr-defined]  # a CursorResult
        delete(ModeratorInvite)
        .where(or_(ModeratorInvite.used_at.is_not(None), ModeratorInvite.expires_at <= utcnow()))
        .execution_options(synchronize_session=False)
    ).rowcount
    return dropped


def _use(row: ModeratorInvite) -> None:
    # Conditional, so two accepts at once cannot both pass.
    used = db.session.execute(
        update(ModeratorInvite)
        .where(ModeratorInvite.id == row.id, ModeratorInvite.used_at.is_(None))
        .values(used_at=utcnow())
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        raise LinkExpired(INVITE_USED)


def _join(invitation: Invitation, moderator: Moderator) -> Moderator:
    role = Role(invitation.invite.role)
    if not moderator.all_sites:
        moderators.grant(moderator, invitation.site.id, role)
    record_action(
        invitation.site.id,
        None,
        moderator,
        "join",
        detail=f"accepted the invitation as {role.value}",
    )
    return moderator
