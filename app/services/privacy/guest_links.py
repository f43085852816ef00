"""Links mailed to guests: a guest proves they own an address by opening one."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask import render_template
from sqlalchemy import func, select

from app.database import writes
from app.domain import policy
from app.domain.errors import LinkInvalid
from app.extensions import db
from app.models import (
    Comment,
    NotificationAddress,
    Site,
    Subscription,
)
from app.services import links, mail
from app.services.privacy.erasure import forget_guest
from app.services.privacy.records import email_forms, guest_condition

LINK_SECONDS: int = links.PRIVACY.max_age or 0


@dataclass(frozen=True)
class GuestLink:
    email: str
    jti: str  # recorded when the link is used to erase, so that it erases only once


def make_guest_token(email: str) -> str:
    # Sealed, not only signed: the address must not be readable in the URL.
    return links.sign(links.PRIVACY, {"e": email, "j": secrets.token_urlsafe(16)})


def read_guest_token(token: str) -> GuestLink:
    """The address a link is for; LinkExpired after LINK_SECONDS, LinkInvalid if tampered."""
    data = links.load(links.PRIVACY, token)
    try:
        return GuestLink(email=str(data["e"]), jti=str(data["j"]))
    except (KeyError, TypeError):
        raise LinkInvalid("This link is not valid.") from None


def link_used(link: GuestLink) -> bool:
    return links.was_used(links.PRIVACY, link.jti)


@writes
def erase_with_link(link: GuestLink) -> int:
    """Erase once per link: its id is recorded in the same transaction as the erasure."""
    links.use_once(
        links.PRIVACY, link.jti, used="This link was already used to delete your comments."
    )
    removed = sum(forget_guest(link.email).values())
    return removed


@writes
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
    link = links.public_url("privacy.page", token=make_guest_token(address))
    context = {"site": site, "link": link, "hours": LINK_SECONDS // 3600}
    text = render_template("mail/privacy_link.txt", **context)
    html = render_template("mail/privacy_link.html", **context)
    has_data = (
        db.session.scalar(select(func.count()).select_from(Comment).where(guest_condition(address)))
        or db.session.scalar(
            select(func.count())
            .select_from(Subscription)
            .where(Subscription.email.in_(email_forms(address)))
        )
        or db.session.scalar(
            select(func.count())
            .select_from(NotificationAddress)
            .where(NotificationAddress.email.in_(email_forms(address)))
        )
    )
    if has_data and allowed:
        mail.enqueue(address, f"[{site.name}] Your comments: download or delete them", text, html)
    return bool(has_data and allowed)
