"""What a request brings in, read so that no input can end in a 500.

JSON is parsed by `app.domain.json_input` wherever Flask reads it (the app's JSON provider
serves `request.get_json()` and `request.json`): JSON nested too deep for the stack, text
with a lone surrogate or a NUL, integers beyond 64 bits are refused with 400 and the field,
before any view or rate-limit key looks at them. Path, query and form values are decoded by
Werkzeug, which never yields a lone surrogate, but `%00` does give a NUL, which PostgreSQL
refuses in any text parameter; the HTML pages' are refused at the door too.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException

from app.domain.errors import DomainError, InvalidInput, InvalidJson
from app.domain.json_input import UNSTORABLE_TEXT, is_storable_text, parse_json


class RefusedJson(ValueError):
    """A refusal from `parse_json`, as the ValueError Werkzeug expects from a JSON parser:
    `get_json(silent=True)` then answers None, `get_json()` raises the refusal itself."""

    def __init__(self, error: DomainError) -> None:
        super().__init__(error.message)
        self.error = error


class InputJSONProvider(DefaultJSONProvider):
    """Flask's JSON, reading with `parse_json` (Flask hands every request this provider)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return parse_json(s)
        except DomainError as err:
            raise RefusedJson(err) from None


class InputRequest(Request):
    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        if isinstance(e, RefusedJson):
            raise e.error
        if e is not None:
            raise InvalidJson("The request body is not valid JSON.")
        return super().on_json_loading_failed(e)  # not JSON at all: 415


def json_fields() -> dict[str, Any]:
    """The request's JSON object for a rate-limit key: {} when there is none, it is not an
    object, or the body cannot be read (too large, cut short). A key must never raise:
    Flask-Limiter takes any error while checking a limit for its storage failing, and counts
    every limit in this process alone from then on."""
    try:
        data = request.get_json(silent=True)
    except HTTPException:
        return {}
    return data if isinstance(data, dict) else {}


def refuse_unstorable_values(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Refuse a path, query or form value of the HTML pages that no database column could
    hold. The API answers as its description says instead: it reads few values, and checks
    each where it reads it."""
    if request.blueprint == "api":
        return
    named = [*(values or {}).items(), *request.args.items(multi=True)]
    if request.method not in {"GET", "HEAD", "OPTIONS"}:
        named += request.form.items(multi=True)
    for name, value in named:
        if isinstance(value, str) and not is_storable_text(value):
            raise InvalidInput(UNSTORABLE_TEXT, field=name)


def init_app(app: Flask) -> None:
    app.json = InputJSONProvider(app)
    app.request_class = InputRequest
    # A URL value preprocessor, so that it runs before the blueprints' own (the API's loads
    # the site named in the path).
    app.url_value_preprocessor(refuse_unstorable_values)
