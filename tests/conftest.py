"""App, client and database fixtures: every test gets a fresh, empty database.

SQLite by default (a file in the test's tmp dir, so threads can share it); set
TEST_DATABASE_URL to run the same tests on PostgreSQL.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask, g
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import text

from app import create_app
from app.extensions import db, limiter
from app.models import Site
from config import TestingConfig
from tests.factories import HOST_ORIGIN, make_site


def database_url(tmp_path) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.db'}"


def reset_database() -> None:
    """Drop everything, including Alembic's table, so each test starts from nothing."""
    db.drop_all()
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


@contextmanager
def fresh_app(tmp_path: Path, **overrides: object) -> Iterator[Flask]:
    """An app on an empty database, inside its app context."""
    namespace = f"afterword-test-{uuid.uuid4().hex}:"
    app = create_app(
        TestingConfig,
        SQLALCHEMY_DATABASE_URI=database_url(tmp_path),
        CACHE_KEY_PREFIX=namespace,
        **overrides,
    )

    @app.teardown_request
    def forget_per_request_caches(_exc: BaseException | None) -> None:
        # Requests reuse the test's app context, and with it `g`, where Flask-Login and
        # Flask-WTF cache the user and the CSRF token; a real server starts each request
        # afresh, so tests with several browsers must too.
        for name in ("_login_user", "csrf_token", "session_expired", "signed_in_key"):
            g.pop(name, None)

    with app.app_context():
        limiter.reset()  # one limiter serves every test app; Redis would carry counts over
        reset_database()
        db.create_all()
        yield app
        db.session.remove()
        reset_database()
        db.engine.dispose()


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
