"""A new comment's row written with one INSERT, under the write lock, without the ORM's unit
of work.

Flushing a new `Comment` through the session costs more than everything else a post does
under the write lock (the ORM's bookkeeping, not SQLite's), and a top-level comment then
needed a second statement for its `root_id`, its own id, known only once inserted. Here the
id is taken first, so that `root_id` goes into the one INSERT, and the object the rest of
the post works with is attached to the session as already stored: it is the row, and no
flush writes it again.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import ColumnElement, Table, insert, text

from app.database import attach_as_loaded
from app.extensions import db
from app.models import Comment
from app.models.types import utcnow

_TABLE = cast(Table, Comment.__table__)
_INSERT = insert(_TABLE)
# AUTOINCREMENT (app/models/__init__.py) keeps the highest id ever given in sqlite_sequence,
# which stays above the table's own largest once the newest comments were deleted.
_LAST_ID_SQLITE = text(
    "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'comment'), 0),"
    " coalesce((SELECT max(id) FROM comment), 0))"
)
# pg_get_serial_sequence names the column's sequence whether it is a serial or an identity.
_NEXT_ID_POSTGRES = text("SELECT nextval(pg_get_serial_sequence('comment', 'id'))")


def _scalar_default(column: ColumnElement[Any]) -> Any:
    default = column.default
    if default is None or not getattr(default, "is_scalar", False):
        return None
    return getattr(default, "arg", None)


# What the model would have filled in on a flush: every column gets a value, so that the
# object is complete and reading any attribute never goes back to the database.
_DEFAULTS = {column.key: _scalar_default(column) for column in _TABLE.columns}


def next_comment_id() -> int:
    """The id the next comment gets; inside the write transaction.

    SQLite with AUTOINCREMENT gives a new row one more than the largest id it ever gave, so
    choosing that number here, under the write lock, is what it would have chosen (and
    inserting it moves sqlite_sequence on). PostgreSQL's sequence hands out each number once,
    whatever else runs.
    """
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        return int(connection.execute(_NEXT_ID_POSTGRES).scalar_one())
    return int(connection.execute(_LAST_ID_SQLITE).scalar_one()) + 1


def insert_comment(**values: Any) -> Comment:
    """INSERT the comment and return it as a stored object of the session.

    `values` must hold `id` (from `next_comment_id`); the columns left out take the model's
    defaults, as a flush would. Raises IntegrityError at once on a unique key's conflict.
    """
    row = _DEFAULTS | {"created_at": utcnow()} | values
    db.session.connection().execute(_INSERT, row)
    return attach_as_loaded(Comment, row)
