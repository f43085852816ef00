"""Moderator accounts."""

from __future__ import annotations

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from app.domain.errors import ValidationError
from app.domain.policy import clean_email
from app.extensions import db
from app.models import Moderator
from app.services.sites import get_site

PASSWORD_MIN = 10


def create_moderator(email: str, password: str, *, site_ids: list[str] | None = None) -> Moderator:
    """A moderator of the given sites, or of every site when none are given."""
    email = clean_email(email)
    if len(password) < PASSWORD_MIN:
        raise ValidationError(
            f"A password needs at least {PASSWORD_MIN} characters.", field="password"
        )
    if db.session.scalar(select(Moderator).where(Moderator.email == email)):
        raise ValidationError("A moderator with that email already exists.", field="email")
    sites = [get_site(site_id) for site_id in site_ids or []]
    moderator = Moderator(email=email, all_sites=not sites, sites=sites)
    moderator.set_password(password)
    db.session.add(moderator)
    db.session.commit()
    return moderator


# Compared against when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("afterword-timing-equalizer", method="scrypt")
NOTIFY_CHOICES = ("each", "digest", "off")


def authenticate(email: str, password: str) -> Moderator | None:
    moderator = db.session.scalar(
        select(Moderator).where(Moderator.email == (email or "").strip().lower())
    )
    if moderator is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return moderator if moderator.check_password(password) else None


def set_notify(moderator: Moderator, notify: str) -> None:
    if notify not in NOTIFY_CHOICES:
        raise ValidationError("Choose each, digest or off.", field="notify")
    moderator.notify = notify
    db.session.commit()
