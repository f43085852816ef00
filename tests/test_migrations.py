"""`flask db upgrade` on an empty database gives exactly the models, and downgrades cleanly."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from app.extensions import db
from app.models.types import render_migration_type
from app.services import likes
from app.services.viewers import Viewer
from tests.factories import make_comment, make_reader, make_site
from tests.helpers import reset_database


@pytest.fixture
def empty_db(app):
    reset_database()
    yield
    reset_database()


def schema_differences() -> list:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "render_item": render_migration_type}
        )
        return compare_metadata(context, db.metadata)


def test_upgrade_on_an_empty_database_matches_the_models(empty_db):
    upgrade()
    assert schema_differences() == []


def test_downgrade_to_nothing_and_back(empty_db):
    upgrade()
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    assert schema_differences() == []


def _schema_sql(table: str) -> tuple[str, list[str]]:
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT type, sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL",
            (table,),
        ).all()
    table_sql = next(sql for kind, sql in rows if kind == "table")
    return table_sql, sorted(sql for kind, sql in rows if kind == "index")


def _rows(table: str) -> list:
    # Table names from this file only.
    return db.session.execute(text(f'SELECT * FROM "{table}" ORDER BY 1')).all()  # noqa: S608


def test_numbering_that_never_reuses_ids_keeps_every_row_and_reference(empty_db):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's sequences never gave a number twice")
    upgrade(revision="b8d4e2f6a913")
    site = make_site()
    ada = make_reader("Ada")
    first = make_comment(site, user=ada, body="Ada's first")
    reply = make_comment(site, parent=first, body="A reply")
    likes.like(site, Viewer(user=ada, provider="dev"), reply.id, browser=None, remote_addr=None)
    db.session.commit()
    ids = {"comment": [first.id, reply.id], "user": [ada.id]}
    before = {
        table: _rows(table) for table in ("comment", "user", "identity", "thread", "comment_like")
    }
    indexes_before = _schema_sql("comment")[1]
    db.session.remove()

    upgrade()

    for table, rows in before.items():
        assert _rows(table) == rows
        assert "AUTOINCREMENT" in _schema_sql(table)[0]
    assert _schema_sql("comment")[1] == indexes_before  # partial indexes stay partial
    with db.engine.connect() as conn:  # the pool hands out connections that enforce them
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    # The newest rows deleted: the next ones get new numbers, not theirs.
    db.session.execute(text('DELETE FROM "user"'))
    db.session.commit()
    grace = make_reader("Grace")
    newer = make_comment(make_site(), body="Grace's")
    assert grace.id not in ids["user"] and newer.id > max(ids["comment"])
