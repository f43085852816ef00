"""App, client and database fixtures: every test gets a fresh, empty database.

SQLite by default (a file in the test's tmp dir, so threads can share it); set
TEST_DATABASE_URL to run the same tests on PostgreSQL. Helpers that test modules share are in
tests/helpers.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from flask import Flask, request
from flask.testing import FlaskClient, FlaskCliRunner
from werkzeug.test import Client
from werkzeug.wrappers import Response

from app import clock as app_clock
from app.api.fast_reads import CachedReads
from app.models import Site
from app.page_headers import AnswerHeaders
from tests.factories import HOST_ORIGIN, make_site
from tests.helpers import fresh_app


def pytest_configure(config: pytest.Config) -> None:
    shared = [name for name in ("TEST_DATABASE_URL", "REDIS_URL") if os.environ.get(name)]
    if shared and getattr(config.option, "numprocesses", None):
        # Every test empties the one database and resets the one set of rate limits.
        raise pytest.UsageError(f"pytest-xdist workers would share {' and '.join(shared)}: -n 0")


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    with fresh_app(tmp_path) as app:
        yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def site(app: Flask) -> Site:
    return make_site()


@pytest.fixture
def origin() -> str:
    return HOST_ORIGIN


@pytest.fixture
def clock() -> Iterator[ModuleType]:
    """The service's clock (app/clock.py): `clock.advance(seconds)` instead of sleeping."""
    yield app_clock
    app_clock.reset()


@pytest.fixture
def flask_calls(app: Flask) -> list[str]:
    """The API requests that reached Flask (registered before the first request)."""
    calls: list[str] = []

    @app.before_request
    def note() -> None:
        if request.path.startswith("/api/"):
            calls.append(request.endpoint or "")

    return calls


@pytest.fixture
def flask_only(app: Flask) -> Client:
    """A client of the same app with the fast path left out: the reference answers."""
    outer = app.wsgi_app  # headers every answer carries, around the fast path
    assert isinstance(outer, AnswerHeaders) and isinstance(outer.wsgi_app, CachedReads)
    return Client(AnswerHeaders(app, outer.wsgi_app.wsgi_app), Response)
