"""The OpenAPI description of the widget API, served as written in app/api/openapi.json.

The file is authoritative (tests/test_openapi.py checks the API against it); this view only
hands it out, so that tools and widget authors can fetch it from a running service.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources

from flask import Response, request
from flask.typing import ResponseReturnValue

from app.api import bp

SPEC_MAX_AGE = 3600  # the document changes only with a deploy


@cache
def _document() -> tuple[bytes, str]:
    """The file's bytes and their ETag, read on first use and kept for the process."""
    body = resources.files("app.api").joinpath("openapi.json").read_bytes()
    return body, hashlib.sha256(body).hexdigest()[:32]


@bp.get("/openapi.json")
def openapi_document() -> ResponseReturnValue:
    body, etag = _document()
    response = Response(body, mimetype="application/json")
    response.set_etag(etag)
    response.cache_control.public = True
    response.cache_control.max_age = SPEC_MAX_AGE
    return response.make_conditional(request)
