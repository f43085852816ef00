"""Cached public reads, answered in front of Flask.

Nearly every request a busy post gets is a guest reading a thread page or a listing page's
counts, and that answer is already in the cache, gzipped, with its ETag. Going through Flask
for it (request context, session, hooks, routing) would cost more than all the rest, so this
WSGI layer answers such hits itself, after the checks the views make: the entry is current,
the page's origin is one of the site's, and the address is within the read limit (counted in
Flask-Limiter's own storage and bucket, so both paths share one budget). Those rules, and
which requests are these reads, are the views' own, from `app/api/read_rules.py`.

Anything else goes on to Flask untouched: a miss (which the view then fills), a signed-in
reader, a refused origin, an exceeded limit, a client that does not take gzip, an error. The
views stay the reference: tests check that both paths answer alike.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.http import is_resource_modified

from app.api.answers import (
    BODY_HEADERS,
    PUBLIC_VARY,
    PublicAnswer,
    cors_headers,
    public_headers,
)
from app.api.read_rules import (
    ReadBucket,
    may_read,
    paging_of,
    query_args,
    read_route,
    reader_address,
    thread_variant,
)
from app.domain.errors import ValidationError
from app.domain.policy import canonical_url
from app.extensions import cache
from app.metrics import record_request
from app.services.cache import (
    Store,
    read_slots,
    remember_thread_id,
    remembered_counts,
    remembered_thread_id,
    site_slot,
    thread_id_slot,
)
from app.services.cache import thread_slot as page_slot

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Flask

log = logging.getLogger(__name__)

VARY = ", ".join((*PUBLIC_VARY, "Origin"))
# After an error (Redis away, say), leave every request to Flask for a while.
PAUSE_AFTER_ERROR = 5.0


class CachedReads:
    """WSGI middleware: `app.wsgi_app = CachedReads(app, app.wsgi_app)`."""

    def __init__(self, app: Flask, wsgi_app: WSGIApplication) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self._paused_until = 0.0
        self._route = read_route(app)
        self._reads = ReadBucket(app)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "GET" and time.monotonic() >= self._paused_until:
            match = self._route.pattern.fullmatch(environ.get("PATH_INFO", ""))
            if match:
                started = time.perf_counter()
                try:
                    answered = self._answer(environ, *match.groups())
                except Exception:  # an accelerator only: Flask answers whatever went wrong
                    log.warning("cached reads paused after an error", exc_info=True)
                    self._paused_until = time.monotonic() + PAUSE_AFTER_ERROR
                    answered = None
                if answered is not None:
                    status, headers, body = answered
                    start_response(status, headers)
                    endpoint = self._route.endpoints[match[2]]
                    record_request("GET", endpoint, int(status[:3]), started)
                    return [body]
        return self.wsgi_app(environ, start_response)

    def _answer(
        self, environ: WSGIEnvironment, site_id: str, kind: str
    ) -> tuple[str, list[tuple[str, str]], bytes] | None:
        if "HTTP_AUTHORIZATION" in environ or "gzip" not in environ.get("HTTP_ACCEPT_ENCODING", ""):
            return None
        backend: Store = self.app.extensions["cache"][cache]
        query = environ.get("QUERY_STRING", "")
        if kind == "counts":
            site, answer = remembered_counts(backend, site_id, query)
        else:
            site, answer = self._thread_page(backend, site_id, query)
        origin = environ.get("HTTP_ORIGIN")
        if site is None or answer is None or not may_read(origin, site.origins):
            return None
        if not self._reads.hit(reader_address(environ)):
            return None
        return self._respond(environ, answer, origin)

    def _thread_page(self, backend: Store, site_id: str, query: str) -> tuple[Any, Any]:
        args = query_args(query)
        if args is None or args.get("mine"):
            return None, None  # the reader's own pending comments: a private answer
        try:
            variant = thread_variant(**paging_of(args))
        except ValidationError:
            return None, None
        url = args.get("url", "")
        thread_id = remembered_thread_id(site_id, url)
        if thread_id is None:
            try:
                key = canonical_url(url)
            except ValidationError:
                return None, None
            (thread_id,), _ = read_slots(backend, [thread_id_slot(site_id, key)])
            if thread_id is None:
                return None, None
            remember_thread_id(site_id, url, thread_id)
        (site, answer), _ = read_slots(
            backend, [site_slot(site_id), page_slot(site_id, thread_id, variant)]
        )
        return site, answer

    def _respond(
        self, environ: WSGIEnvironment, answer: PublicAnswer, origin: str | None
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        headers = [
            *public_headers(answer, gzipped=True, max_age=self.app.config["THREAD_MAX_AGE"]),
            ("Vary", VARY),
            *cors_headers(origin, readable=True),
        ]
        if not is_resource_modified(environ, etag=answer.gzip_etag):
            headers = [(name, value) for name, value in headers if name.lower() not in BODY_HEADERS]
            return "304 NOT MODIFIED", headers, b""
        headers.append(("Content-Length", str(len(answer.gzipped))))
        return "200 OK", headers, answer.gzipped


def install(app: Flask) -> None:
    if app.config["CACHED_READS_FAST_PATH"]:
        app.wsgi_app = CachedReads(app, app.wsgi_app)  # type: ignore[method-assign]
