"""Facebook's signed_request, as posted to the data-deletion callback."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any


class InvalidSignedRequest(ValueError):
    pass


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def parse_signed_request(signed_request: str, app_secret: str) -> dict[str, Any]:
    """The payload, if the HMAC-SHA256 signature made with the app secret is right."""
    try:
        encoded_sig, encoded_payload = signed_request.split(".", 1)
        signature = _b64url_decode(encoded_sig)
        payload = json.loads(_b64url_decode(encoded_payload))
    except (ValueError, UnicodeDecodeError):
        raise InvalidSignedRequest("malformed signed_request") from None
    if not isinstance(payload, dict) or str(payload.get("algorithm", "")).upper() != "HMAC-SHA256":
        raise InvalidSignedRequest("unexpected algorithm")
    expected = hmac.new(app_secret.encode(), encoded_payload.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise InvalidSignedRequest("bad signature")
    if not payload.get("user_id"):
        raise InvalidSignedRequest("no user_id")
    return payload
