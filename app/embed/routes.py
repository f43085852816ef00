"""The two scripts host pages load, and the wording of each language the widget asks for. They
are cached by browsers and CDNs for ten minutes and then revalidated with their ETag, so a
release reaches every blog within minutes while most page views cost a 304 at most."""

from __future__ import annotations

import hashlib
from functools import cache

import rjsmin
from flask import Response, abort, request
from flask.typing import ResponseReturnValue

from app.embed import bp
from app.embed.bundle import LANGUAGES, SOURCES, strings_json

CACHE_CONTROL = "public, max-age=600, stale-while-revalidate=86400"


@cache
def _asset(name: str) -> tuple[bytes, str]:
    """A script (by file name) or a language's wording (by code) as served, with a strong
    ETag; made on first use, kept after.

    The source stays readable in the repository, in parts, and needs no build step: bundle.py
    joins the parts and rjsmin strips comments and whitespace, in Python, when the script is
    first asked for.
    """
    data = minified(SOURCES[name]()) if name in SOURCES else strings_json(name)
    return data, hashlib.sha256(data).hexdigest()[:32]


def minified(source: str) -> bytes:
    return rjsmin.jsmin(source).encode()


def _serve(name: str, mimetype: str = "text/javascript") -> ResponseReturnValue:
    data, etag = _asset(name)
    resp = Response(data, mimetype=mimetype)
    resp.set_etag(etag)
    resp.headers["Cache-Control"] = CACHE_CONTROL
    # Public, credential-free files: any page may load (and the widget read) them, including
    # with COEP enabled.
    resp.headers["Access-Control-Allow-Origin"] = "*"
    resp.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return resp.make_conditional(request)


@bp.get("/embed.js")
def embed_script() -> ResponseReturnValue:
    return _serve("embed.js")


@bp.get("/count.js")
def count_script() -> ResponseReturnValue:
    return _serve("count.js")


@bp.get("/embed/tools.js")
def tools_script() -> ResponseReturnValue:
    """What the widget imports when a reader first asks for it (app/embed/bundle.py). Its URL
    carries the release's version, so it may be kept as long as browsers like."""
    return _serve("tools.js")


@bp.get("/embed/strings/<lang>.json")
def embed_strings(lang: str) -> ResponseReturnValue:
    """The widget's wording in one language (app/embed/bundle.py), fetched alongside the thread."""
    if lang not in LANGUAGES:
        abort(404)
    return _serve(lang, "application/json")
