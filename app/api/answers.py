"""Public JSON answers: what every guest gets alike, made once and kept in the cache.

The views serve them through Flask; `app/api/fast_reads.py` serves cache hits in front of it.
Both take their headers from here, so the two paths answer byte for byte alike.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from typing import Any

# An answer differs by encoding; a signed-in reader (Authorization) gets a private one.
PUBLIC_VARY = ("Accept-Encoding", "Authorization")
CORS_EXPOSED = "Retry-After, ETag"
# Dropped from a 304, as Werkzeug does: it describes a body that is not sent.
BODY_HEADERS = frozenset({"content-type", "content-length", "content-encoding"})


def json_bytes(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class PublicAnswer:
    """A JSON body kept gzipped (readers' browsers all take gzip; the rare client that does
    not gets it unpacked), with a strong ETag for each form."""

    gzipped: bytes
    etag: str

    @classmethod
    def of(cls, payload: dict[str, Any]) -> PublicAnswer:
        body = json_bytes(payload)
        return cls(
            gzipped=gzip.compress(body, compresslevel=6, mtime=0),
            etag=hashlib.sha256(body).hexdigest()[:32],
        )

    @property
    def body(self) -> bytes:
        return gzip.decompress(self.gzipped)

    @property
    def gzip_etag(self) -> str:
        return self.etag + "-gz"


def public_headers(answer: PublicAnswer, *, gzipped: bool, max_age: int) -> list[tuple[str, str]]:
    """Headers of a public answer, before CORS: browsers and CDNs may keep it `max_age`
    seconds, then revalidate with the ETag."""
    headers = [("Content-Type", "application/json")]
    if gzipped:
        headers.append(("Content-Encoding", "gzip"))  # Flask-Compress leaves it as it is
    return [
        *headers,
        ("ETag", '"%s"' % (answer.gzip_etag if gzipped else answer.etag)),
        ("Cache-Control", f"public, max-age={max_age}"),
    ]


def private_headers() -> list[tuple[str, str]]:
    """Headers of one reader's gzipped answer, before CORS: nobody else may keep it."""
    return [
        ("Content-Type", "application/json"),
        ("Content-Encoding", "gzip"),
        ("Cache-Control", "private, no-store"),
    ]


def cors_headers(origin: str | None, *, readable: bool) -> list[tuple[str, str]]:
    """What lets the page at `origin` read an answer (nothing for same-origin requests)."""
    if not (origin and readable):
        return []
    return [
        ("Access-Control-Allow-Origin", origin),
        ("Access-Control-Expose-Headers", CORS_EXPOSED),
    ]
