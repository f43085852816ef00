"""Headers for the small pages reached through a secret link from a mail (a guest's data,
a subscription): nothing on them may leak the link or run anything it did not bring."""

from __future__ import annotations

from flask import Response

# Inline styles only (templates/card.html); forms post back to the page itself.
LINK_PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def secret_link_page(response: Response) -> Response:
    """The link is the key: never in a Referer, a cache or a search index."""
    response.headers.setdefault("Content-Security-Policy", LINK_PAGE_POLICY)
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
