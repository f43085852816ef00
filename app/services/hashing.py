"""Keyed hashes: stable identifiers for people that cannot be reversed without the secret.

A plain hash of an email or address can be reversed by hashing every likely value; keying
it with SECRET_KEY (and a purpose, so hashes for one use never match another) prevents that.
"""

from __future__ import annotations

import functools
import hashlib
import hmac

from flask import current_app


def keyed_hash(purpose: str, value: str) -> str:
    key = _purpose_key(purpose, current_app.config["SECRET_KEY"])
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


@functools.lru_cache(maxsize=64)
def _purpose_key(purpose: str, secret: str) -> bytes:
    """A key per purpose, so that a hash made for one use means nothing in another."""
    return hashlib.sha256(f"afterword.{purpose}:{secret}".encode()).digest()


def address_hash(remote_addr: str | None) -> str | None:
    return keyed_hash("address", remote_addr) if remote_addr else None


def email_hash(email: str | None) -> str | None:
    return keyed_hash("email", email.strip().lower()) if email else None
