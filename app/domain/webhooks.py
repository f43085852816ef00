"""Webhook URLs, signatures and the chat apps' text body: the rules, without the network.

A body is signed Stripe-style: `X-Afterword-Signature: t=<unix seconds>,v1=<hex>`, the hex
being HMAC-SHA256 under the site's secret of `f"{t}.{body}"`. The timestamp is inside what is
signed, so a receiver that refuses old ones cannot be fed a recorded request again later.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.domain.errors import ValidationError
from app.domain.mastodon_servers import BadServerName, MastodonServer, parse_server

URL_MAX = 500
SIGNATURE_HEADER = "X-Afterword-Signature"
# What a receiver should allow between our clock and theirs, and a request's age.
TOLERANCE_SECONDS = 300
FORMATS = {"json": "Afterword JSON", "text": "Slack / Discord / Matrix (text)"}
# Discord refuses `content` over 2,000 characters; Slack and Matrix take more.
TEXT_MAX = 1900
EXCERPT_MAX = 500
_SIGNATURE = re.compile(r"^t=(?P<t>[0-9]{1,12}),v1=(?P<v1>[0-9a-f]{64})$")


class BadWebhookUrl(ValidationError):
    def __init__(self, message: str = "Enter an https:// address.") -> None:
        super().__init__(message, field="webhook_url")


@dataclass(frozen=True)
class WebhookTarget:
    """Where to connect (checked like a reader-named server) and what to ask for there."""

    server: MastodonServer
    path: str  # with the query, as the receiver gave it: Slack's and Discord's carry a key


def parse_url(value: object) -> WebhookTarget:
    """An `https://` URL (or `http://` to a loopback name), without user info or fragment."""
    if not isinstance(value, str):
        raise BadWebhookUrl()
    text = value.strip()
    if len(text) > URL_MAX:
        raise BadWebhookUrl(f"Keep the address within {URL_MAX} characters.")
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in text) or "\\" in text:
        raise BadWebhookUrl()
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("https", "http") or not parts.netloc:
        raise BadWebhookUrl()
    if "#" in text or "@" in parts.netloc:
        raise BadWebhookUrl("Leave out any #fragment and user:password@.")
    try:
        server = parse_server(f"{parts.scheme.lower()}://{parts.netloc}")
    except BadServerName:
        raise BadWebhookUrl() from None
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return WebhookTarget(server=server, path=path)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The `X-Afterword-Signature` value for a body sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(
    secret: str, header: str, body: bytes, now: float, tolerance: int = TOLERANCE_SECONDS
) -> bool:
    """What a receiver checks: our signature, made within `tolerance` seconds of `now`."""
    match = _SIGNATURE.match(header or "")
    if match is None:
        return False
    timestamp = int(match.group("t"))
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), header)


def slack_escaped(text: str) -> str:
    """Slack reads `<!channel>` and `<url|label>` in `text`: a comment must not ping a
    channel or dress up a link, so the three characters Slack asks to escape are escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def excerpt(text: str, limit: int = EXCERPT_MAX) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def chat_body(message: str) -> dict[str, object]:
    """One body for Slack (`text`), Discord (`content`) and Matrix hookshot (`text`).

    Discord pings whoever `@everyone` or a user id names in `content`; `allowed_mentions`
    with nothing to parse keeps a commenter from pinging anyone.
    """
    message = message[:TEXT_MAX]
    return {
        "text": slack_escaped(message),
        "content": message,
        "allowed_mentions": {"parse": []},
    }
