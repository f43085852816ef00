"""The readers a site signs in itself: `PAYLOAD.SIGNATURE` from the site's own pages.

PAYLOAD is base64url (no padding) of a JSON object `{"id", "name", "avatar"?, "url"?, "exp"}`
and SIGNATURE the lowercase hex HMAC-SHA256 of PAYLOAD's ASCII with the site's secret. The
signature is checked before anything in the payload is read: what a forger sent is never
parsed. Nothing here touches the database; app/services/sso.py signs the reader in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass

from app.domain import policy
from app.domain.errors import DomainError, SsoRefused
from app.domain.json_input import parse_json

SIGNED_MAX = 4096  # a payload of the longest id, name and addresses fits with room to spare
ID_MAX = 255
# A host page is rendered, cached a while and read: an hour or a day ahead is ordinary,
# a week ahead is a payload that outlives its reader's sign-out at the site.
EXP_AHEAD_MAX = 24 * 3600
CLOCK_SKEW = 300  # the site's clock may run a little ahead of ours
_PAYLOAD = re.compile(r"[A-Za-z0-9_-]+")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class SignedReader:
    """Who the site says its reader is, once the signature and every field checked out."""

    id: str
    name: str
    avatar_url: str | None
    profile_url: str | None


def signature(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode("ascii"), hashlib.sha256).hexdigest()


def verify(signed: object, secret: str, now: int) -> SignedReader:
    """The reader in `signed` at Unix time `now`, or SsoRefused saying what is wrong.

    The id is the site's, exactly as given (never shown); the name is cleaned like a
    guest's; the addresses must be http(s).
    """
    if not isinstance(signed, str) or not signed:
        raise _refused("The signed reader is missing.")
    if len(signed) > SIGNED_MAX:
        raise _refused(f"The signed reader holds up to {SIGNED_MAX} characters.")
    payload, _, sig = signed.rpartition(".")
    if not _PAYLOAD.fullmatch(payload) or not _SIGNATURE.fullmatch(sig):
        raise _refused("The signed reader is not PAYLOAD.SIGNATURE (base64url and hex).")
    if not hmac.compare_digest(signature(secret, payload), sig):
        raise _refused("The signature does not match: is it made with this site's secret?")
    data = _decoded(payload)
    _check_expiry(data.get("exp"), now)
    reader_id = _reader_id(data.get("id"))
    try:
        name = policy.clean_name(data.get("name"))
    except DomainError as err:
        raise _refused(f"name: {err.message}") from None
    avatar = _address(data.get("avatar"), "avatar")
    url = _address(data.get("url"), "url")
    return SignedReader(id=reader_id, name=name, avatar_url=avatar, profile_url=url)


def _check_expiry(exp: object, now: int) -> None:
    if not isinstance(exp, int) or isinstance(exp, bool):
        raise _refused("exp must be a time in Unix seconds.")
    if exp <= now:
        raise _refused("The signed reader has expired (exp).")
    if exp > now + EXP_AHEAD_MAX + CLOCK_SKEW:
        raise _refused("exp is more than 24 hours ahead.")


def _reader_id(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # a site's numeric ids, given as numbers
    if not isinstance(value, str) or not value or len(value) > ID_MAX:
        raise _refused(f"id must be text of 1 to {ID_MAX} characters.")
    return value


def _decoded(payload: str) -> dict[str, object]:
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    except (binascii.Error, ValueError):
        raise _refused("The payload is not base64url.") from None
    try:
        data = parse_json(raw)
    except DomainError:
        raise _refused("The payload is not JSON.") from None
    if not isinstance(data, dict):
        raise _refused("The payload is not a JSON object.")
    return data


def _address(value: object, name: str) -> str | None:
    """An http(s) address as given, or None; never a bare host the guest rule would complete."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not value.lower().startswith(("http://", "https://")):
        raise _refused(f"{name} must be an http or https address.")
    try:
        return policy.clean_website(value)
    except DomainError as err:
        raise _refused(f"{name}: {err.message}") from None


def _refused(message: str) -> SsoRefused:
    return SsoRefused(message, field="sso")
