"""Signed tokens handed to readers."""

from __future__ import annotations

from collections.abc import Iterable

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

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
