"""A live Afterword and a host blog on another origin, plus shortcuts into the services.

The host pages live on a different port, so every request the widget makes is cross-origin
and passes through the real CORS checks, exactly as on a reader's blog.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from app.domain.states import CommentStatus, ModerationMode
from app.extensions import db
from app.models import Comment, Site
from app.services import authors, comments, moderation, sites

if TYPE_CHECKING:
    from tests.fakes import FakeProviderServer


def listening() -> BaseWSGIServer:
    """A threaded server on a port the OS picked, its app not given yet: apps are built with
    their own URL (PUBLIC_URL), so the port comes first."""
    return make_server("127.0.0.1", 0, None, threaded=True)


def url_of(server: BaseWSGIServer) -> str:
    return f"http://127.0.0.1:{server.server_port}"


def serve(server: BaseWSGIServer, wsgi_app: Callable) -> BaseWSGIServer:
    server.app = wsgi_app
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@dataclass
class HostSite:
    """Static pages on a second origin, registered by the tests that need them."""

    origin: str
    pages: dict[str, str] = field(default_factory=dict)

    def wsgi(self, environ: dict, start_response: Callable) -> Any:
        body = self.pages.get(Request(environ).path)
        if body is None:
            return Response("not found", 404)(environ, start_response)
        return Response(body, content_type="text/html; charset=utf-8")(environ, start_response)


@dataclass
class Live:
    """The running service, its host blog, and shortcuts into the service layer."""

    app: Flask
    url: str
    host: HostSite
    requests: list[tuple[str, str]] = field(default_factory=list)
    providers: dict[str, FakeProviderServer] = field(default_factory=dict)  # by kind

    def create_site(self, *, origins: list[str] | None = None) -> str:
        with self.app.app_context():
            site = sites.create_site(
                name="Test blog",
                origins=origins or [self.host.origin],
                moderation=ModerationMode.ALL,
            )
            return site.id

    def host_page(
        self,
        path: str,
        site_id: str,
        *,
        attrs: str = "",
        head: str = "",
        lang: str = "en",
        title: str = "A post about bread",
    ) -> str:
        """A blog post on the host origin with the embed snippet under it; returns its URL."""
        self.host.pages[path] = f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>{head}</head>
<body><article><h1>{escape(title)}</h1>
<p>Flour, water, salt and a little patience make a loaf worth talking about.</p></article>
<div id="afterword"></div>
<script src="{self.url}/embed.js" data-site="{site_id}" {attrs} async></script>
</body></html>"""
        return self.host.origin + path

    def comment(
        self,
        site_id: str,
        url: str,
        body: str,
        *,
        parent: int | None = None,
        name: str = "Ada",
        approve: bool = True,
    ) -> int:
        with self.app.app_context():
            site = db.session.get(Site, site_id)
            author = authors.guest(name, f"{name.lower()}@example.com", None)
            draft = comments.CommentDraft(url=url, body=body, parent_id=parent)
            comment, _ = comments.post_comment(site, author, draft)
            if approve:
                moderation.set_status(comment, CommentStatus.APPROVED)
            return comment.id

    def approve(self, comment_id: int) -> None:
        with self.app.app_context():
            moderation.set_status(db.session.get(Comment, comment_id), CommentStatus.APPROVED)


def record_requests(app: Flask, log: list[tuple[str, str]]) -> None:
    inner = app.wsgi_app

    def recording(environ: dict, start_response: Callable) -> Any:
        log.append((environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")))
        return inner(environ, start_response)

    app.wsgi_app = recording  # type: ignore[method-assign]
