"""Signed links and the service's public addresses, in one place.

Every token Afterword hands out (in a mail, to the widget) is signed for one `Purpose`, so
that a token made for one thing never passes for another; loading one maps "too old" to
LinkExpired and anything else wrong to LinkInvalid, once, here. Links that act (approve from
a mail, erase a guest's data) are used once: `use_once` records their id in the caller's
write transaction.

Addresses come from PUBLIC_URL and the URL map, never from the request's Host, and never by
restating a blueprint's prefix.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from itsdangerous import (
    BadSignature,
    SignatureExpired,
    TimestampSigner,
    URLSafeSerializer,
    URLSafeTimedSerializer,
)
from sqlalchemy.exc import IntegrityError
from werkzeug.routing import MapAdapter

from app import clock
from app.domain.errors import LinkExpired, LinkInvalid
from app.extensions import db
from app.models import UsedActionToken
from app.services.hashing import keyed_hash

# Longer than any token we make (the longest, an encrypted privacy link, is about 200).
TOKEN_MAX = 1000


@dataclass(frozen=True)
class Purpose:
    """What a token is for: its salt, how long it lasts and what a reader is told when it
    ran out. `sealed` tokens are encrypted, not only signed, for payloads a URL must not show
    (a URL ends up in logs and browser histories)."""

    salt: str
    max_age: int | None
    expired: str = "This link has expired."
    sealed: bool = False
    once_prefix: str = ""  # namespaces `use_once` ids, so purposes never collide


CONFIRM_SUBSCRIPTION = Purpose(
    "afterword.subscription-confirm", 7 * 24 * 3600, "This link has expired."
)
# Unsubscribe links outlive any mail a reader might still keep.
UNSUBSCRIBE = Purpose("afterword.subscription-unsubscribe", 400 * 24 * 3600)
# Reply mail: an address confirmed once per site, and stopped for one comment or the site.
CONFIRM_ADDRESS = Purpose("afterword.address-confirm", 7 * 24 * 3600)
UNSUBSCRIBE_REPLIES = Purpose("afterword.replies-unsubscribe", 400 * 24 * 3600)
MAIL_ACTION = Purpose(
    "afterword.mail-action",
    3 * 24 * 3600,  # a weekend away, not forever
    "This link has expired. Open the dashboard instead.",
)
PRIVACY = Purpose(
    "privacy-link",
    24 * 3600,  # long enough to find the mail tomorrow morning, not a standing key
    "This link has expired. Ask for a new one from the comments.",
    sealed=True,
    once_prefix="privacy:",
)
# An hour: long enough to find the mail, short enough that an old mailbox holds no live key.
PASSWORD_RESET = Purpose(
    "afterword.password-reset",
    3600,
    "This link has expired. Ask for a new one from the sign-in page.",
    once_prefix="reset:",
)
COMMENT_EDIT = Purpose("afterword.comment-edit", None)  # the edit window is the comment's
READER = Purpose("afterword.reader", 7 * 24 * 3600)  # then the reader clicks the icon again


def sign(purpose: Purpose, payload: Any) -> str:
    """A URL-safe token carrying `payload` (JSON-able) for `purpose`."""
    if purpose.sealed:
        sealed = fernet(purpose).encrypt_at_time(json.dumps(payload).encode(), int(clock.time()))
        return sealed.decode()
    return _serializer(purpose).dumps(payload)


def load(purpose: Purpose, token: object) -> Any:
    """The payload of a genuine token for `purpose`.

    Raises LinkExpired when it is older than the purpose allows, LinkInvalid when it is not a
    token, was tampered with, or was made for another purpose.
    """
    if not isinstance(token, str) or not token or len(token) > TOKEN_MAX:
        raise LinkInvalid("This link is not valid.")
    if purpose.sealed:
        return _open_sealed(purpose, token)
    try:
        serializer = _serializer(purpose)
        if isinstance(serializer, URLSafeTimedSerializer):
            return serializer.loads(token, max_age=purpose.max_age)
        return serializer.loads(token)
    except SignatureExpired:
        raise LinkExpired(purpose.expired) from None
    except BadSignature:
        raise LinkInvalid("This link is not valid.") from None


def use_once(purpose: Purpose, jti: str, *, used: str) -> None:
    """Record that the link with id `jti` acted, in the caller's write transaction; raises
    LinkExpired with the message `used` when it already did."""
    try:
        # A savepoint: the caller's transaction stays usable, and rolls back as a whole
        # when the error reaches the request's handler.
        with db.session.begin_nested():
            db.session.add(UsedActionToken(jti=_once_key(purpose, jti)))
    except IntegrityError:
        raise LinkExpired(used) from None


def was_used(purpose: Purpose, jti: str) -> bool:
    return db.session.get(UsedActionToken, _once_key(purpose, jti)) is not None


def used_at(purpose: Purpose, jti: str) -> datetime | None:
    """When the link with id `jti` acted, if it did."""
    used = db.session.get(UsedActionToken, _once_key(purpose, jti))
    return used.used_at if used is not None else None


def _once_key(purpose: Purpose, jti: str) -> str:
    return f"{purpose.once_prefix}{jti}"[:64]


def public_url(endpoint: str, **values: Any) -> str:
    """The absolute address of a view under PUBLIC_URL (also outside a request: CLI, mail)."""
    return _adapter().build(endpoint, values, force_external=True)


def public_base() -> str:
    """PUBLIC_URL without a trailing slash, for what is not a view (the widget's origin)."""
    return str(current_app.config["PUBLIC_URL"]).rstrip("/")


def _adapter() -> MapAdapter:
    base = public_base()
    cached = current_app.extensions.get("afterword.public_urls")
    if cached is None or cached[0] != base:
        parts = urlsplit(base)
        adapter = current_app.url_map.bind(
            parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme
        )
        cached = current_app.extensions["afterword.public_urls"] = (base, adapter)
    return cached[1]


class _ClockSigner(TimestampSigner):
    """itsdangerous' signer with its timestamps, and so `max_age`, read from app.clock."""

    def get_timestamp(self) -> int:
        return int(clock.time())


def _serializer(purpose: Purpose) -> URLSafeSerializer | URLSafeTimedSerializer:
    secret = current_app.config["SECRET_KEY"]
    if purpose.max_age is None:
        # Nothing to date: the token stays the same for the same payload, as readers' stored
        # edit tokens always were.
        return URLSafeSerializer(secret, salt=purpose.salt)
    return URLSafeTimedSerializer(secret, salt=purpose.salt, signer=_ClockSigner)


def fernet(purpose: Purpose) -> Fernet:
    key = bytes.fromhex(keyed_hash(purpose.salt, "fernet-key"))
    return Fernet(base64.urlsafe_b64encode(key))


def _open_sealed(purpose: Purpose, token: str) -> Any:
    raw = token.encode()
    try:
        opened = fernet(purpose).decrypt_at_time(raw, purpose.max_age or 0, int(clock.time()))
        return json.loads(opened)
    except InvalidToken:
        pass
    except ValueError:
        raise LinkInvalid("This link is not valid.") from None
    try:
        fernet(purpose).extract_timestamp(raw)  # checks the signature: only the time ran out
    except InvalidToken:
        raise LinkInvalid("This link is not valid.") from None
    raise LinkExpired(purpose.expired)
