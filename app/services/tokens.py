"""Signed tokens handed to readers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer

from app import clock

_EDIT_SALT = "afterword.comment-edit"


def _serializer(salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=salt)


def edit_token(comment_id: int) -> str:
    """Proof of authorship for a guest: shows their pending comment, lets them edit and delete.

    It does not expire by itself; the edit window is checked against the comment's time.
    """
    return _serializer(_EDIT_SALT).dumps(comment_id)


def comment_id_from_edit_token(token: object) -> int | None:
    if not isinstance(token, str) or len(token) > 200:
        return None
    try:
        value = _serializer(_EDIT_SALT).loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, int) else None


def comment_ids_from_edit_tokens(tokens: Iterable[str]) -> set[int]:
    ids = (comment_id_from_edit_token(t) for t in tokens)
    return {i for i in ids if i is not None}


_READER_SALT = "afterword.reader"
# A signed-in reader stays signed in on a site for a week; then they click the icon again.
READER_TOKEN_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class ReaderClaims:
    user_id: int
    site_id: str
    provider: str


def reader_token(user_id: int, site_id: str, provider: str) -> str:
    """The bearer token the widget keeps for a signed-in reader, valid on one site only."""
    serializer = URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"], salt=_READER_SALT, signer=clock.Signer
    )
    return serializer.dumps({"u": user_id, "s": site_id, "p": provider})


def reader_claims(token: str, site_id: str) -> ReaderClaims | None:
    """The reader a token names, if it is genuine, fresh and for this site."""
    if len(token) > 500:
        return None
    serializer = URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"], salt=_READER_SALT, signer=clock.Signer
    )
    try:
        data = serializer.loads(token, max_age=READER_TOKEN_SECONDS)
    except BadSignature:  # SignatureExpired is a BadSignature too
        return None
    if not isinstance(data, dict) or data.get("s") != site_id or not isinstance(data.get("u"), int):
        return None
    return ReaderClaims(user_id=data["u"], site_id=data["s"], provider=str(data.get("p", "")))
