"""Engine settings per backend, and write transactions that do not deadlock on SQLite."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar, cast, overload

from flask import Flask
from sqlalchemy import Engine, event, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, make_transient_to_detached

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


M = TypeVar("M")


def attach_as_loaded(model: type[M], values: dict[str, Any]) -> M:
    """The object of a row read (or written) without the ORM, in the session as if the ORM
    had loaded it: loading rows through the ORM costs more than the query on a hot path.
    `values` holds every column; a copy already in the session wins, as it would on a load."""
    session = db.session()
    identity = tuple(values[column.key] for column in inspect(model).primary_key)
    present = session.identity_map.get(session.identity_key(model, identity))
    if present is not None:
        return cast(M, present)
    obj = model(**values)
    make_transient_to_detached(obj)
    session.add(obj)
    return obj


def dialect_insert(session: Session) -> Any:
    """The dialect's own INSERT, which has ON CONFLICT (both SQLite's and PostgreSQL's)."""
    dialect = session.get_bind().dialect.name
    return {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]


_OUTERMOST = "afterword_write_transaction"

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def write_transaction(
    *, commit_on: tuple[type[BaseException], ...] = (), keep_loaded: bool = False
) -> Iterator[None]:
    """One write transaction around a use case: committed when it returns, rolled back when it
    raises (except for the `commit_on` errors, raised after what must be kept was written).

    On SQLite it takes the write lock at BEGIN (see configure_engine), so that reading first
    and writing later cannot fail when another writer committed in between; any read-only
    transaction the request already had ends first, so the write sees fresh data. On
    PostgreSQL (read committed: each statement sees all that was committed before it) the
    write goes on in that read-only transaction instead, which spares a COMMIT and a BEGIN,
    two round trips; its objects are expired as the commit would have. Inside a write
    transaction already, it joins that one: only the outermost commits or rolls back, so a
    use case calling another is still all or nothing.

    `keep_loaded`: the objects that read-only transaction loaded keep their attributes
    instead of being read again under the write lock, for a use case that checked them a
    moment before and queries afresh whatever must not be stale; and after the commit what
    was read and written stays loaded, so that the answer is made from it without a read
    transaction of its own. (A column moved in SQL, such as a thread's counter, is expired
    by the code that moves it.)
    """
    session = db.session()
    current = session.get_transaction()
    if current is not None and session.info.get(_OUTERMOST) is current:
        yield
        return
    if current is None:
        session.connection(execution_options={_WRITE: True})
    elif _goes_on_reading(session):
        if not keep_loaded:
            session.expire_all()
    else:
        _end_read(session, keep_loaded)
        session.connection(execution_options={_WRITE: True})
    session.info[_OUTERMOST] = session.get_transaction()
    try:
        yield
    except BaseException as err:
        if isinstance(err, commit_on):
            _commit_or_roll_back(session, keep_loaded)
        else:
            session.rollback()
        raise
    else:
        _commit_or_roll_back(session, keep_loaded)
    finally:
        session.info.pop(_OUTERMOST, None)


def _goes_on_reading(session: Session) -> bool:
    """Whether a write may go on in the request's read-only transaction: on PostgreSQL, with
    nothing the session would write first (that is committed before the write begins, so
    that the write's rollback never takes it back)."""
    pending = session.new or session.dirty or session.deleted
    return not pending and session.get_bind().dialect.name == "postgresql"


def _end_read(session: Session, keep_loaded: bool) -> None:
    # With nothing to write the commit only ends the read. Expiring would cost a query per
    # object touched again, each one while the write lock is held.
    _commit(session, keep_loaded and not (session.new or session.dirty or session.deleted))


def _commit_or_roll_back(session: Session, keep_loaded: bool = False) -> None:
    try:
        _commit(session, keep_loaded)
    except BaseException:
        session.rollback()
        raise


def _commit(session: Session, keep_loaded: bool) -> None:
    if not keep_loaded:
        session.commit()
        return
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


@overload
def writes(fn: Callable[P, R], /) -> Callable[P, R]: ...
@overload
def writes(
    *, commit_on: tuple[type[BaseException], ...] = (), keep_loaded: bool = False
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def writes(
    fn: Callable[P, R] | None = None,
    /,
    *,
    commit_on: tuple[type[BaseException], ...] = (),
    keep_loaded: bool = False,
) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
    """Make a use case that writes run in one `write_transaction`: `@writes`, or
    `@writes(commit_on=(SomeError,))` for an error raised after what must be kept
    (`keep_loaded`: see write_transaction)."""

    def decorate(inner: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(inner)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with write_transaction(commit_on=commit_on, keep_loaded=keep_loaded):
                return inner(*args, **kwargs)

        return wrapper

    return decorate(fn) if fn is not None else decorate


def in_write_transaction() -> bool:
    """Whether a write transaction (of `writes`) is under way in this session."""
    session = db.session()
    current = session.get_transaction()
    return current is not None and session.info.get(_OUTERMOST) is current


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
