"""Sign-in with any Mastodon server: the app registered on each server, the code exchanged.

There is nothing to set up by hand: at a server's first use the service registers itself
there (`POST /api/v1/apps`) and keeps the client id and secret it is given (MastodonApp).
Readers then go through the authorization code flow with PKCE on their server, and the
account comes from `verify_credentials`. Every request to a server goes through
app/services/safe_http.py: the server is named by whoever clicks, so it may be anything.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from app.database import writes
from app.domain.mastodon_servers import (
    MastodonServer,
    NotMastodon,
    ServerNotAllowed,
    ServerUnreachable,
    allowed_by_list,
    parse_allow_list,
    parse_server,
)
from app.extensions import db
from app.models import MastodonApp
from app.models.types import utcnow
from app.services import links, safe_http
from app.services.identities import Profile

log = logging.getLogger(__name__)

PROVIDER = "mastodon"
SCOPES = "read:accounts"
# A registration is checked again (is the app still there?) when last seen working longer
# ago than this, before a reader is sent to the server.
CHECK_EVERY = timedelta(hours=1)
# A registration under way for longer than this was left by a request that died.
REGISTRATION_STALE = timedelta(seconds=30)
WAIT_POLL = 0.1  # seconds between looks at another request's registration
MAX_FIELD = 255


class SignInFailed(Exception):
    """What the reader is told when their server did not sign them in."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Registration:
    server: str  # MastodonServer.base_url
    client_id: str
    client_secret: str
    checked_at: datetime | None


def callback_url() -> str:
    return links.public_url("auth.callback", provider=PROVIDER)


def allowed_server(value: object) -> MastodonServer:
    """The server a reader named, if they may sign in with it here."""
    server = parse_server(value)
    if not allowed_by_list(server, parse_allow_list(current_app.config.get("MASTODON_SERVERS"))):
        raise ServerNotAllowed()
    return server


def prepare_sign_in(value: object) -> str:
    """Check the named server and make sure we are registered there; returns its base URL.

    Raises a ValidationError on `server` with a message for the reader.
    """
    server = allowed_server(value)
    registration(server, check=True)
    return server.base_url


def authorize_url(server: MastodonServer, client_id: str, *, state: str, challenge: str) -> str:
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": callback_url(),
            "scope": SCOPES,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    return server.url(f"/oauth/authorize?{query}")


# --- registrations ------------------------------------------------------------------------


def registration(server: MastodonServer, *, check: bool = False) -> Registration:
    """Our app on this server, registered now when it has none.

    Of several requests doing this at once for a new server one registers; the others wait
    for it (at most one request's timeout and a little). With `check`, an app last seen
    working over CHECK_EVERY ago is tried first: one deleted on the server is registered anew.
    """
    redirect_uri = callback_url()
    give_up = time.monotonic() + _timeout() * 2
    while True:
        state, found = _claim(server.base_url, redirect_uri)
        if state == "ready" and found is not None:
            if not check or (found.checked_at and utcnow() - found.checked_at < CHECK_EVERY):
                return found
            if _client_accepted(server, found):
                _mark_checked(server.base_url, found.client_id)
                return found
            log.info("mastodon: %s no longer knows our app; registering again", server.name)
            _forget(server.base_url, found.client_id)
            check = False
            continue
        if state == "mine":
            try:
                client_id, client_secret = _register_at(server, redirect_uri)
            except Exception:
                _release(server.base_url)
                raise
            return _store(server.base_url, client_id, client_secret, redirect_uri)
        if time.monotonic() > give_up:
            raise ServerUnreachable()
        time.sleep(WAIT_POLL)


def _stored(base_url: str) -> Registration | None:
    row = db.session.scalar(select(MastodonApp).where(MastodonApp.server == base_url))
    if row is None or not row.client_id or not row.client_secret:
        return None
    return Registration(base_url, row.client_id, row.client_secret, row.checked_at)


@writes
def _claim(
    base_url: str, redirect_uri: str
) -> tuple[Literal["ready", "mine", "wait"], Registration | None]:
    row = db.session.scalar(select(MastodonApp).where(MastodonApp.server == base_url))
    now = utcnow()
    if row is None:
        try:
            with db.session.begin_nested():
                db.session.add(MastodonApp(server=base_url, registering_since=now))
        except IntegrityError:
            return "wait", None  # another request's insert won: it registers
        return "mine", None
    if row.client_id and row.client_secret and row.redirect_uri == redirect_uri:
        return "ready", Registration(base_url, row.client_id, row.client_secret, row.checked_at)
    if row.registering_since is not None and now - row.registering_since < REGISTRATION_STALE:
        return "wait", None
    taken = db.session.execute(  # type: ignore[attr-defined]  # DML answers a CursorResult
        update(MastodonApp)
        .where(
            MastodonApp.id == row.id,
            MastodonApp.registering_since.is_(None)
            if row.registering_since is None
            else MastodonApp.registering_since == row.registering_since,
        )
        .values(registering_since=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    return ("mine" if taken else "wait"), None


@writes
def _store(base_url: str, client_id: str, client_secret: str, redirect_uri: str) -> Registration:
    now = utcnow()
    db.session.execute(
        update(MastodonApp)
        .where(MastodonApp.server == base_url)
        .values(
            client_id=client_id,
            client_secret=client_secret,
            redirect_uri=redirect_uri,
            registering_since=None,
            checked_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return Registration(base_url, client_id, client_secret, now)


@writes
def _release(base_url: str) -> None:
    """A registration that failed: the next request tries again at once.

    A server never registered with leaves no row, so that names typed at random (or by the
    thousand) do not pile up here.
    """
    db.session.execute(
        delete(MastodonApp).where(MastodonApp.server == base_url, MastodonApp.client_id.is_(None))
    )
    db.session.execute(
        update(MastodonApp)
        .where(MastodonApp.server == base_url)
        .values(registering_since=None)
        .execution_options(synchronize_session=False)
    )


@writes
def _forget(base_url: str, client_id: str) -> None:
    """The server no longer knows this client; only the first to notice clears it."""
    db.session.execute(
        update(MastodonApp)
        .where(MastodonApp.server == base_url, MastodonApp.client_id == client_id)
        .values(client_id=None, client_secret=None)
        .execution_options(synchronize_session=False)
    )


@writes
def _mark_checked(base_url: str, client_id: str) -> None:
    db.session.execute(
        update(MastodonApp)
        .where(MastodonApp.server == base_url, MastodonApp.client_id == client_id)
        .values(checked_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def _register_at(server: MastodonServer, redirect_uri: str) -> tuple[str, str]:
    public = links.public_base()
    answer = _call(
        "POST",
        server,
        "/api/v1/apps",
        form={
            "client_name": urlsplit(public).hostname or public,
            "redirect_uris": redirect_uri,
            "scopes": SCOPES,
            "website": public,
        },
    )
    if answer.status == 429 or answer.status >= 500:
        raise ServerUnreachable()
    data = _json_object(answer) if answer.status == 200 else None
    client_id = _text(data, "client_id") if data else None
    client_secret = _text(data, "client_secret") if data else None
    if not client_id or not client_secret:
        log.info("mastodon: %s is not a Mastodon server (apps: %s)", server.name, answer.status)
        raise NotMastodon()
    log.info("mastodon: registered on %s", server.name)
    return client_id, client_secret


def _client_accepted(server: MastodonServer, found: Registration) -> bool:
    """Whether the server still knows our client, without making a token there.

    A code exchange with a made-up code is refused, as invalid_grant when the client is
    known and as invalid_client when it is not (Doorkeeper checks the client first).
    """
    answer = _call(
        "POST",
        server,
        "/oauth/token",
        form={
            "grant_type": "authorization_code",
            "code": secrets.token_urlsafe(16),
            "redirect_uri": callback_url(),
            "client_id": found.client_id,
            "client_secret": found.client_secret,
            "code_verifier": secrets.token_urlsafe(48),
        },
    )
    if answer.status == 429 or answer.status >= 500:
        raise ServerUnreachable()
    data = _json_object(answer)
    if data is None:
        raise NotMastodon()
    return data.get("error") != "invalid_client"


# --- signing in ---------------------------------------------------------------------------


def profile_for_code(base_url: str, code: object, verifier: str, client_id: str) -> Profile:
    """Exchange the code the reader's server gave back, and read who they are there.

    Raises SignInFailed with a message for the reader.
    """
    server = parse_server(base_url)
    found = _stored(base_url)
    if found is None or found.client_id != client_id:
        # Registered anew since this reader left: their code belongs to the old client.
        raise SignInFailed("Mastodon could not sign you in. Please try again.")
    if not isinstance(code, str) or not 0 < len(code) <= 512:
        raise SignInFailed("Mastodon could not sign you in. Please try again.")
    try:
        token = _exchange(server, found, code, verifier)
        return _account(server, token)
    except ServerUnreachable:
        raise SignInFailed("That Mastodon server could not be reached. Please try again.") from None
    except (NotMastodon, ServerNotAllowed):
        raise SignInFailed("Mastodon did not answer as expected. Please try again.") from None


def _exchange(server: MastodonServer, found: Registration, code: str, verifier: str) -> str:
    answer = _call(
        "POST",
        server,
        "/oauth/token",
        form={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": callback_url(),
            "client_id": found.client_id,
            "client_secret": found.client_secret,
            "code_verifier": verifier,
            "scope": SCOPES,
        },
    )
    data = _json_object(answer)
    if answer.status != 200:
        error = data.get("error") if data else None
        log.info("mastodon: %s refused the code (%s, %s)", server.name, answer.status, error)
        if error == "invalid_client":
            _forget(server.base_url, found.client_id)  # the next sign-in registers again
        if answer.status == 429 or answer.status >= 500:
            raise ServerUnreachable()
        raise SignInFailed("Mastodon could not sign you in. Please try again.")
    token = _text(data, "access_token")
    if not token:
        raise NotMastodon()
    _mark_checked(server.base_url, found.client_id)
    return token


def _account(server: MastodonServer, token: str) -> Profile:
    answer = _call(
        "GET",
        server,
        "/api/v1/accounts/verify_credentials",
        headers={"Authorization": f"Bearer {token}"},
    )
    data = _json_object(answer) if answer.status == 200 else None
    account_id = _text(data, "id")
    username = _text(data, "username", limit=100)
    if data is None or not account_id or not username:
        raise NotMastodon()
    display_name = (_text(data, "display_name", limit=1000) or "").strip()
    avatar = _text(data, "avatar", limit=1000)
    return Profile(
        provider=PROVIDER,
        # Account ids are only unique on their server; the same username elsewhere is someone
        # else, so the server is part of who this is.
        provider_user_id=f"{account_id}@{server.name}",
        name=display_name[:100] or username,
        handle=f"@{username}@{server.name}",
        avatar_url=avatar if avatar and avatar.startswith("https://") else None,
    )


# --- the wire ------------------------------------------------------------------------------


def _timeout() -> float:
    return float(current_app.config.get("MASTODON_TIMEOUT", safe_http.TIMEOUT))


def _call(
    method: str,
    server: MastodonServer,
    path: str,
    *,
    form: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> safe_http.Answer:
    try:
        return safe_http.request(
            method,
            server,
            path,
            form=form,
            headers=headers,
            allow_loopback=bool(current_app.config.get("MASTODON_ALLOW_LOOPBACK")),
            timeout=_timeout(),
        )
    except safe_http.AddressRefused:
        log.warning("mastodon: refused %s, a private or local address", server.name)
        raise ServerNotAllowed() from None
    except safe_http.Unreachable as err:
        log.info("mastodon: %s unreachable (%s)", server.name, type(err.__cause__).__name__)
        raise ServerUnreachable() from None
    except safe_http.TooLarge:
        log.info("mastodon: %s answered more than we read", server.name)
        raise NotMastodon() from None


def _json_object(answer: safe_http.Answer) -> dict[str, Any] | None:
    try:
        data = answer.json()
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _text(data: dict[str, Any] | None, key: str, *, limit: int = MAX_FIELD) -> str | None:
    value = data.get(key) if data else None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return value if isinstance(value, str) and 0 < len(value) <= limit else None
