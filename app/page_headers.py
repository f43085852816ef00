"""Response headers set in one place: those every answer carries, and those of the small pages
reached through a secret link from a mail (a guest's data, a subscription)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from flask import Response

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Flask

# Inline styles only (templates/card.html); forms post back to the page itself.
LINK_PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# A browser must never run a JSON answer or a comment's text as a script or a page.
EVERY_ANSWER = (("X-Content-Type-Options", "nosniff"),)
# A year, without includeSubDomains: the operator's other hosts are not ours to pin.
HTTPS_ANSWER = (*EVERY_ANSWER, ("Strict-Transport-Security", "max-age=31536000"))


class AnswerHeaders:
    """WSGI middleware around the whole app, so that no answer goes without these headers:
    Flask's views and errors, its static files, and the cached reads answered before Flask
    (app/api/fast_reads.py). `app.wsgi_app = AnswerHeaders(app, app.wsgi_app)`.

    HSTS only when PUBLIC_URL is https: browsers ignore it over http anyway, and a service
    reached by http must not tell them otherwise.
    """

    def __init__(self, app: Flask, wsgi_app: WSGIApplication) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        https = self.app.config["PUBLIC_URL"].startswith("https://")
        extra = HTTPS_ANSWER if https else EVERY_ANSWER

        def start(
            status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
        ) -> Callable[[bytes], object]:
            present = {name.lower() for name, _ in headers}
            missing = [header for header in extra if header[0].lower() not in present]
            return start_response(status, [*headers, *missing], exc_info)

        return self.wsgi_app(environ, start)


def install(app: Flask) -> None:
    """Outside every other layer of the app but the proxy fix."""
    app.wsgi_app = AnswerHeaders(app, app.wsgi_app)  # type: ignore[method-assign]


def secret_link_page(response: Response) -> Response:
    """The link is the key: never in a Referer, a cache or a search index."""
    response.headers.setdefault("Content-Security-Policy", LINK_PAGE_POLICY)
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
