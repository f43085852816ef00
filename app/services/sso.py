"""Single sign-on: a site signs in its own readers, with a secret only it and we know.

The owner turns it on in the dashboard and gets the secret; the site's pages hand the widget
a signed reader (app/domain/sso.py) and the widget exchanges it for a reader token here. The
token carries the secret's fingerprint (`session_key`): regenerating the secret or turning
single sign-on off ends every such session at the next request, with no lookup beyond the
site the request loads anyway.

A site's reader is their own account: provider "sso", id "SITE_ID:ID", so the same id on two
sites is two people, and it is never linked with any other account, by anything.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app import clock
from app.database import writes
from app.domain import sso as signed
from app.domain.errors import SsoOff
from app.domain.roles import SiteAction
from app.extensions import db
from app.models import Moderator, Site, User
from app.services import cache, identities, tokens
from app.services.hashing import keyed_hash
from app.services.moderation import record_action, require_owner
from app.services.viewers import Viewer

if TYPE_CHECKING:
    from app.services.sites import SiteView

PROVIDER = "sso"
SECRET_BYTES = 32


@dataclass(frozen=True)
class SignedIn:
    token: str
    user: User


def session_key(secret: str | None) -> str | None:
    """What a reader token of this secret carries: its fingerprint, never the secret."""
    return keyed_hash("sso-secret", secret)[:16] if secret else None


def site_session_key(site: Site | SiteView) -> str | None:
    if isinstance(site, Site):
        return session_key(site.sso_secret)
    return site.sso_key


def is_current(provider: str, token_key: str | None, site: Site | SiteView) -> bool:
    """Whether a reader token still holds: any provider's does; a site's own reader's only
    while the secret it was signed in with is the site's secret."""
    if provider != PROVIDER:
        return True
    current = site_session_key(site)
    return current is not None and token_key == current


def account_to_link(viewer: Viewer) -> int | None:
    """The account a sign-in this reader starts joins: theirs, unless they are a site's
    reader, whose account is the site's alone (they sign in as someone else instead)."""
    if viewer.user is None or viewer.provider == PROVIDER:
        return None
    return viewer.user.id


@writes
def sign_in(site: Site, signed_reader: object) -> SignedIn:
    """The site's reader behind a signed `PAYLOAD.SIGNATURE`, with the name and picture it
    gives (updated at every sign-in), and their token."""
    if not site.sso_secret:
        raise SsoOff("This site has not turned on single sign-on.", field="sso")
    reader = signed.verify(signed_reader, site.sso_secret, int(clock.time()))
    user = identities.sign_in(
        identities.Profile(
            provider=PROVIDER,
            provider_user_id=f"{site.id}:{reader.id}",
            name=reader.name,
            avatar_url=reader.avatar_url,
            profile_url=reader.profile_url,
        )
    )
    db.session.flush()
    token = tokens.reader_token(user.id, site.id, PROVIDER, key=session_key(site.sso_secret))
    return SignedIn(token=token, user=user)


@writes
def turn_on(moderator: Moderator, site_id: str) -> Site:
    """A new secret for a site that had none; one that has one keeps it."""
    site = _owned(moderator, site_id)
    if site.sso_secret is None:
        _new_secret(site)
        record_action(site.id, None, moderator, "settings", detail="single sign-on turned on")
    return site


@writes
def regenerate(moderator: Moderator, site_id: str) -> Site:
    """A new secret: pages signed with the old one, and readers signed in by them, are out."""
    site = _owned(moderator, site_id)
    if site.sso_secret is None:
        raise SsoOff("Single sign-on is off on this site.")
    _new_secret(site)
    record_action(site.id, None, moderator, "settings", detail="single sign-on secret regenerated")
    return site


@writes
def turn_off(moderator: Moderator, site_id: str) -> Site:
    site = _owned(moderator, site_id)
    if site.sso_secret is not None:
        site.sso_secret = None
        cache.touch_site(site.id)
        record_action(site.id, None, moderator, "settings", detail="single sign-on turned off")
    return site


def _new_secret(site: Site) -> None:
    site.sso_secret = secrets.token_hex(SECRET_BYTES)
    cache.touch_site(site.id)  # cached site views carry the fingerprint readers are checked by


def _owned(moderator: Moderator, site_id: str) -> Site:
    # The secret signs readers in as anyone: a site setting, the owner's.
    require_owner(moderator, site_id, SiteAction.SETTINGS)
    return db.session.get_one(Site, site_id)
