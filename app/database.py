"""Engine settings per backend, and write transactions that do not deadlock on SQLite."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import Engine, event
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db

_WRITE = "afterword_write"


def configure_engine(engine: Engine) -> None:
    """SQLite: WAL, a busy timeout, foreign keys, and BEGIN IMMEDIATE for writes.

    pysqlite starts transactions lazily with a deferred BEGIN: a transaction that read first
    and then writes must upgrade its lock, and under WAL that fails at once with "database is
    locked" when another writer committed in between (the busy timeout does not apply).
    Writes therefore take the write lock up front, following SQLAlchemy's pysqlite recipe.
    """
    if engine.dialect.name != "sqlite" or getattr(engine, "_afterword_configured", False):
        return
    engine._afterword_configured = True  # type: ignore[attr-defined]

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def begin_write() -> None:
    """Call first in a service that writes: on SQLite it takes the write lock at BEGIN.

    Ends any read-only transaction the request already had, so the write sees fresh data.
    """
    session = db.session()
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={_WRITE: True})


def close_sessions_safely(app: Flask) -> None:
    """End each request's session even when its connection died under it.

    When the database restarts, rolling back a cut connection raises; left to Flask-SQLAlchemy's
    own teardown, that turns an answered request into a 500. Runs before that teardown
    (teardowns run last-registered first) and drops such connections from the pool instead.
    """

    @app.teardown_appcontext
    def remove_session(_exc: BaseException | None) -> None:
        try:
            db.session.remove()
        except SQLAlchemyError:
            db.session().invalidate()
            db.session.remove()
