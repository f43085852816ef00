"""Links mailed to guests: a guest proves they own an address by opening one."""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app, render_template
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.database import begin_write
from app.domain import policy
from app.domain.errors import LinkExpired, LinkInvalid
from app.extensions import db
from app.models import (
    Comment,
    Site,
    Subscription,
    UsedActionToken,
)
from app.services import mail
from app.services.hashing import keyed_hash
from app.services.privacy.erasure import forget_guest
from app.services.privacy.records import email_forms, guest_condition

LINK_SECONDS = 24 * 3600  # long enough to find the mail tomorrow morning, not a standing key


TOKEN_MAX = 1000


@dataclass(frozen=True)
class GuestLink:
    email: str
    jti: str  # recorded when the link is used to erase, so that it erases only once


def fernet() -> Fernet:
    # Encrypted, not only signed: a signed token would carry the address readable in the
    # URL, and URLs end up in logs and browser histories. Fernet also signs and dates it.
    key = bytes.fromhex(keyed_hash("privacy-link", "fernet-key"))
    return Fernet(base64.urlsafe_b64encode(key))


def make_guest_token(email: str) -> str:
    payload = json.dumps({"e": email, "j": secrets.token_urlsafe(16)}).encode()
    return fernet().encrypt(payload).decode()


def read_guest_token(token: str) -> GuestLink:
    """The address a link is for; LinkExpired after LINK_SECONDS, LinkInvalid if tampered."""
    raw = token.encode()
    try:
        if len(token) > TOKEN_MAX:
            raise InvalidToken
        data = json.loads(fernet().decrypt(raw, ttl=LINK_SECONDS))
        return GuestLink(email=str(data["e"]), jti=str(data["j"]))
    except InvalidToken:
        pass
    except (ValueError, KeyError, TypeError):
        raise LinkInvalid("This link is not valid.") from None
    try:
        fernet().extract_timestamp(raw)  # checks the signature: only the time ran out
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
    removed = sum(forget_guest(link.email).values())
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
        select(func.count()).select_from(Comment).where(guest_condition(address))
    ) or db.session.scalar(
        select(func.count())
        .select_from(Subscription)
        .where(Subscription.email.in_(email_forms(address)))
    )
    if has_data and allowed:
        mail.enqueue(address, f"[{site.name}] Your comments: download or delete them", text, html)
    db.session.commit()
    return bool(has_data and allowed)
