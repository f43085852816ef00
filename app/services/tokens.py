"""Signed tokens handed to readers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from app.domain.errors import LinkExpired, LinkInvalid
from app.services import links


def edit_token(comment_id: int) -> str:
    """Proof of authorship for a guest: shows their pending comment, lets them edit and delete.

    It does not expire by itself; the edit window is checked against the comment's time.
    """
    return links.sign(links.COMMENT_EDIT, comment_id)


def comment_id_from_edit_token(token: object) -> int | None:
    if not isinstance(token, str) or len(token) > 200:
        return None
    try:
        value = links.load(links.COMMENT_EDIT, token)
    except (LinkInvalid, LinkExpired):
        return None
    return value if isinstance(value, int) else None


def comment_ids_from_edit_tokens(tokens: Iterable[str]) -> set[int]:
    ids = (comment_id_from_edit_token(t) for t in tokens)
    return {i for i in ids if i is not None}


@dataclass(frozen=True)
class ReaderClaims:
    user_id: int
    site_id: str
    provider: str
    key: str | None = None  # a site's own reader's: the fingerprint of the secret (sso.py)


def reader_token(user_id: int, site_id: str, provider: str, *, key: str | None = None) -> str:
    """The bearer token the widget keeps for a signed-in reader, valid on one site only."""
    claims: dict[str, object] = {"u": user_id, "s": site_id, "p": provider}
    if key is not None:
        claims["k"] = key
    return links.sign(links.READER, claims)


def reader_claims(token: str, site_id: str) -> ReaderClaims | None:
    """The reader a token names, if it is genuine, fresh and for this site."""
    if len(token) > 500:
        return None
    try:
        data = links.load(links.READER, token)
    except (LinkInvalid, LinkExpired):
        return None
    if not isinstance(data, dict) or data.get("s") != site_id or not isinstance(data.get("u"), int):
        return None
    key = data.get("k")
    return ReaderClaims(
        user_id=data["u"],
        site_id=data["s"],
        provider=str(data.get("p", "")),
        key=key if isinstance(key, str) else None,
    )
