"""Facebook's signed_request, as posted to the data-deletion callback."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from app.domain.errors import InvalidSignedRequest


@dataclass(frozen=True)
class SignedRequest:
    user_id: str
    issued_at: datetime
    signature: str  # as sent (base64url): what tells one request from another


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def parse_signed_request(signed_request: str, app_secret: str) -> SignedRequest:
    """The request, if the HMAC-SHA256 signature made with the app secret is right and it says
    when it was issued (whether it is still fresh is for `identities.erase_on_request`)."""
    try:
        encoded_sig, encoded_payload = signed_request.split(".", 1)
        signature = _b64url_decode(encoded_sig)
        payload = json.loads(_b64url_decode(encoded_payload))
    except (ValueError, UnicodeDecodeError):
        raise InvalidSignedRequest("The signed_request is malformed.") from None
    if not isinstance(payload, dict) or str(payload.get("algorithm", "")).upper() != "HMAC-SHA256":
        raise InvalidSignedRequest("The signed_request is not signed with HMAC-SHA256.")
    expected = hmac.new(app_secret.encode(), encoded_payload.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise InvalidSignedRequest("The signed_request has a wrong signature.")
    if not payload.get("user_id"):
        raise InvalidSignedRequest("The signed_request names no user_id.")
    issued_at = payload.get("issued_at")
    if not isinstance(issued_at, int) or isinstance(issued_at, bool):
        raise InvalidSignedRequest("The signed_request does not say when it was issued.")
    try:
        issued = datetime.fromtimestamp(issued_at, UTC)
    except (ValueError, OverflowError, OSError):
        raise InvalidSignedRequest("The signed_request has an impossible issued_at.") from None
    return SignedRequest(user_id=str(payload["user_id"]), issued_at=issued, signature=encoded_sig)
