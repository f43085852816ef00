"""Errors answered in one place: JSON in one shape for the API and for scripts that ask for it,
{"error": {"code", "message"[, "field"]}} with the right status; for people, the page of the
blueprint they were on (`error_page`), or plain text. Only here is a failed transaction rolled
back (use cases roll back their own; see app/database.py)."""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, Response, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.domain.errors import DomainError
from app.extensions import db, limiter

log = logging.getLogger(__name__)


def error_body(status: int, code: str, message: str, field: str | None = None) -> tuple[dict, int]:
    error: dict[str, Any] = {"code": code, "message": message}
    if field:
        error["field"] = field
    return {"error": error}, status


def http_error_code(err: HTTPException) -> str:
    """The `code` of an HTTP error raised by Flask or an extension: 405 `method_not_allowed`."""
    return (err.name or "error").lower().replace(" ", "_")


def wants_json() -> bool:
    """JSON for the API, and for scripts on the pages that ask for it before HTML."""
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


ErrorPage = Callable[[DomainError], ResponseReturnValue]
_error_pages: dict[str, ErrorPage] = {}


def error_page(bp: Blueprint, page: str | ErrorPage) -> None:
    """How `bp`'s pages show a person a DomainError: a template given `message` (answered with
    the error's status), or a function of the error. JSON answers are decided here, not there."""
    if isinstance(page, str):
        template = page

        def render(err: DomainError) -> ResponseReturnValue:
            return render_template(template, message=err.message), err.status

        _error_pages[bp.name] = render
    else:
        _error_pages[bp.name] = page


HttpErrorPage = Callable[[HTTPException], ResponseReturnValue]
_http_error_pages: dict[str, HttpErrorPage] = {}


def http_error_page(bp: Blueprint, page: HttpErrorPage) -> None:
    """How `bp`'s pages show a person an HTTP error (a 404, a stale form's 400) in their own
    layout, rather than as Werkzeug's bare page. JSON answers are decided here, not there."""
    _http_error_pages[bp.name] = page


def _roll_back() -> None:
    """Whatever the request left uncommitted goes; the connection may be gone already."""
    with contextlib.suppress(Exception):
        db.session.rollback()


def retry_after_seconds(default: int = 60) -> int:
    """Seconds until the limit that refused this request lets the client in again."""
    breached = limiter.current_limit
    if breached is None:
        return default
    window = breached.limit.get_expiry()  # reset_at rounds up: never say more than a window
    return min(window, max(1, math.ceil(breached.reset_at - time.time())))


def _http_error_json(app: Flask, err: HTTPException) -> Response:
    code = http_error_code(err)
    message = {
        404: "There is nothing here.",
        405: "This address does not take that method.",
        413: "The request is too large.",
        429: "Too many requests. Please wait a moment and try again.",
    }.get(err.code or 500, err.description or err.name)
    body, status = error_body(err.code or 500, code, message)
    response = app.make_response((body, status))
    valid_methods = getattr(err, "valid_methods", None)  # only MethodNotAllowed has them
    if err.code == 405 and valid_methods:
        response.headers["Allow"] = ", ".join(valid_methods)
    if err.code == 429:
        response.headers["Retry-After"] = str(retry_after_seconds())
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(err: DomainError) -> ResponseReturnValue:
        _roll_back()
        if wants_json():
            return error_body(err.status, err.code, err.message, err.field)
        page = _error_pages.get(request.blueprint or "")
        return page(err) if page else (err.message, err.status)

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):  # noqa: ANN202
        if not wants_json():
            page = _http_error_pages.get(request.blueprint or "")
            return page(err) if page else err
        return _http_error_json(app, err)

    @app.errorhandler(OperationalError)
    def database_unavailable(err: OperationalError):  # noqa: ANN202
        """The database is restarting or unreachable: say so, and when to try again."""
        _roll_back()
        log.warning("database unavailable: %s", type(err.orig).__name__ if err.orig else err)
        message = "Comments are briefly unavailable. Please try again in a moment."
        body: dict[str, Any] | str = message
        if wants_json():
            body, _ = error_body(503, "service_unavailable", message)
        return body, 503, {"Retry-After": "5"}

    @app.errorhandler(InternalServerError)
    def internal_error(err: InternalServerError):  # noqa: ANN202
        _roll_back()
        if wants_json():
            return error_body(500, "internal_error", "Something went wrong on our side.")
        return "Something went wrong on our side.", 500
