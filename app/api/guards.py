"""CORS and origin checks for every API request.

Only the site's registered origins may read or write its threads. Writes must be JSON: a
forged cross-site <form> can only send form encodings or text/plain, and a cross-origin
fetch with JSON needs a preflight that only registered origins pass.
"""

from __future__ import annotations

import logging

from flask import Response, g, request
from sqlalchemy.exc import SQLAlchemyError

from app.api import bp
from app.api.answers import cors_headers
from app.api.read_rules import may_read
from app.domain.errors import OriginNotAllowed
from app.extensions import db
from app.services.sites import cached_site_row, note_refused_origin, site_view

log = logging.getLogger(__name__)

WRITE_METHODS = {"POST", "PATCH", "PUT", "DELETE"}
READ_METHODS = {"GET", "HEAD", "OPTIONS"}
PREFLIGHT_MAX_AGE = 86400


@bp.url_value_preprocessor
def load_site(endpoint: str | None, values: dict | None) -> None:
    site_id = values.pop("site_id") if values and "site_id" in values else None
    if site_id is None:
        g.site = None
    elif request.method in READ_METHODS:
        g.site = site_view(site_id)  # from the cache: a cached page needs no query at all
    else:
        g.site = cached_site_row(site_id)  # no query either: writes read the site, never change it
    # Kept apart from the model: answering CORS must never need the database again (after
    # an error rolled the session back, say, or while the database is away).
    g.site_origins = frozenset(g.site.origins) if g.site else frozenset()


@bp.before_request
def check_origin() -> Response | None:
    origin = request.headers.get("Origin")
    site = g.get("site")
    if site is None:
        return None
    if request.method == "OPTIONS":
        if origin is None or not _allowed(origin):
            _note_refused(origin)
            raise OriginNotAllowed("This page is not allowed to use these comments.")
        return _preflight(origin)
    # Writes always carry Origin in browsers, so a missing one is refused; reads follow the
    # rule the fast path in front of Flask follows too.
    if request.method in WRITE_METHODS:
        allowed = _allowed(origin)
    else:
        allowed = may_read(origin, g.site_origins)
    if not allowed:
        _note_refused(origin)
        raise OriginNotAllowed("This page is not allowed to use these comments.")
    return None


def _note_refused(origin: str | None) -> None:
    """Best effort, for the dashboard: the answer is a 403 whether or not this is written."""
    try:
        note_refused_origin(g.site.id, origin)
    except SQLAlchemyError:
        db.session.rollback()
        log.warning("could not note a refused origin", exc_info=True)


def _allowed(origin: str | None) -> bool:
    return origin is not None and origin in g.site_origins


@bp.after_request
def add_cors_headers(response: Response) -> Response:
    origin = request.headers.get("Origin")
    response.vary.add("Origin")
    allowed = origin in g.get("site_origins", ())
    # An error body holds no thread data, so any page may read it: that is how the widget
    # on a foreign page learns to say "Comments are not available on this page."
    readable_error = response.status_code >= 400 and request.method != "OPTIONS"
    for name, value in cors_headers(origin, readable=allowed or readable_error):
        response.headers[name] = value
    return response


def _preflight(origin: str) -> Response:
    response = Response(status=204)
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, PATCH, DELETE"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type, Authorization"
    response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
    return response
